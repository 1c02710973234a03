"""The smoke profile of the study, end to end through papermill, as a reviewer would run it."""
import json, shutil
import nbformat
import pandas as pd
import pytest
from mmkd_study.config import modality_subsets, subset_name
from mmkd_study.study.runner import reproduce, study_notebooks_dir
from mmkd_study.data import load_cohort
from mmkd_study.reference import VIEW_CEILING
from mmkd_study.splits import complete_case, observed_subsets

@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    d = tmp_path_factory.mktemp("smoke")
    res = reproduce("smoke", cohort_dir=d / "cohort", results_dir=d / "results", progress=False)
    return res, d

def test_smoke_study_runs_end_to_end(smoke):
    res, d = smoke
    assert res.ok, [(o.model, o.error) for o in res.failed] or res.errors
    t2 = pd.read_csv(d / "results/table2_comparison.csv")
    assert set(t2.model) >= {"tabular_logreg", "concat_logreg", "oracle (generator's true risk)", VIEW_CEILING}
    assert t2.auroc_mean.between(0, 1).all()
    assert (t2.data_source == "synthetic cohort (not MIMIC-IV)").all()
    assert "not a reproduction" in (d / "results/table2_comparison.md").read_text()
    deep = t2[t2.model.isin(["proposed", "tabular_logreg"])]               # calibration beside discrimination, for every model with predictions
    assert deep.brier_mean.between(0, 1).all() and deep.cal_slope_mean.notna().all() and deep["calibration slope"].str.contains(r"\[").all()
    for name in ("table1_cohort", "table3_missing", "table3_missing_auprc", "table4_ablation", "table5_subgroups"):
        assert (d / f"results/{name}.csv").exists() and (d / f"results/{name}.md").exists(), name
    t3 = pd.read_csv(d / "results/table3_missing.csv")
    assert set(t3.model) == set(t2.model) - {"oracle (generator's true risk)"} and "image+tabular" in t3
    report = (d / "results/REPORT.md").read_text()
    headline = [l for l in report.splitlines() if l.startswith("| this study")]
    assert headline and "synthetic cohort (not MIMIC-IV)" in headline[0] and "| MIMIC-IV | 0.886 | 0.459 |" in report
    for fig in ("roc_pr_all_modalities", "missing_modality_robustness", "gm_coefficients_pool_weights", "calibration_all_modalities",
                "decision_curve_all_modalities"):
        assert (d / f"figures/{fig}.png").exists() and (d / f"figures/{fig}.pdf").exists(), fig
    cal = pd.read_csv(d / "results/synthetic_calibration.csv")
    assert cal.model.tolist()[:2] == ["oracle (true risk)", VIEW_CEILING] and cal.auroc_mean.between(0, 1).all()
    assert "complete-case" in report and "excluded" in report
    t5 = pd.read_csv(d / "results/table5_subgroups.csv")       # the complete-case design: one group of real missingness, all three
    assert t5[t5.characteristic == "modalities it has"].level.unique().tolist() == ["image+text+tabular"]

def test_the_default_design_is_complete_case(smoke):
    res, d = smoke
    df = load_cohort(d / "cohort")
    full = set(df.hadm_id[complete_case(df)])
    for model in ("proposed", "concat_logreg"):
        run = res.runs_dir / model / "seed0"
        pred = pd.read_parquet(run / "predictions.parquet")
        assert set(pred.hadm_id) <= full and len(set(pred.hadm_id)) > 0, model      # no incomplete admission is validated or tested
        sizes = json.loads((run / "metrics.json").read_text())["split_sizes"]
        assert sizes["excluded"]["admissions"] == len(df) - len(full)
        assert sum(v["admissions"] for v in sizes.values()) == len(df)
    flow = pd.read_csv(d / "results/cohort_flow.csv")
    assert flow.admissions.iloc[-1] == len(full) and "complete-case" in flow.rule.iloc[-1]
    assert (res.runs_dir / "cohort.ipynb").exists() and (res.runs_dir / "aggregate.ipynb").exists()

