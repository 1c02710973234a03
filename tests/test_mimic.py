"""The MIMIC-IV path on a fake MIMIC tree: the cohort flow by exact counts, the command line, the smoke study
end to end with --data mimic, and nothing private (identifiers, note text, small cells) in any shareable output."""
import contextlib, io, json, re
import pandas as pd
import pytest
from PIL import Image
from mmkd_study.data import load_cohort
from mmkd_study.cohorts.fake_mimic import CHART_TEXT_LEVELS, chart_items, make_fake_mimic
from mmkd_study.cli import main
from mmkd_study.study.runner import reproduce

MODELS = ["concat_logreg", "tabular_logreg", "proposed"]


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    return make_fake_mimic(tmp_path_factory.mktemp("fake") / "tree", n_patients=260, seed=1)


@pytest.fixture(scope="module")
def cohort_dir(tree, tmp_path_factory):
    d = tmp_path_factory.mktemp("mimic") / "cohort"
    assert main(["cohort", "--mimic-iv", str(tree.mimic_iv), "--mimic-note", str(tree.mimic_note), "--mimic-cxr", str(tree.mimic_cxr),
                 "--out", str(d), "--image-size", "32", "--workers", "1"]) == 0
    return d


def test_cohort_flow_matches_the_designed_counts_exactly(tree, cohort_dir):
    flow = pd.read_csv(cohort_dir / "cohort_flow.csv")
    assert list(flow.columns) == ["rule", "admissions", "patients"]
    assert flow[["admissions", "patients"]].values.tolist() == tree.expected_flow[["admissions", "patients"]].values.tolist()
    assert (flow.admissions.diff().dropna() < 0).all(), "every rule excludes some admissions of the fake tree"
    scen = tree.truth.scenario.value_counts()
    assert flow.admissions.iloc[0] - flow.admissions.iloc[1] == scen["minor"]
    assert flow.admissions.iloc[1] - flow.admissions.iloc[2] == scen["died_before_T"]
    assert flow.admissions.iloc[2] - flow.admissions.iloc[3] == scen["discharged_before_T"]


def test_cohort_rows_are_what_the_tree_planted(tree, cohort_dir):
    df = load_cohort(cohort_dir)
    truth = tree.truth.set_index("hadm_id").loc[df.hadm_id]
    assert (truth.scenario == "included").all()
    assert df.label.tolist() == truth.label.tolist()
    assert df.image_path.notna().tolist() == truth.expected_dicom_id.notna().tolist()
    assert [p.split("/")[-1][:-4] for p in df.image_path.dropna()] == truth.expected_dicom_id.dropna().tolist()
    assert df.hpi.fillna("").tolist() == truth.expected_hpi.fillna("").tolist()
    fv = tree.first_values.set_index(["hadm_id", "column"])
    first = fv["first"].dropna()                                      # the numbers
    wide = df.set_index("hadm_id")
    text_cols = [c for c in wide if isinstance(wide[c].dtype, pd.CategoricalDtype)]
    numeric = wide[[c for c in wide if c.startswith(("lab_", "chart_")) and c not in text_cols]]
    values = numeric.rename_axis(columns="column").stack().dropna().astype(float)
    assert len(values) == first.index.isin(values.index).sum() == first.loc[first.index.get_level_values(0).isin(df.hadm_id)].size
    assert (values - first.loc[values.index]).abs().max() < 1e-9
    words = fv.first_text.dropna()                                    # the chart items recorded as words: Text without a score, Checkbox
    got = wide[text_cols].astype(object).rename_axis(columns="column").stack().dropna()
    assert len(got) == words.loc[words.index.get_level_values(0).isin(df.hadm_id)].size > 0
    assert got.tolist() == words.loc[got.index].tolist()
    read_as = json.loads((cohort_dir / "cohort.json").read_text())["chart_columns_read_as"]
    items = chart_items().assign(column=lambda d: "chart_" + d.itemid.astype(str)).set_index("column")
    scored = {f"chart_{i}" for i, levels in CHART_TEXT_LEVELS.items() if levels[0][1] is not None}
    assert {c for c, how in read_as.items() if how == "text"} == set(text_cols) == \
        set(items.index[items.param_type.isin(["Text", "Checkbox"])]) - scored
    assert {c for c, how in read_as.items() if how == "valuenum"} == set(items.index[items.param_type.str.startswith("Numeric")]) | scored
    assert Image.open(cohort_dir / df.image_path.dropna().iloc[0]).size == (32, 32)


