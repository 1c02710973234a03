import os, shutil, subprocess
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent

@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT

@pytest.fixture(autouse=True)
def _quiet_threads(monkeypatch):
    # one OpenMP thread per process unless told otherwise: tests start study kernels two at a time, and on two cores two
    # processes with two threads each spin-wait on each other (make test-notebooks: 15 min with two threads, 2 with one)
    monkeypatch.setenv("OMP_NUM_THREADS", os.environ.get("OMP_NUM_THREADS", "1"))

@pytest.fixture(scope="session")
def cluster():
    "A Slurm cluster that answers (make test starts one: scripts/local_slurm.sh). Skipped only where sbatch is absent and CI is unset."
    if shutil.which("sbatch") is None:
        if os.environ.get("CI"): pytest.fail("CI must run the Slurm tests, but sbatch is not on PATH: make test starts scripts/local_slurm.sh")
        pytest.skip("no Slurm here (sbatch is not on PATH): scripts/local_slurm.sh start makes a local one")
    r = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True)
    if r.returncode or not r.stdout.strip():
        pytest.fail(f"sbatch is here but no Slurm controller answers ({r.stderr.strip()}): start one with scripts/local_slurm.sh start")

def copy_cohort(src:Path, dst:Path) -> Path:
    "A copy of a cohort without its caches: the same data, nothing pretrained or shared with the original's runs."
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("cache"))
    return dst
