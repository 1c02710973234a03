"""The MIMIC-IV builder on real files: the official MIMIC-IV Clinical Database Demo v2.2 (ODbL, tests/data/).

The demo has MIMIC-IV's hosp and icu tables for 100 patients but no notes, no CXRs and no chartevents, so it is
also the test of a partial release. Every expectation here is computed from the demo's CSVs with plain pandas,
independently of the builder's SQL."""
import hashlib, json, re, shutil
import numpy as np
import pandas as pd
import pytest
from PIL import Image
from mmkd_study.config import tabular_features
from mmkd_study.data import load_cohort
from mmkd_study.cohorts.fake_mimic import chart_items
from mmkd_study.cli import main
from mmkd_study.study.runner import reproduce
from mmkd_study.splits import study_split, check_splits

DEMO = __import__("pathlib").Path(__file__).parent / "data" / "mimic-iv-demo-2.2"


@pytest.fixture(scope="module")
def cohort_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("demo") / "cohort"
    assert main(["cohort", "--mimic-iv", str(DEMO), "--out", str(d), "--image-size", "32", "--workers", "1"]) == 0
    return d


@pytest.fixture(scope="module")
def expected():
    "The cohort as the rules of STUDY.md §4.1 define it, computed with pandas from the demo's own files."
    adm = pd.read_csv(DEMO / "hosp/admissions.csv.gz", parse_dates=["admittime", "dischtime", "deathtime"])
    pat = pd.read_csv(DEMO / "hosp/patients.csv.gz")
    a = adm.merge(pat, on="subject_id", how="left")
    a["age"] = a.anchor_age + (a.admittime.dt.year - a.anchor_year)
    a["t_pred"] = a.admittime + pd.Timedelta(hours=24)
    rules = [np.ones(len(a), bool), (a.age >= 18).to_numpy(),
             (a.deathtime.isna() | (a.deathtime >= a.t_pred)).to_numpy(), (a.dischtime >= a.t_pred).to_numpy()]
    keep = np.logical_and.accumulate(rules)
    flow = [(int(k.sum()), int(a.subject_id[k].nunique())) for k in keep]
    cohort = a[keep[-1]].set_index("hadm_id").sort_index()
    # the first lab value in [admittime, T), linked by patient and time (ED labs carry no hadm_id); same-time values averaged
    spec = tabular_features()
    labs = spec[spec.source == "hosp/labevents"]
    ev = pd.read_csv(DEMO / "hosp/labevents.csv.gz", usecols=["subject_id", "itemid", "charttime", "storetime", "valuenum"],
                     parse_dates=["charttime", "storetime"])
    ev = ev[ev.itemid.isin(labs.feature.astype(int)) & ev.valuenum.notna()]
    ev = ev.merge(cohort.reset_index()[["hadm_id", "subject_id", "admittime", "t_pred"]], on="subject_id")
    ev = ev[(ev.charttime >= ev.admittime) & (ev.charttime < ev.t_pred)]
    known = ev.storetime.fillna(ev.charttime) < ev.t_pred                 # known at T: stored before it (charttime when never stored)

    def first_of(e):
        first_time = e.groupby(["hadm_id", "itemid"]).charttime.transform("min")
        first = e[e.charttime == first_time].groupby(["hadm_id", "itemid"]).valuenum.mean().unstack()
        first.columns = ["lab_" + str(c) for c in first.columns]
        return first
    return {"flow": flow, "cohort": cohort, "first_labs": first_of(ev[known]), "first_charted": first_of(ev),
            "stored_after_t": int((~known).sum())}


def test_the_fixture_is_the_official_demo():
    for line in (DEMO / "SHA256SUMS.txt").read_text().splitlines():
        digest, name = line.split()
        assert hashlib.sha256((DEMO / name).read_bytes()).hexdigest() == digest, name
    assert "ODC Open Database License (ODbL)" in (DEMO / "LICENSE.txt").read_text()


def test_the_packaged_chart_item_dictionary_is_the_demos(expected):
    "spec/chart_items.csv (what the fake tree types its chart items by) is the demo's d_items, row for row."
    d_items = pd.read_csv(DEMO / "icu/d_items.csv.gz").set_index("itemid")
    ours = chart_items().set_index("itemid")
    spec = tabular_features()
    assert sorted(ours.index) == sorted(spec.feature[spec.source == "icu/chartevents"].astype(int))
    cols = ["label", "category", "unitname", "param_type"]
    pd.testing.assert_frame_equal(ours[cols], d_items.loc[ours.index, cols], check_dtype=False)