def test_a_tree_that_is_not_mimic_shaped_names_the_file_and_the_column(tree, tmp_path, capsys):
    bad = tmp_path / "mimiciv" / "hosp"; bad.mkdir(parents=True)
    for f in tree.mimic_iv.rglob("*.csv.gz"):
        (tmp_path / "mimiciv" / f.relative_to(tree.mimic_iv)).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "mimiciv" / f.relative_to(tree.mimic_iv)).write_bytes(f.read_bytes())
    pd.read_csv(tree.mimic_iv / "hosp/patients.csv.gz").drop(columns="anchor_year").to_csv(bad / "patients.csv.gz", index=False)
    args = ["cohort", "--mimic-iv", str(tmp_path / "mimiciv"), "--mimic-note", str(tree.mimic_note), "--mimic-cxr", str(tree.mimic_cxr),
            "--out", str(tmp_path / "c")]
    assert main(args) == 2
    assert "patients.csv.gz: missing column(s) anchor_year" in capsys.readouterr().err
    (bad / "patients.csv.gz").unlink()
    assert main(args) == 2
    assert "MIMIC-IV table 'patients' not found" in capsys.readouterr().err


def test_fake_mimic_command_writes_a_tree(tmp_path):
    assert main(["fake-mimic", "--out", str(tmp_path / "t"), "--patients", "15", "--version", "1.0"]) == 0
    assert (tmp_path / "t/mimiciv/core/admissions.csv.gz").exists() and (tmp_path / "t/mimic-cxr-jpg/mimic-cxr-2.0.0-split.csv.gz").exists()


@pytest.fixture(scope="module")
def study(cohort_dir, tmp_path_factory):
    d = tmp_path_factory.mktemp("mimic_study")
    log = io.StringIO()
    with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
        res = reproduce("smoke", data="mimic", cohort_dir=cohort_dir, results_dir=d / "results", figures_dir=d / "figures",
                        models=MODELS, progress=False)
    (d / "reproduce.log").write_text(log.getvalue())
    return res, d


def test_smoke_study_on_mimic_data_runs_end_to_end(study):
    res, d = study
    assert res.ok, [(o.model, o.error) for o in res.failed] or res.errors
    t2 = pd.read_csv(d / "results/table2_comparison.csv")
    assert set(t2.model) == set(MODELS) and (t2.data_source == "MIMIC-IV").all()
    assert "oracle" not in " ".join(t2.model)
    for name in ("table1_cohort", "cohort_flow", "table3_missing", "REPORT"):
        assert (d / f"results/{name}.md").exists(), name
    assert (d / "figures/cohort_flow.png").exists() and (d / "figures/cohort_flow.pdf").exists()
    assert not (d / "results/synthetic_calibration.csv").exists()


def _identifiers(tree) -> set[str]:
    ids = set()
    for path, cols in [(tree.mimic_iv / "hosp/admissions.csv.gz", ["subject_id", "hadm_id"]),
                       (tree.mimic_iv / "icu/icustays.csv.gz", ["stay_id"]),
                       (tree.mimic_cxr / "mimic-cxr-2.0.0-metadata.csv.gz", ["study_id", "dicom_id"]),
                       (tree.mimic_note / "note/discharge.csv.gz", ["note_id"])]:
        t = pd.read_csv(path, usecols=cols, dtype=str)
        ids |= set(t.stack())
    return ids


