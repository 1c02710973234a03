"""Results do not depend on history: the order in which the grid reaches its shared caches (pretrained
encoders, cached features, a shared stage 1), how many runs train at a time, or whether runs share a kernel, never
changes a number."""
import pandas as pd
from mmkd_study.study.runner import reproduce

# every cache a run can share: the three pretrained encoders (first reached by a unimodal run or by a fusion
# run), a stage 1 shared by proposed and wo_kd, and a fusion model without KD
MODELS = ["tabular_only", "proposed", "wo_kd", "wo_gm", "tabular_logreg"]
TABLES = ("table2_comparison.csv", "table3_missing.csv", "table4_ablation.csv")

def _predictions(res) -> dict:
    return {o.model: pd.read_parquet(o.run_dir / "predictions.parquet") for o in res.runs}

def test_same_tables_whatever_the_order_and_the_number_of_jobs(tmp_path):
    # history A: one `proposed` run fills the caches in its own process first; then the grid, one run at a time
    first = reproduce("smoke", cohort_dir=tmp_path / "a/cohort", results_dir=tmp_path / "a/first", models=["proposed"],
                      jobs=1, progress=False)
    a = reproduce("smoke", cohort_dir=tmp_path / "a/cohort", results_dir=tmp_path / "a/results", models=MODELS,
                  jobs=1, progress=False)
    # history B: another folder with empty caches, the grid in reverse order, two runs at a time
    b = reproduce("smoke", cohort_dir=tmp_path / "b/cohort", results_dir=tmp_path / "b/results", models=MODELS[::-1],
                  jobs=2, progress=False)
    # history C: a fresh kernel per run (in A and B one kernel trains a seed's deep runs in turn)
    c = reproduce("smoke", cohort_dir=tmp_path / "c/cohort", results_dir=tmp_path / "c/results", models=MODELS,
                  jobs=2, progress=False, kernel_per="run")
    assert first.ok and a.ok and b.ok and c.ok, [(o.model, o.error) for r in (first, a, b, c) for o in r.failed]
    assert len({o.notebook for o in a.runs}) == 2 and len({o.notebook for o in c.runs}) == len(MODELS)   # deep runs; references
    assert {o.status for o in a.runs} == {"complete"}          # a new results folder trains again, on warm caches
    pa, pb, pc = _predictions(a), _predictions(b), _predictions(c)
    assert sorted(pa) == sorted(pb) == sorted(pc) == sorted(MODELS)
    for m in MODELS:
        pd.testing.assert_frame_equal(pa[m], pb[m], check_exact=True, obj=m)
        pd.testing.assert_frame_equal(pa[m], pc[m], check_exact=True, obj=m)
    pd.testing.assert_frame_equal(pa["proposed"], _predictions(first)["proposed"], check_exact=True)
    for t in TABLES:                                            # rows follow the order models were asked for
        ta, tb = (pd.read_csv(tmp_path / r / "results" / t, keep_default_na=False).sort_values("model", kind="stable")
                  .reset_index(drop=True) for r in ("a", "b"))
        pd.testing.assert_frame_equal(ta, tb, check_exact=True, obj=t)
