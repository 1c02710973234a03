"""The study grid through `--executor slurm` on a real Slurm cluster (the single-node one `scripts/local_slurm.sh start`
makes here; `make test` starts and stops it). Skipped only where `sbatch` is absent and CI is unset: in CI it must run."""
import json, shutil, subprocess, threading, time
from pathlib import Path
import nbformat
import pandas as pd
import pytest
from mmkd_study.study.runner import reproduce, study_notebooks_dir

TABLES = ("table1_cohort.csv", "table2_comparison.csv", "table3_missing.csv", "table3_missing_auprc.csv", "table4_ablation.csv",
          "table5_subgroups.csv")
FAST = {"poll_s": 1, "mem_per_run": "2G", "time_per_run": "20m"}      # the local node has 2 CPUs and about 23 GB

def _tables_equal(a:Path, b:Path) -> None:
    for name in TABLES:
        x, y = (pd.read_csv(d / name, keep_default_na=False) for d in (a, b))
        pd.testing.assert_frame_equal(x, y, check_exact=True, obj=name)

def _queue() -> set:
    out = subprocess.run(["squeue", "-h", "-r", "-o", "%i"], capture_output=True, text=True, check=True).stdout
    return set(out.split())

from conftest import copy_cohort as _copy_cohort

@pytest.fixture(scope="module")
def studies(cluster, tmp_path_factory):
    "The whole smoke grid twice on one cohort: on this machine, and as Slurm jobs."
    d = tmp_path_factory.mktemp("slurm")
    t = time.time()
    local = reproduce("smoke", cohort_dir=d / "local/cohort", results_dir=d / "local/results", progress=False)
    local_s = time.time() - t
    _copy_cohort(d / "local/cohort", d / "slurm/cohort")
    t = time.time()
    slurm = reproduce("smoke", cohort_dir=d / "slurm/cohort", results_dir=d / "slurm/results", progress=False, executor="slurm", slurm=FAST)
    slurm_s = time.time() - t
    print(f"\nsmoke grid ({len(local.runs)} runs): local {local_s:.0f} s, through Slurm {slurm_s:.0f} s ({slurm_s / local_s:.2f}x)")
    return d, local, slurm

def test_every_run_is_a_slurm_job_and_the_tables_are_the_local_ones(studies):
    d, local, slurm = studies
    assert local.ok and slurm.ok, [(o.model, o.error) for o in slurm.failed] or slurm.errors
    ledger = json.loads((slurm.runs_dir / "slurm/jobs.json").read_text())
    assert len(ledger) == len(slurm.runs)
    for o in slurm.runs:
        rec = json.loads((o.run_dir / "metrics.json").read_text())
        job = ledger[f"{o.model}/seed{o.seed}"]
        assert rec["slurm"] is not None and rec["slurm"]["job_id"] == job["job_id"], o.model      # trained by the job it was submitted as
        assert (o.run_dir / "train.ipynb").exists() and (o.run_dir / "slurm.out").resolve() == Path(job["stdout"]).resolve()
    waves = {o.model: ledger[f"{o.model}/seed0"]["wave"] for o in slurm.runs}
    assert waves["tabular_only"] == waves["tabular_logreg"] == 1 and waves["proposed"] == 2 and waves["wo_kd"] == 3
    assert all(json.loads((o.run_dir / "metrics.json").read_text())["slurm"] is None for o in local.runs)
    _tables_equal(d / "local/results", d / "slurm/results")

def test_a_second_call_submits_nothing(studies):
    d, _, slurm = studies
    ledger = (slurm.runs_dir / "slurm/jobs.json").read_text()
    again = reproduce("smoke", cohort_dir=d / "slurm/cohort", results_dir=d / "slurm/results", progress=False, executor="slurm", slurm=FAST)
    assert again.ok and {o.status for o in again.runs} == {"skipped"}
    assert (slurm.runs_dir / "slurm/jobs.json").read_text() == ledger        # no job submitted, none recorded
    calls = json.loads((slurm.runs_dir / "study.json").read_text())["calls"]
    assert [c["executor"] for c in calls] == ["slurm", "slurm"] and calls[-1]["trained"] == 0

def _notebooks_with(tmp_path:Path, code:str) -> Path:
    "The study notebooks, with `code` run right after the training notebook's parameters."
    nbs = tmp_path / "nbs"; shutil.copytree(study_notebooks_dir(), nbs)
    nb = nbformat.read(nbs / "train.ipynb", as_version=4)
    idx = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    nb.cells.insert(idx + 1, nbformat.v4.new_code_cell(code))
    nbformat.write(nb, nbs / "train.ipynb")
    return nbs

