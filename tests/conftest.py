import os
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent

@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT

@pytest.fixture(autouse=True)
def _quiet_threads(monkeypatch):
    # two cores here: keep BLAS from oversubscribing when tests run beside notebooks
    monkeypatch.setenv("OMP_NUM_THREADS", os.environ.get("OMP_NUM_THREADS", "2"))