def test_every_run_leaves_notebook_predictions_and_provenance(smoke):
    res, d = smoke
    for o in res.runs:
        assert o.notebook.name == "train.ipynb" and o.notebook.exists() and o.notebook.parent.parent.name == "notebooks"
        pred = pd.read_parquet(o.run_dir / "predictions.parquet")
        assert list(pred.columns) == ["hadm_id", "split", "label", "probability", "subset"]
        assert set(pred.subset) == {subset_name(s) for s in modality_subsets()}
        assert {"val", "test"} <= set(pred.split)           # deep models predict val and test only
        rec = json.loads((o.run_dir / "metrics.json").read_text())
        assert {"config", "data_fingerprint", "seed", "versions", "git_commit", "wall_time_s"} <= set(rec)
        assert rec["config"]["model"]["name"] == o.model
        assert 100 < rec["peak_rss_mb"] < 64_000            # a kernel with torch loaded, in MB (not kB, not bytes)
    assert "peak memory of one run (its kernel process): " in (d / "results/REPORT.md").read_text()

def test_runs_share_pretrained_encoders_and_stage1(smoke):
    res, d = smoke
    rec = {o.model: json.loads((o.run_dir / "metrics.json").read_text()) for o in res.runs}
    # one set of pretrained encoders per (seed, split): shared across fusion models, not across splits
    assert rec["proposed"]["pretrained_encoders"] == rec["mbt"]["pretrained_encoders"] == rec["wo_gm"]["pretrained_encoders"]
    assert rec["image_only"]["pretrained_encoders"]["image"] == rec["proposed"]["pretrained_encoders"]["image"]
    assert rec["released_admission_split"]["pretrained_encoders"]["image"] != rec["proposed"]["pretrained_encoders"]["image"]
    # proposed, wo_kd and kd_drop_sample differ only after stage 1: one of them trains it, the other two adopt it
    assert sorted(rec[m]["shared_stage1"] for m in ("proposed", "wo_kd", "kd_drop_sample")) == [False, True, True]
    assert not rec["wo_gm"]["shared_stage1"]
    assert rec["proposed"]["n_trainable_parameters"] < rec["proposed"]["n_parameters"]   # frozen backbones

def test_second_reproduce_only_reaggregates(smoke):
    res, d = smoke
    again = reproduce("smoke", cohort_dir=d / "cohort", results_dir=d / "results", progress=False)
    assert again.ok and {o.status for o in again.runs} == {"skipped"}
    changed = reproduce("smoke", cohort_dir=d / "cohort", results_dir=d / "results", progress=False,
                        models=["tabular_logreg"], overrides={"data.split_unit": "admission"})
    assert [o.status for o in changed.runs] == ["complete"]          # another config is another run

def test_a_failing_run_is_named_and_the_grid_goes_on(smoke, tmp_path):
    res, d = smoke
    nbs = tmp_path / "nbs"; shutil.copytree(study_notebooks_dir(), nbs)
    nb = nbformat.read(nbs / "train.ipynb", as_version=4)
    idx = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    nb.cells.insert(idx + 1, nbformat.v4.new_code_cell(        # the first run of the kernel fails, the one after it still trains
        '_train_run = train_run\n'
        'def train_run(cfg, run_dir, **kw):\n'
        '    if cfg.model.name == "tabular_logreg": raise RuntimeError("boom")\n'
        '    return _train_run(cfg, run_dir, **kw)'))
    nbformat.write(nb, nbs / "train.ipynb")
    out = reproduce("smoke", cohort_dir=d / "cohort", results_dir=tmp_path / "results", notebooks_dir=nbs,
                    models=["tabular_logreg", "text_tfidf_logreg"], progress=False)
    assert [(o.model, o.status) for o in out.runs] == [("tabular_logreg", "failed"), ("text_tfidf_logreg", "complete")]
    bad = out.failed[0]
    assert bad.error == "RuntimeError: boom" and bad.notebook.exists() and "boom" in (bad.run_dir / "error.txt").read_text()
    assert out.runs[0].notebook == out.runs[1].notebook                # one kernel trained both
    t2 = pd.read_csv(tmp_path / "results/table2_comparison.csv")
    assert t2.set_index("model").loc["tabular_logreg", "AUROC"] == "missing"
    assert "tabular_logreg seed 0" in (tmp_path / "results/table2_comparison.md").read_text()
    again = reproduce("smoke", cohort_dir=d / "cohort", results_dir=tmp_path / "results", models=["tabular_logreg", "text_tfidf_logreg"],
                      progress=False)                                 # the notebook mended: only the failed run trains again
    assert [o.status for o in again.runs] == ["complete", "skipped"] and not (bad.run_dir / "error.txt").exists()

