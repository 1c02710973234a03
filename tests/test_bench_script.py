"""The GPU benchmark script, rehearsed on this CPU at tiny sizes, as it runs on a machine without the package installed."""
import json, os, subprocess, sys

def test_gpu_bench_script_runs_without_the_package_installed(tmp_path, root):
    env = {**os.environ, "SIZE": "tiny", "DEVICE": "cpu", "COMPILE": "0", "MORE_BATCHES": "4", "STEPS": "1", "PARALLEL": "1 2", "PARALLEL_SECONDS": "1",
           "E2E_PARALLEL": "1 2", "OUT": str(tmp_path), "PYTHON": sys.executable}
    r = subprocess.run(["bash", str(root / "scripts/bench_gpu.sh")], env=env, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    entry, e2e = json.loads((tmp_path / "benchmarks.json").read_text()).values()
    assert (entry["size"], e2e["size"]) == ("tiny", "quick")      # then the end-to-end sub-grid's model, runs side by side
    assert [p["jobs"] for p in e2e["parallel"]] == [1, 2] and all(p["samples_per_s"] > 0 for p in e2e["parallel"]), e2e["parallel"]
    assert e2e["settings"]["runner (paper profile)"]["batch_size"] == 32 and e2e["settings"]["runner (paper profile)"]["trainer_stage1_samples_per_s"] > 0
    assert list(entry["settings"]) == ["paper", "runner (paper profile)", "ours", "ours, batch 4"]
    assert [p["jobs"] for p in entry["parallel"]] == [1, 2] and all(p["samples_per_s"] > 0 for p in entry["parallel"]), entry["parallel"]
    assert entry["settings"]["runner (paper profile)"]["deterministic_over_fast_kernels"] > 0
    for s in entry["settings"].values():
        assert s["stage1_samples_per_s"] > 0 and s["kd_one_pass_samples_per_s"] > 0 and s["flops_per_sample"] > 0
    assert [p["part"] for p in entry["settings"]["ours"]["breakdown"]["parts"]][-1] == "fusion + head"
    assert entry["loader_samples_per_s"] > 0
    md = (tmp_path / "benchmarks.md").read_text()
    rows = [[c.strip() for c in line.split("|")[1:-1]] for line in md.split("\n") if line.startswith("|")]
    assert ["ours, batch 4", "4"] in [r[:2] for r in rows] and "2" in [r[0] for r in rows], rows    # the setting; 2 runs side by side
    assert "Where a stage-1 step of the ours setting goes" in md

def test_gpu_bench_script_names_missing_packages(tmp_path, root):
    """A Python without torch gets a message that says what to carry, not a traceback."""
    (tmp_path / "python").write_text("#!/bin/sh\nexec python3 -S -I \"$@\"\n"); (tmp_path / "python").chmod(0o755)
    r = subprocess.run(["bash", str(root / "scripts/bench_gpu.sh")], capture_output=True, text=True, timeout=120,
                       env={**os.environ, "PYTHON": str(tmp_path / "python"), "OUT": str(tmp_path / "out")})
    assert r.returncode != 0 and "missing Python packages" in r.stderr and "torch" in r.stderr, r.stderr


def test_fresh_clone_script_refuses_before_cloning(tmp_path, root):
    """scripts/time_fresh_clone.sh says how it is used when called without a profile, and refuses a WORKDIR that already
    holds a clone (a timing "from a fresh clone" must start from an empty folder); neither clones nor installs anything."""
    script = str(root / "scripts/time_fresh_clone.sh")
    r = subprocess.run(["bash", script], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "Usage: bash scripts/time_fresh_clone.sh PROFILE" in r.stderr, r.stderr
    (tmp_path / "clone").mkdir()
    r = subprocess.run(["bash", script, "smoke"], capture_output=True, text=True, timeout=60, env={**os.environ, "WORKDIR": str(tmp_path)})
    assert r.returncode == 2 and f"{tmp_path}/clone exists" in r.stderr, r.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["clone"] and not any((tmp_path / "clone").iterdir())
