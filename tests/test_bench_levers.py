"""The levers benchmark (nbs/40_bench): the same sub-grid under each lever, side by side, from empty caches."""
import json
from mmkd_study.bench.settings import LEVERS, bench_levers, machine_info
from mmkd_study.bench.report import write_benchmarks
import torch

def test_levers_are_timed_side_by_side_from_empty_caches(tmp_path):
    levers = dict(list(LEVERS.items())[:2])                         # a kernel per run, then one per group
    r = bench_levers("smoke", 600, seeds=(0,), models=("tabular_only", "tabular_logreg"), work_dir=tmp_path, levers=levers,
                     progress=False)
    assert [x["lever"] for x in r["rows"]] == list(levers) and all(x["failed"] == 0 and x["runs"] == 2 for x in r["rows"])
    assert r["rows"][0]["speedup_vs_first"] == 1.0 and all(x["wall_s"] > 0 for x in r["rows"])
    assert all(0 <= x["val_auroc_deep_mean"] <= 1 for x in r["rows"])
    assert all(sorted(x["val_auroc_by_model"]) == ["tabular_logreg", "tabular_only"] for x in r["rows"])   # every model, with what it reads
    assert all(x["val_auroc_by_model"]["tabular_only"] == x["val_auroc_deep_mean"] for x in r["rows"])
    # each lever on its own cohort copy: both pretrained TabNet, neither reused the other's
    assert [len(list((tmp_path / f"lever{k}/cohort/cache/pretrained").glob("tabular-*/encoder.pt"))) for k in (0, 1)] == [1, 1]
    assert not (tmp_path / "lever0/results/runs/smoke/notebooks").exists()                     # a kernel per run
    assert len(list((tmp_path / "lever1/results/runs/smoke/notebooks").glob("*/train.ipynb"))) == 2   # a deep group, a reference group
    write_benchmarks({"machine": machine_info(torch.device("cpu")), **r}, tmp_path / "out")
    md = (tmp_path / "out/benchmarks.md").read_text()
    assert "## The powered study: each lever side by side" in md and "+ one kernel per group of runs" in md and "1.00×" in md
    assert f"tabular_only {r['rows'][0]['val_auroc_by_model']['tabular_only']:.3g}" in md
    assert json.loads((tmp_path / "out/benchmarks.json").read_text())
