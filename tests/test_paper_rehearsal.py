"""The paper profile rehearsed end to end on a CPU: its real architecture (DenseNet-121 on 224² images, a BERT-base-shaped
text encoder with random weights on 300 word pieces, TabNet 512, batch 8) on a cohort of 50 admissions, a few steps per
stage, through `mmkd-study reproduce --profile paper` and papermill, here and as Slurm jobs. This is the run a reviewer
with a GPU cluster makes first: it must not fail on something a CPU could have caught."""
import json, subprocess, sys
from pathlib import Path
import pandas as pd
import pytest
from conftest import copy_cohort

# The paper's model as it is; only the cohort is tiny and training short. The text encoder is BERT-base's shape with random
# weights and a vocabulary learned on the cohort (the paper's BiomedBERT is a download this machine cannot make).
SETTINGS = ["data.n_admissions=50", "model.text_encoder=bert-random-L12-H768", "train.max_epochs=1", "train.kd_epochs=1",
            "train.evals_per_epoch=1", "study.n_bootstrap=20", "train.threads=2"]
MODELS = ["proposed", "tabular_logreg"]
TABLES = ("table1_cohort", "table2_comparison", "table3_missing", "table4_ablation", "table5_subgroups")

def _reproduce(d:Path, *extra) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).parent / "mmkd-study"
    cmd = [str(exe), "reproduce", "--profile", "paper", "--cohort", str(d / "cohort"), "--results", str(d / "results"),
           "--models", *MODELS, "--seeds", "0", "--set", *SETTINGS, *extra]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=3000)   # a guard against a hang, not a timing claim

def _check_every_table(d:Path) -> dict:
    for name in TABLES:
        assert (d / f"results/{name}.csv").exists() and (d / f"results/{name}.md").exists(), name
    assert "| this study" in (d / "results/REPORT.md").read_text()
    assert (d / "figures/roc_pr_all_modalities.png").exists()
    rec = json.loads((d / "results/runs/paper/proposed/seed0/metrics.json").read_text())
    m, t, data = rec["config"]["model"], rec["config"]["train"], rec["config"]["data"]
    assert (m["image_backbone"], m["tabnet_n_d"], data["image_size"], data["max_text_tokens"], t["batch_size"]) == ("densenet121", 512, 224, 300, 8)
    assert m["encoder_init"] == "scratch" and rec["n_parameters"] > 90e6       # trained end to end, as the paper
    hist = pd.read_csv(d / "results/runs/paper/proposed/seed0/history.csv")
    assert set(hist.stage) == {1, 2} and hist.val_loss.notna().any()          # both stages ran and validated
    return rec

@pytest.fixture(scope="module")
def rehearsal(tmp_path_factory):
    d = tmp_path_factory.mktemp("paper")
    r = _reproduce(d)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    return d

def test_the_paper_profile_runs_end_to_end_here(rehearsal):
    rec = _check_every_table(rehearsal)
    assert rec["slurm"] is None

def test_the_paper_profile_runs_end_to_end_as_slurm_jobs(rehearsal, cluster, tmp_path):
    copy_cohort(rehearsal / "cohort", tmp_path / "cohort")
    r = _reproduce(tmp_path, "--executor", "slurm", "--cpus-per-run", "2", "--mem-per-run", "8G", "--time-per-run", "1h")
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    rec = _check_every_table(tmp_path)
    assert rec["slurm"]["job_id"]
    for name in ("table2_comparison.csv", "table3_missing.csv"):      # and the same numbers as here
        x, y = (pd.read_csv(p / "results" / name, keep_default_na=False) for p in (rehearsal, tmp_path))
        pd.testing.assert_frame_equal(x, y, check_exact=True, obj=name)
