"""The README's engineer example runs as written."""
import re
from pathlib import Path

import torch

README = Path(__file__).resolve().parents[1] / "README.md"


def engineer_example() -> str:
    "The first Python block of the README's section for engineers."
    text = README.read_text()
    section = text[text.index("## For an engineer"):]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_engineer_example_builds_a_model_and_fuses_without_a_modality(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)                          # its data/demo folder lands here
    ns = {}
    exec(compile(engineer_example(), "README.md (For an engineer)", "exec"), ns)
    risk, risk_no_cxr = ns["risk"], ns["risk_no_cxr"]
    assert risk.shape == risk_no_cxr.shape == (8,)
    assert ((risk > 0) & (risk < 1)).all() and ((risk_no_cxr > 0) & (risk_no_cxr < 1)).all()
    assert ns["batch"]["present"].all()                  # the test split of the complete-case design has every modality
    assert not torch.allclose(risk, risk_no_cxr)         # the chest X-ray reaches the prediction; without it, another one
    with torch.no_grad():                                # fuse under a presence mask == forward with that mask
        assert torch.allclose(ns["model"](ns["batch"], present=ns["no_cxr"]).softmax(-1)[:, 1], risk_no_cxr)
