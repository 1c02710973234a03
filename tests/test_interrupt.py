"""Ctrl-C during `mmkd-study reproduce`: it stops promptly, says how to resume, and the resumed study gives
the tables an uninterrupted one gives."""
import os, signal, subprocess, sys, time
from pathlib import Path
import pandas as pd

MODELS = ["tabular_only", "proposed", "wo_kd", "tabular_logreg"]
TABLES = ("table2_comparison.csv", "table3_missing.csv", "table4_ablation.csv")

def _cli(d:Path, *extra) -> list:
    exe = Path(sys.executable).parent / "mmkd-study"
    return [str(exe), "reproduce", "--profile", "smoke", "--cohort", str(d / "cohort"), "--results", str(d / "results"),
            "--jobs", "2", "--seeds", "0", "1", "--models", *MODELS, *extra]

def test_ctrl_c_stops_and_resumes_to_the_same_tables(tmp_path):
    ref = subprocess.run(_cli(tmp_path / "ref"), capture_output=True, text=True, timeout=900)
    assert ref.returncode == 0, ref.stderr[-2000:]
    d = tmp_path / "cut"
    p = subprocess.Popen(_cli(d), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.time() + 600                     # wait until training has started: a run directory with a history
    while time.time() < deadline and not list((d / "results" / "runs").glob("smoke/*/seed0/history.csv")): time.sleep(0.2)
    assert p.poll() is None, "the study ended before it could be interrupted"
    os.killpg(p.pid, signal.SIGINT)                  # what Ctrl-C in a terminal does: the whole foreground group
    out, err = p.communicate(timeout=300)            # a guard against a hang, not a timing claim (the machines are shared)
    assert p.returncode == 130, (p.returncode, err[-2000:])
    assert "run the same command again to resume" in err and "Traceback" not in err, err[-2000:]
    assert not (d / "results" / "table2_comparison.csv").exists()      # no tables from a partial grid
    again = subprocess.run(_cli(d), capture_output=True, text=True, timeout=900)
    assert again.returncode == 0, again.stderr[-2000:]
    for name in TABLES:
        a, b = (pd.read_csv(r / "results" / name, keep_default_na=False) for r in (tmp_path / "ref", d))
        pd.testing.assert_frame_equal(a, b, check_exact=True, obj=name)
