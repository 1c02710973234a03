"""The notebooks are the source: they must be stored clean and the package must be their export."""
import shutil, subprocess, sys
from pathlib import Path

BIN = Path(sys.executable).parent

def _snapshot(d: Path) -> dict:
    return {p.relative_to(d).as_posix(): p.read_bytes() for p in sorted(d.rglob("*"))
            if p.is_file() and "__pycache__" not in p.parts and ".ipynb_checkpoints" not in p.parts}

def _copy_project(root: Path, dst: Path) -> Path:
    for name in ("settings.ini", "setup.py", "README.md"):
        shutil.copy(root / name, dst / name)
    shutil.copytree(root / "nbs", dst / "nbs")
    shutil.copytree(root / "mmkd_study", dst / "mmkd_study", ignore=shutil.ignore_patterns("__pycache__"))
    return dst

def test_notebooks_are_clean(root, tmp_path):
    proj = _copy_project(root, tmp_path)
    before = _snapshot(proj / "nbs")
    subprocess.run([str(BIN / "nbdev_clean")], cwd=proj, check=True, capture_output=True)
    changed = [k for k, v in _snapshot(proj / "nbs").items() if before.get(k) != v]
    assert not changed, f"notebooks not clean (run nbdev_clean): {changed}"

def test_package_in_sync_with_notebooks(root, tmp_path):
    proj = _copy_project(root, tmp_path)
    before = _snapshot(proj / "mmkd_study")
    subprocess.run([str(BIN / "nbdev_export")], cwd=proj, check=True, capture_output=True)
    after = _snapshot(proj / "mmkd_study")
    changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    assert not changed, f"mmkd_study/ is out of sync with nbs/ (run nbdev_export): {changed}"

def test_study_notebooks_have_parameters_and_are_excluded_from_nbdev_test(root):
    import papermill
    study = root / "nbs" / "study"
    assert (study / ".notest").exists(), "nbdev_test must skip the papermill notebooks"
    for nb in ("cohort.ipynb", "train.ipynb", "aggregate.ipynb"):
        params = papermill.inspect_notebook(str(study / nb))
        assert params, f"{nb} has no parameters cell"
        assert all(p["inferred_type_name"] != "None" for p in params.values()), f"{nb}: untyped parameter"

def test_markdown_cells_are_markdown_not_commented_source(root):
    "Prose must render: a markdown cell whose every line starts with '#' was pasted from a .py source with its comment marks."
    import nbformat
    bad = []
    for path in sorted((root / "nbs").rglob("*.ipynb")):
        for i, cell in enumerate(nbformat.read(path, as_version=4).cells):
            lines = [l for l in cell.source.splitlines() if l.strip()]
            if cell.cell_type == "markdown" and len(lines) > 1 and all(l.startswith("#") for l in lines):
                bad.append(f"{path.relative_to(root)} cell {i}: {lines[0][:60]!r}")
    assert not bad, "markdown cells written as commented source:\n" + "\n".join(bad)

def public_definitions(source: str) -> list[str]:
    "The public functions and classes an export cell defines at its top level."
    import ast
    body = "\n".join(l for l in source.splitlines() if not l.startswith("#|"))
    return [n.name for n in ast.parse(body).body
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and not n.name.startswith("_")]

def test_one_public_definition_per_export_cell(root):
    "A reader finds each definition in a cell of its own (its private helpers beside it), with its test below (STYLE.md)."
    import json
    assert public_definitions("#| export\ndef a(): pass\ndef _helper(): pass\nclass B: pass\nX = 1\n") == ["a", "B"]
    crowded = []
    for p in sorted((root / "nbs").glob("*.ipynb")):
        for i, c in enumerate(json.loads(p.read_text())["cells"]):
            src = "".join(c["source"])
            if c["cell_type"] == "code" and src.lstrip().startswith("#| export") and len(names := public_definitions(src)) > 1:
                crowded.append(f"{p.name} cell {i}: {', '.join(names)}")
    assert not crowded, "export cells with more than one public definition:\n" + "\n".join(crowded)