def test_reproduce_never_generates_over_a_users_folder(tmp_path, capsys):
    from mmkd_study.cli import main
    mine = tmp_path / "mine"; (mine / "images").mkdir(parents=True); (mine / "images/mine.png").write_bytes(b"mine")  # no cohort.parquet
    assert main(["reproduce", "--profile", "smoke", "--cohort", str(mine), "--results", str(tmp_path / "r")]) == 2
    assert "is not empty (images)" in capsys.readouterr().err
    assert sorted(p.name for p in mine.iterdir()) == ["images"] and (mine / "images/mine.png").read_bytes() == b"mine"

def test_a_damaged_run_is_noticed_and_redone(smoke):
    res, d = smoke
    run = next(o.run_dir for o in res.runs if o.model == "image_pixel_logreg")   # one no other test re-trains
    pred = run / "predictions.parquet"
    good = pred.read_bytes(); pred.write_bytes(good[: len(good) // 2])            # truncated after it was vouched for
    again = reproduce("smoke", cohort_dir=d / "cohort", results_dir=d / "results", progress=False)
    status = {o.model: o.status for o in again.runs}
    assert status.pop("image_pixel_logreg") == "complete" and status.pop("tabular_logreg") in ("skipped", "complete")
    assert set(status.values()) == {"skipped"}
    assert pd.read_parquet(pred).equals(pd.read_parquet(pd.io.common.BytesIO(good)))  # redone to the same predictions

def test_an_unwritable_results_folder_fails_before_training(tmp_path, capsys):
    from mmkd_study.cli import main
    (tmp_path / "results").write_text("a file")
    assert main(["reproduce", "--profile", "smoke", "--cohort", str(tmp_path / "c"), "--results", str(tmp_path / "results")]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results"]               # no cohort generated, no temporary files

def test_the_natural_scenario_keeps_every_admission_and_writes_beside_the_primary(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)                        # the default folders, relative to where the study is run
    with pytest.raises(ValueError, match="contradicts --scenario"):
        reproduce("smoke", scenario="complete_case", overrides={"data.scenario": "natural"}, progress=False)
    res = reproduce("smoke", models=["tabular_logreg", "concat_logreg"], scenario="natural", progress=False)
    assert res.ok, res.errors
    assert res.results_dir == (tmp_path / "results" / "natural").resolve() and not (tmp_path / "results" / "table2_comparison.csv").exists()
    assert (tmp_path / "figures" / "natural" / "cohort_flow.png").exists()
    df = load_cohort(tmp_path / "data" / "synthetic_smoke")
    pred = pd.read_parquet(res.runs_dir / "concat_logreg" / "seed0" / "predictions.parquet")
    assert pred.hadm_id.nunique() == len(df) and not complete_case(df).all()    # every admission, with what it has
    assert "natural missingness" in (res.results_dir / "REPORT.md").read_text()
    t5 = pd.read_csv(res.results_dir / "table5_subgroups.csv")     # missingness as it occurs: test admissions by what they really have
    tested = df[df.hadm_id.isin(pred.hadm_id[pred.split == "test"])]
    expected = {k: v for k, v in observed_subsets(tested).value_counts().items() if v}
    assert len(expected) > 1
    for model, g in t5[t5.characteristic == "modalities it has"].groupby("model"):
        assert dict(zip(g.level, g.n.astype(int))) == expected, model