def test_flow_admissions_and_labels_match_pandas(cohort_dir, expected):
    flow = pd.read_csv(cohort_dir / "cohort_flow.csv")
    assert list(zip(flow.admissions, flow.patients)) == expected["flow"]
    df = load_cohort(cohort_dir).set_index("hadm_id")
    assert df.index.tolist() == expected["cohort"].index.tolist()
    assert df.label.tolist() == expected["cohort"].hospital_expire_flag.tolist()
    assert 0 < df.label.sum() < len(df)


def test_every_lab_column_holds_the_first_value_in_the_window(cohort_dir, expected):
    df = load_cohort(cohort_dir).set_index("hadm_id")
    labs = [c for c in df if c.startswith("lab_")]
    want = expected["first_labs"].reindex(index=df.index, columns=labs)
    assert (df[labs].notna() == want.notna()).all().all()
    assert df[labs].notna().sum().sum() > 1000                         # the demo has labs for most admissions
    assert np.nanmax(np.abs(df[labs].to_numpy() - want.to_numpy())) < 1e-9


def test_values_stored_after_t_are_left_out_and_counted(tmp_path, cohort_dir, expected):
    meta = json.loads((cohort_dir / "cohort.json").read_text())
    assert meta["stored_by_t"] and meta["stored_after_t"]["hosp/labevents"]["values"] == expected["stored_after_t"] > 0
    df = load_cohort(cohort_dir).set_index("hadm_id")
    labs = [c for c in df if c.startswith("lab_")]
    charted, known = expected["first_charted"].reindex(index=df.index, columns=labs), expected["first_labs"].reindex(index=df.index, columns=labs)
    changed = (charted.notna() & (known.isna() | (charted - known).abs().gt(1e-9))).to_numpy()
    print(f"the look-ahead rule removes {expected['stored_after_t']} lab values; {changed.sum()} first values change "
          f"({int((charted.notna() & known.isna()).to_numpy().sum())} become missing)")
    assert changed.sum() > 0
    out = tmp_path / "ignoring"                                         # --ignore-storetime: every value charted before T
    assert main(["cohort", "--mimic-iv", str(DEMO), "--out", str(out), "--image-size", "32", "--workers", "1", "--ignore-storetime"]) == 0
    loose = load_cohort(out).set_index("hadm_id")[labs]
    assert np.nanmax(np.abs(loose.to_numpy() - charted.to_numpy())) < 1e-9 and (loose.notna() == charted.notna()).all().all()


def test_age_is_the_age_at_admission_and_race_is_grouped(cohort_dir, expected):
    df = load_cohort(cohort_dir).set_index("hadm_id")
    want = expected["cohort"]
    assert df.anchor_age.tolist() == want.age.tolist()
    assert (df.anchor_age != want.anchor_age).mean() > 0.3               # the anchor year's age is not the age at admission
    groups = {"WHITE": "White", "WHITE - BRAZILIAN": "White", "WHITE - OTHER EUROPEAN": "White", "PORTUGUESE": "White",
              "BLACK/AFRICAN AMERICAN": "Black", "BLACK/CAPE VERDEAN": "Black", "HISPANIC/LATINO - CUBAN": "Hispanic/Latino",
              "HISPANIC/LATINO - SALVADORAN": "Hispanic/Latino", "HISPANIC/LATINO - PUERTO RICAN": "Hispanic/Latino",
              "HISPANIC OR LATINO": "Hispanic/Latino", "UNKNOWN": "Unknown", "UNABLE TO OBTAIN": "Unknown",
              "PATIENT DECLINED TO ANSWER": "Unknown", "OTHER": "Other"}          # the demo's 14 strings, written out by hand
    assert df.race_raw.tolist() == want.race.tolist()
    assert df.race.tolist() == want.race.map(groups).tolist()


def test_a_release_that_is_not_given_is_a_modality_missing_for_everyone(cohort_dir):
    df = load_cohort(cohort_dir)
    assert df.image_path.isna().all() and df.hpi.isna().all()
    assert df[[c for c in df if c.startswith("chart_")]].isna().all().all()           # no chartevents in the demo
    meta = json.loads((cohort_dir / "cohort.json").read_text())
    assert meta["releases"]["mimic_note"] is None and meta["releases"]["mimic_cxr"] is None
    assert set(meta["modalities_unavailable"]) == {"image", "text"} and meta["tables_absent"] == ["chartevents"]


def test_require_text_without_notes_is_an_error_that_says_why(tmp_path, capsys):
    out = tmp_path / "c"
    assert main(["cohort", "--mimic-iv", str(DEMO), "--out", str(out), "--require", "text"]) == 2
    err = capsys.readouterr().err
    assert "--require text leaves no admission" in err and "MIMIC-IV-Note not given" in err
    assert not out.exists()                                            # a failed build leaves no half-written folder


