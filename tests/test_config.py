"""Configuration: JSON round trips, and parameters that are misspelt fail loudly everywhere."""
import json
import pytest
from mmkd_study.config import Config, profile_config, PROFILES
from mmkd_study.cli import main
from mmkd_study.study.runner import check_parameters, study_notebooks_dir

@pytest.mark.parametrize("profile", list(PROFILES))
def test_profiles_round_trip_through_json_files(profile, tmp_path):
    cfg = profile_config(profile, {"train.gm_modalities": ["text", "tabular"], "seed": 4})
    (tmp_path / "c.json").write_text(cfg.to_json())
    back = Config.from_json((tmp_path / "c.json").read_text())
    assert back == cfg and back.fingerprint() == cfg.fingerprint()
    assert back.train.gm_modalities == ("text", "tabular")

def test_papermill_parameter_typo_is_an_error():
    nb = study_notebooks_dir() / "train.ipynb"
    check_parameters(nb, {"model": "tabular_logreg", "seed": 1})
    with pytest.raises(KeyError, match="did you mean 'seed'"):
        check_parameters(nb, {"sede": 1})

def test_cli_reports_a_misspelt_setting(capsys):
    assert main(["reproduce", "--profile", "smoke", "--set", "data.n_admisions=10"]) == 2
    assert "did you mean 'data.n_admissions'" in capsys.readouterr().err

def test_bench_merges_another_machines_results(tmp_path, root):
    """The committed GPU figures merge into a fresh benchmarks file and render as Markdown."""
    assert main(["bench", "--merge", str(root / "results/benchmarks.json"), "--out", str(tmp_path)]) == 0
    md = (tmp_path / "benchmarks.md").read_text()
    rows = [[c.strip() for c in l.split("|")[1:-1]] for l in md.splitlines() if l.startswith("|")]
    assert any(r[:3] == ["setting", "batch", "dtype"] for r in rows) and "samples/s" in md
