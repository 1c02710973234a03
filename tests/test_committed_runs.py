"""The end-to-end sub-grid's runs are committed (`results/end_to_end/runs/end_to_end/<model>/seed<k>/`: `metrics.json`,
`predictions.parquet`, `model_card.md`, and `history.csv` for `proposed`, which the training-dynamics figure reads). Its powered
size takes more hours than a 2-core machine gives one session, so seeds accumulate from one session and machine to the next, and
`make reproduce-end-to-end` trains only the missing ones. These tests keep the committed runs usable: each one intact and still
the run today's code and configuration would make. A change that makes them stale fails here instead of silently retraining
hours of runs at the next reproduce."""
import json
import shutil
from pathlib import Path

import pytest

from mmkd_study.config import profile_config
from mmkd_study.data import cohort_fingerprint
from mmkd_study.study.grid import MODELS
from mmkd_study.study.runner import ensure_cohort, reproduce, run_config, run_state

ROOT = Path(__file__).resolve().parents[1]
RUNS = ROOT / "results" / "end_to_end" / "runs" / "end_to_end"


def committed_runs() -> list[Path]:
    return sorted(p.parent for p in RUNS.glob("*/seed*/metrics.json"))


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    "The end_to_end profile's synthetic cohort, generated afresh (the runs' data fingerprint must match it)."
    d = tmp_path_factory.mktemp("cohort") / "synthetic_end_to_end"
    ensure_cohort(profile_config("end_to_end").updated({"data.source": "synthetic"}), d, progress=False)
    return d


def test_runs_are_committed():
    runs = committed_runs()
    assert runs, f"no committed run under {RUNS}: the end-to-end sub-grid's runs are part of the results"
    models = {p.parent.name for p in runs}
    assert models <= set(MODELS), f"runs of models the registry does not know: {sorted(models - set(MODELS))}"
    assert models >= set(profile_config("end_to_end").study.models), f"the sub-grid's models without a committed run: {models}"
    for p in runs:
        assert p.name == f"seed{json.loads((p / 'metrics.json').read_text())['seed']}", p
        if p.parent.name == "proposed": assert (p / "history.csv").exists(), f"{p / 'history.csv'} is not committed (the dynamics figure reads it)"


def test_committed_runs_are_current(cohort):
    "Each committed run is complete, its files as they were written, with the configuration and data a reproduce would use now."
    fp = cohort_fingerprint(cohort)
    stale = []
    for p in committed_runs():
        rec = json.loads((p / "metrics.json").read_text())
        state = run_state(p, run_config("end_to_end", rec["model"], rec["seed"], "synthetic", str(cohort)), fp)
        if state != "complete":
            why = "the data changed" if rec["data_fingerprint"] != fp else "the configuration changed" if state == "stale" else state
            stale.append(f"{p.relative_to(ROOT)}: {state} ({why})")
    assert not stale, ("committed end-to-end runs that `make reproduce-end-to-end` would retrain; retrain them (hours: "
                       "`make reproduce-end-to-end`) or undo the change:\n" + "\n".join(stale))


def test_committed_runs_aggregate_where_they_are_now(cohort, tmp_path):
    "A reproduce over committed runs trains nothing and aggregates from the cohort it was given, not from the path the runs recorded on the machine that trained them."
    runs = tmp_path / "runs"
    for p in committed_runs():
        if p.name in ("seed0", "seed1"): shutil.copytree(p, runs / p.parent.name / p.name)
    recorded = {json.loads((p / "metrics.json").read_text())["config"]["data"]["cohort_dir"] for p in runs.glob("*/seed*")}
    assert str(cohort) not in recorded                       # the case this guards: the runs name a folder this machine may not have
    res = reproduce("end_to_end", seeds=[0, 1], cohort_dir=cohort, runs_dir=runs, results_dir=tmp_path / "results",
                    figures_dir=tmp_path / "figures", progress=False)
    assert res.ok and not res.errors, res.errors
    assert {o.status for o in res.runs} == {"skipped"}, [(o.model, o.seed, o.status) for o in res.runs]
    assert (tmp_path / "results" / "table5_subgroups.md").exists() and (tmp_path / "results" / "REPORT.md").exists()