def test_a_failing_job_is_named_with_its_log_and_the_rest_completes(studies, tmp_path):
    d, *_ = studies
    nbs = _notebooks_with(tmp_path, '_train_run = train_run\n'
                                    'def train_run(cfg, run_dir, **kw):\n'
                                    '    if cfg.model.name == "tabular_logreg": raise RuntimeError("boom")\n'
                                    '    return _train_run(cfg, run_dir, **kw)')
    out = reproduce("smoke", cohort_dir=d / "slurm/cohort", results_dir=tmp_path / "results", notebooks_dir=nbs, progress=False,
                    models=["tabular_logreg", "text_tfidf_logreg"], executor="slurm", slurm=FAST)
    assert [(o.model, o.status) for o in out.runs] == [("tabular_logreg", "failed"), ("text_tfidf_logreg", "complete")]
    bad = out.failed[0]
    assert bad.error == "RuntimeError: boom" and bad.log is not None and bad.log.exists()
    assert "tabular_logreg seed 0" in (bad.run_dir / "slurm.err").read_text()       # the job's own log says which run failed
    assert pd.read_csv(tmp_path / "results/table2_comparison.csv").set_index("model").loc["tabular_logreg", "AUROC"] == "missing"

# `proposed` pauses (sleeps) once, right after its first checkpoint, so that the test can cancel it while it trains;
# the pause changes nothing the run computes. Once `go-on` exists (the test makes it after the cancellation) it never pauses.
PAUSE = '''import time, mmkd_study.train as _train
_checkpoint = _train.Trainer._checkpoint
def _pausing(self):
    _checkpoint(self)
    if self.cfg.model.name == "proposed" and self.run_dir.name.startswith("seed") and self.global_step > 0 and not self.done and not (self.run_dir / "go-on").exists():
        (self.run_dir / "paused").touch(); time.sleep(3600)
_train.Trainer._checkpoint = _pausing'''

def test_a_cancelled_job_resumes_from_its_checkpoint_when_submitted_again(studies, tmp_path):
    d, *_ = studies
    models = ["tabular_only", "proposed", "tabular_logreg"]
    nbs = _notebooks_with(tmp_path, PAUSE)
    cohort = _copy_cohort(d / "local/cohort", tmp_path / "cohort")
    kw = dict(cohort_dir=cohort, results_dir=tmp_path / "results", notebooks_dir=nbs, progress=False, models=models, executor="slurm", slurm=FAST)
    first = {}
    waiting = threading.Thread(target=lambda: first.setdefault("res", reproduce("smoke", **kw)))
    waiting.start()
    run = tmp_path / "results/runs/smoke/proposed/seed0"
    deadline = time.time() + 600                          # a guard against a hang, not a timing claim
    while time.time() < deadline and not (run / "paused").exists(): time.sleep(0.2)
    assert (run / "paused").exists(), "proposed never reached its first checkpoint"
    job = json.loads((tmp_path / "results/runs/smoke/slurm/jobs.json").read_text())["proposed/seed0"]["job_id"]
    assert job in _queue()
    subprocess.run(["scancel", job], check=True)
    waiting.join(timeout=600)
    res = first["res"]
    status = {o.model: o for o in res.runs}
    assert status["proposed"].status == "failed" and status["tabular_only"].status == "complete", status
    assert "CANCELLED" in status["proposed"].error and status["proposed"].log is not None      # named, with Slurm's verdict and its log
    step = pd.read_csv(run / "history.csv").step.max()        # what the cancelled job had checkpointed
    (run / "go-on").touch()
    again = reproduce("smoke", **kw)
    assert [o.status for o in again.runs] == ["skipped", "complete", "skipped"], [(o.model, o.status, o.error) for o in again.runs]
    rec = json.loads((run / "metrics.json").read_text())
    assert rec["resumed_from_step"] == step > 0 and rec["slurm"]["job_id"] != job        # a new job, from the checkpoint
    ref = reproduce("smoke", cohort_dir=_copy_cohort(d / "local/cohort", tmp_path / "ref_cohort"), results_dir=tmp_path / "ref",
                    models=models, progress=False)           # uninterrupted, on this machine
    assert ref.ok
    for name in ("table2_comparison.csv", "table3_missing.csv", "table4_ablation.csv"):
        x, y = (pd.read_csv(p / name, keep_default_na=False) for p in (tmp_path / "ref", tmp_path / "results"))
        pd.testing.assert_frame_equal(x, y, check_exact=True, obj=name)