def test_a_truncated_download_is_named(tmp_path, capsys):
    tree = tmp_path / "mimiciv"
    shutil.copytree(DEMO, tree)
    (tree / "hosp/patients.csv.gz").chmod(0o644); (tree / "hosp/patients.csv.gz").write_bytes(b"")
    assert main(["cohort", "--mimic-iv", str(tree), "--out", str(tmp_path / "c")]) == 2
    assert "patients.csv.gz: empty or not gzip" in capsys.readouterr().err


def test_stratified_splits_give_every_split_of_the_demo_its_deaths(cohort_dir):
    "The demo has 14 deaths in 245 admissions: an unstratified split left its test set without one; stratified, no seed does."
    df = load_cohort(cohort_dir)
    for seed in range(10):
        split = study_split(df, seed, scenario="natural")
        deaths = df.label.groupby(split.to_numpy()).sum()
        assert deaths["val"] >= 1 and deaths["test"] >= 1, (seed, deaths.to_dict())
        with pytest.warns(UserWarning, match="very uncertain"):           # and it says how little a handful of deaths can show
            check_splits(split, df.label, "demo")


def test_smoke_study_on_the_demo_and_nothing_identifying_in_its_outputs(cohort_dir, tmp_path):
    df = load_cohort(cohort_dir)
    with pytest.raises(ValueError, match="complete-case design leaves no admission"):   # no images, no notes: the paper's design has nothing
        reproduce("smoke", data="mimic", cohort_dir=cohort_dir, results_dir=tmp_path / "x", models=["tabular_logreg"], progress=False)
    fractions, seed = [0.6, 0.2, 0.2], 0
    res = reproduce("smoke", data="mimic", cohort_dir=cohort_dir, results_dir=tmp_path / "results", figures_dir=tmp_path / "figures",
                    models=["tabular_logreg", "concat_logreg", "tabular_only"], seeds=[seed], scenario="natural",
                    overrides={"data.split_fractions": fractions}, progress=False)
    assert res.ok, [(o.model, o.error) for o in res.failed] or res.errors
    t2 = pd.read_csv(res.results_dir / "table2_comparison.csv")
    assert (t2.data_source == "MIMIC-IV").all() and t2.auroc_mean.between(0, 1).all()
    report = (res.results_dir / "REPORT.md").read_text()
    assert "Modalities unavailable in this cohort: image" in (res.results_dir / "table1_cohort.md").read_text()
    assert "natural missingness" in report and "image (MIMIC-CXR-JPG not given" in report and "text (MIMIC-IV-Note not given" in report
    ids = set()
    for path, cols in [(DEMO / "hosp/admissions.csv.gz", ["subject_id", "hadm_id"]), (DEMO / "icu/icustays.csv.gz", ["stay_id"])]:
        ids |= set(pd.read_csv(path, usecols=cols, dtype=str).stack())
    id_re = re.compile(r"(?<![0-9A-Za-z.])(" + "|".join(sorted(ids, key=len, reverse=True)) + r")(?![0-9A-Za-z])")
    files = [p for p in tmp_path.rglob("*") if p.is_file() and p.suffix not in (".parquet", ".pt", ".npz")]
    assert any(p.suffix == ".md" for p in files) and any(p.suffix == ".ipynb" for p in files)
    for p in files:
        text = (json.dumps({k: str(v) for k, v in Image.open(p).info.items()}) if p.suffix == ".png"
                else p.read_bytes().decode("latin-1" if p.suffix == ".pdf" else "utf-8", errors="replace"))
        hit = id_re.search(text)
        assert hit is None, f"{p}: contains the identifier {hit.group(1)}"


def test_an_empty_table_is_said_and_an_empty_required_one_refused(tmp_path, capsys):
    tree = tmp_path / "mimiciv"
    shutil.copytree(DEMO, tree)
    for f in tree.rglob("*"): f.chmod(0o755 if f.is_dir() else 0o644)
    header = pd.read_csv(DEMO / "hosp/labevents.csv.gz", nrows=0)
    header.to_csv(tree / "hosp/labevents.csv.gz", index=False)                         # a header, no rows
    assert main(["cohort", "--mimic-iv", str(tree), "--out", str(tmp_path / "c")]) == 0
    assert "labevents.csv.gz has no rows" in capsys.readouterr().out
    meta = json.loads((tmp_path / "c/cohort.json").read_text())
    assert meta["tables_empty"] == ["labevents"] and "tabular" in meta["modalities_unavailable"]
    pd.read_csv(DEMO / "hosp/patients.csv.gz", nrows=0).to_csv(tree / "hosp/patients.csv.gz", index=False)
    assert main(["cohort", "--mimic-iv", str(tree), "--out", str(tmp_path / "d")]) == 2
    assert "the patients table has a header but no rows" in capsys.readouterr().err and not (tmp_path / "d").exists()
