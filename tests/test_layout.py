"""The package's layers: dependencies run one way, cli → bench → study → cohorts/method → config/runtime/files."""
import ast
from pathlib import Path

import mmkd_study

PKG = Path(mmkd_study.__file__).parent
BASE = {"config": 0, "runtime": 0, "files": 0}    # dataclasses and profiles; seeds, kernels, devices; atomic files
LAYERS = {"cohorts": 1, "study": 2, "bench": 3, "cli": 4,  # the method library's modules are layer 1, beside the cohorts
          "__init__": 4}                                       # the package's front door (`mmkd_study.load_run`), imported lazily


def layer(module: str) -> int:
    top = module.split(".")[1] if module.count(".") else ""
    return BASE.get(top, LAYERS.get(top, 1))


def module_name(path: Path) -> str:
    return "mmkd_study." + ".".join(path.relative_to(PKG).with_suffix("").parts)


def imports_of(source: str, name: str, is_package: bool = False) -> set[str]:
    "Every mmkd_study module the module `name` imports in `source`, at the top or inside a function, as an absolute name."
    package = name if is_package else name.rsplit(".", 1)[0]
    out = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("mmkd_study.")}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                mod = f"{base}.{node.module}" if node.module else base
            else:
                mod = node.module or ""
            if mod.startswith("mmkd_study."):
                out.add(mod)
    return out


def modules():
    return [p for p in sorted(PKG.rglob("*.py")) if p.name != "_modidx.py"]


def test_the_layout_has_its_parts():
    names = {str(p.relative_to(PKG)) for p in modules()}
    assert {"cli.py", "config.py", "runtime.py", "files.py", "study/grid.py", "study/runner.py", "study/tables.py", "study/trained.py", "study/disclosure.py", "study/provenance.py", "study/report.py", "cohorts/synthetic.py", "cohorts/mimic.py", "cohorts/hpi.py", "cohorts/fake_mimic.py",
            "bench/settings.py", "bench/estimate.py", "bench/mimic.py", "bench/report.py"} <= names, sorted(names)


def test_no_module_imports_a_module_above_it():
    wrong = []
    for p in modules():
        me = module_name(p)
        for dep in sorted(imports_of(p.read_text(), me, p.name == "__init__.py")):
            if layer(dep) > layer(me):
                wrong.append(f"{p.relative_to(PKG)} (layer {layer(me)}) imports {dep} (layer {layer(dep)})")
    assert not wrong, "imports against the layers (cli → bench → study → cohorts/method → config/runtime/files):\n" + "\n".join(wrong)


def test_the_check_sees_every_kind_of_import():
    src = "from ..config import Config\nfrom .grid import MODELS\ndef f():\n    from ..bench.settings import x\n    import mmkd_study.cli\n"
    assert imports_of(src, "mmkd_study.study.runner") == {"mmkd_study.config", "mmkd_study.study.grid", "mmkd_study.bench.settings",
                                                          "mmkd_study.cli"}
    assert "mmkd_study.study.grid" in imports_of((PKG / "study" / "tables.py").read_text(), "mmkd_study.study.tables")
    assert layer("mmkd_study.study.runner") > layer("mmkd_study.train") > layer("mmkd_study.config")
    assert layer("mmkd_study.cli") > layer("mmkd_study.bench.settings") > layer("mmkd_study.study.tables") > layer("mmkd_study.cohorts.mimic")


def private_imports(source: str) -> list[str]:
    "Names starting with one underscore that `source` imports from an mmkd_study module (`from x import _name`)."
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith("mmkd_study")):
            out += [f"{'.' * node.level}{node.module or ''}.{a.name}" for a in node.names if a.name.startswith("_") and not a.name.startswith("__")]
    return out


def test_no_module_imports_another_modules_private_names():
    "A helper shared between modules is public (named without an underscore, with a docstring), so that it is documented."
    assert private_imports("from .synthetic import _hpi, draw_cxr\nfrom ..config import __version__\nimport numpy as _np\n") == [".synthetic._hpi"]
    wrong = {str(p.relative_to(PKG)): found for p in modules() if (found := private_imports(p.read_text()))}
    assert not wrong, wrong