def test_the_tables_can_be_built_by_a_last_job_on_the_cluster(cluster, tmp_path):
    out = reproduce("smoke", cohort_dir=tmp_path / "cohort", results_dir=tmp_path / "results", progress=False, models=["tabular_logreg"],
                    executor="slurm", slurm={**FAST, "aggregate_on_cluster": True})
    assert out.ok, out.errors
    logs = sorted((tmp_path / "results/runs/smoke/slurm/logs").glob("*_log.out"))
    assert len(logs) == 2                                             # the run's job and the aggregation's
    assert (tmp_path / "results/table2_comparison.csv").exists() and (tmp_path / "results/runs/smoke/aggregate.ipynb").exists()

def test_ctrl_c_while_waiting_leaves_the_jobs_running_and_a_second_call_waits_for_them(cluster, tmp_path):
    import os, signal, sys
    exe = Path(sys.executable).parent / "mmkd-study"
    cmd = [str(exe), "reproduce", "--profile", "smoke", "--cohort", str(tmp_path / "cohort"), "--results", str(tmp_path / "results"),
           "--models", "tabular_only", "tabular_logreg", "--executor", "slurm", "--mem-per-run", "2G"]
    log = tmp_path / "stderr.txt"                                  # a file, not a pipe: read while it runs, and never full
    with open(log, "w") as errf:
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errf, text=True, start_new_session=True,
                             preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))   # as a terminal's: a launcher may ignore it
    ledger = tmp_path / "results/runs/smoke/slurm/jobs.json"
    deadline = time.time() + 600                                   # a guard against a hang, not a timing claim
    # Ctrl-C once the jobs are submitted and the command waits for them (its progress bar is up)
    while time.time() < deadline and not (ledger.exists() and "runs on Slurm" in log.read_text()) and p.poll() is None: time.sleep(0.2)
    assert ledger.exists() and p.poll() is None, log.read_text()[-2000:]
    submitted = {k: v["job_id"] for k, v in json.loads(ledger.read_text()).items()}
    os.killpg(p.pid, signal.SIGINT)                                # Ctrl-C in its terminal; no terminal to ask on: the jobs keep running
    p.wait(timeout=300)
    err = log.read_text()
    assert p.returncode == 130 and "run the same command again" in err and "cancelled" not in err, err[-2000:]
    again = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=900)
    assert again.returncode == 0, again.stderr[-2000:]
    assert {k: v["job_id"] for k, v in json.loads(ledger.read_text()).items()} == submitted     # waited for, not submitted again
    for model in ("tabular_only", "tabular_logreg"):
        rec = json.loads((tmp_path / f"results/runs/smoke/{model}/seed0/metrics.json").read_text())
        assert rec["slurm"]["job_id"] == submitted[f"{model}/seed0"]
    assert (tmp_path / "results/table2_comparison.csv").exists()

def test_a_job_at_its_time_limit_is_requeued_and_resumes_from_its_checkpoint(cluster, tmp_path):
    # proposed pauses after its first checkpoint (PAUSE); Slurm's warning before the 3-minute limit (submitit asks for
    # SIGUSR2 90 s ahead) makes submitit requeue the job, which resumes. go-on is made at the pause so the requeued job runs through.
    nbs = _notebooks_with(tmp_path, PAUSE)
    run = tmp_path / "results/runs/smoke/proposed/seed0"
    def let_it_go_on():
        deadline = time.time() + 600
        while time.time() < deadline and not (run / "paused").exists(): time.sleep(0.2)
        (run / "go-on").touch()
    threading.Thread(target=let_it_go_on, daemon=True).start()
    out = reproduce("smoke", cohort_dir=tmp_path / "cohort", results_dir=tmp_path / "results", notebooks_dir=nbs, progress=False,
                    models=["proposed"], executor="slurm", slurm={**FAST, "time_per_run": "3m"})
    assert out.ok and [o.status for o in out.runs] == ["complete"], [(o.model, o.status, o.error) for o in out.runs]
    rec = json.loads((run / "metrics.json").read_text())
    job = json.loads((tmp_path / "results/runs/smoke/slurm/jobs.json").read_text())["proposed/seed0"]["job_id"]
    assert rec["slurm"]["job_id"] == job and rec["slurm"]["restarts"] >= 1        # the same job, requeued
    assert rec["resumed_from_step"] is not None and rec["resumed_from_step"] > 0   # from the checkpoint it had reached
    assert "Requeued job" in (run / "slurm.out").read_text()