def _shingles(text:str, k:int=6) -> set[tuple]:
    words = re.findall(r"[a-z]+", text.lower())
    return {tuple(words[i:i + k]) for i in range(len(words) - k + 1)}


def _shareable_files(d):
    "Every output of the study except the runs' row-level files, which stay in the (private) runs directory."
    private = {"predictions.parquet"}
    return [p for p in d.rglob("*") if p.is_file() and p.name not in private and p.suffix not in (".pt", ".npz", ".parquet")]


def test_no_identifier_or_note_text_in_any_output(study, tree, cohort_dir):
    res, d = study
    ids = _identifiers(tree)
    id_re = re.compile(r"(?<![0-9A-Za-z.])(" + "|".join(map(re.escape, sorted(ids, key=len, reverse=True))) + r")(?![0-9A-Za-z])")
    notes = pd.read_csv(tree.mimic_note / "note/discharge.csv.gz", usecols=["text"]).text
    note_shingles = set().union(*(_shingles(t) for t in notes))
    generic = set().union(*(_shingles(t) for t in ["history of present illness", "past medical history"]))
    hpi = load_cohort(cohort_dir).hpi.dropna().iloc[0]
    assert id_re.search(f"hadm {sorted(ids)[0]}:") and (_shingles(hpi) & note_shingles) - generic   # the scan would see a leak
    assert (d / "mimic_runs/smoke/proposed/seed0/predictions.parquet").exists()                     # row-level, private, not scanned
    shared = [p for p in (d / "results").rglob("*") if p.is_file()]
    assert shared and not [p for p in shared if p.suffix in (".parquet", ".pt", ".npz")]              # the results folder as it would be shared
    files = _shareable_files(d)
    assert any(p.name == "cohort.ipynb" for p in files) and any(p.name == "train.ipynb" for p in files)
    assert any(p.suffix == ".png" for p in files) and any(p.suffix == ".pdf" for p in files)
    for p in files:
        if p.suffix == ".png":
            text = json.dumps({k: str(v) for k, v in Image.open(p).info.items()})
        elif p.suffix == ".pdf":
            text = p.read_bytes().decode("latin-1")
        else:
            text = p.read_bytes().decode("utf-8", errors="replace")
        hit = id_re.search(text)
        assert hit is None, f"{p}: contains the identifier {hit.group(1)}"
        leaked = (_shingles(text) & note_shingles) - generic
        assert not leaked, f"{p}: contains note text {' '.join(sorted(leaked)[0])!r}"
    for nb in [p for p in files if p.suffix == ".ipynb"]:
        outputs = [o for c in json.loads(nb.read_text())["cells"] for o in c.get("outputs", [])]
        assert not any("image/png" in o.get("data", {}) for o in outputs), f"{nb}: shows an image"


def test_small_cells_are_suppressed(study):
    res, d = study
    def small(cell) -> bool:
        m = re.fullmatch(r"(\d+)( \(.*\))?", str(cell).strip())
        return bool(m) and 0 < int(m.group(1)) < 10
    t1 = pd.read_csv(d / "results/table1_cohort.csv", dtype=str).fillna("")
    assert not [c for c in pd.concat([t1.survived, t1.died]) if small(c)]
    assert "<10" in set(t1.died)                                # the fake cohort has small cells, and they are hidden
    flow = pd.read_csv(d / "results/cohort_flow.csv", dtype=str).fillna("")
    cells = flow[["admissions", "admissions excluded", "patients", "patients excluded"]].to_numpy().ravel()
    assert not [c for c in cells if small(c)]
    nb = json.loads((res.runs_dir / "cohort.ipynb").read_text())
    shown = " ".join("".join(o.get("text", "")) + json.dumps(o.get("data", {})) for c in nb["cells"] for o in c.get("outputs", []))
    assert "<10" in shown and "died:" not in shown and "survived:" not in shown
