"""Build the study's site: `make docs` (or `python docs/build.py`), then open _docs/html/index.html.

1. Every module notebook in nbs/ is executed as `nbdev_test` executes it (the same small sizes, cells flagged
   with settings.ini's `tst_flags` skipped), keeping its outputs and figures.
2. nbdev's own documentation processors then turn it into a page as nbdev's docs would show it: directives
   removed, `#| hide` and exported cells dropped, each exported definition's signature and docstring shown
   (`show_doc`). nbdev renders those pages with quarto, which cannot be installed here; myst-nb reads the same
   notebooks, so quarto's cell options become myst-nb's cell tags (the one step written here).
3. The study notebooks (nbs/study) are shown as the smoke profile executes them (`mmkd-study reproduce --profile smoke`
   into a temporary folder): their numbers are a smoke test's, not the study's.
4. The index is the README; REPORT.md, the other result tables and the benchmarks come from results/ with their figures, and
   so do the reports of the other studies (results/natural/, results/end_to_end/, results/second_generator/).
5. Sphinx + myst-nb (Jupyter Book 1's stack, sphinx-book-theme) builds a static site in _docs/html, warnings as errors.
"""
from __future__ import annotations
import argparse, os, re, shutil, subprocess, sys, tempfile, time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STUDY_NOTEBOOKS = ("cohort.ipynb", "train.ipynb", "aggregate.ipynb")


def module_notebooks(nbs:Path, pattern:str="*.ipynb") -> list[Path]:
    "The module notebooks in reading order (nbs/*.ipynb; the study notebooks are executed by a study, not here)."
    return sorted(p for p in nbs.glob(pattern) if not p.name.startswith("_"))


def myst_tags(cell) -> None:
    "quarto's cell options, as nbdev's processors leave them, as myst-nb's cell tags."
    from nbdev.processors import _is_showdoc
    if cell.cell_type != "code": return
    d = getattr(cell, "directives_", None) or {}
    tags = set(cell.metadata.get("tags", []))
    if _is_showdoc(cell):
        tags.add("remove-input")
        for o in cell.get("outputs", []):    # show_doc opens with a rule, which docutils allows only between sections
            md = o.get("data", {}).get("text/markdown")
            if not md: continue
            md = re.sub(r"\A\s*---\s*\n", "", "".join(md))
            # and links to the source on settings.ini's git host, with quarto's link attributes: this repository has none
            o["data"]["text/markdown"] = re.sub(r"\[source\]\([^)]*\)(\{[^}]*\})?\s*", "", md)
    if d.get("echo:") == ["false"]: tags.add("remove-input")
    if d.get("output:") == ["false"]: tags.add("remove-output")
    if d.get("include:") == ["false"]: tags.add("remove-cell")
    # show_doc's output asks for `output: asis` in quarto: myst-nb renders text/markdown outputs as Markdown already
    if tags: cell.metadata["tags"] = sorted(tags)


def execute_and_process(src:str, dest:str) -> tuple[str, float, str|None]:
    "Execute the notebook `src` as nbdev_test does, process it as nbdev's docs do and write it to `dest`; (name, seconds, error)."
    from execnb.nbio import write_nb
    from execnb.shell import CaptureShell
    from fastcore.xtras import working_directory
    from nbdev.config import get_config
    from nbdev.process import NBProcessor
    from nbdev import processors as P
    src, dest, t = Path(src), Path(dest), time.time()
    os.environ["IN_TEST"] = "1"
    flags = set(get_config().get("tst_flags", "").split())
    # pass 1: a show_doc cell after each exported definition (nbdev's own processor), directives kept in the source
    nb = NBProcessor(src, procs=[P.populate_language, P.add_show_docs], rm_directives=False, process=True).nb

    def skip(cell):
        if cell.cell_type != "code": return True
        d = cell.directives_ or {}
        return d.get("eval:", [""])[0].lower() == "false" or bool(flags & d.keys())
    shell = CaptureShell(src)         # the whole notebook and its show_doc cells in one kernel, as nbdev_test runs it
    shell.run_cell("from nbdev.showdoc import show_doc")
    try:
        with working_directory(src.parent): shell.run_all(nb, exc_stop=True, preproc=skip)
    except Exception:
        return src.name, time.time() - t, shell.prettytb(fname=src)
    # pass 2: nbdev's docs processors (those that need no quarto), then quarto's options as myst-nb tags
    procs = [P.strip_ansi, P.hide_line, P.filter_stream_, P.rm_header_dash, P.rm_export, P.clean_magics, P.hide_, P.mv_exports,
             P.strip_hidden_metadata, myst_tags]
    try: NBProcessor(nb=nb, procs=procs, process=True)
    except Exception as e: return src.name, time.time() - t, f"{type(e).__name__}: {e}"
    nb.metadata.pop("widgets", None)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    dest.parent.mkdir(parents=True, exist_ok=True)
    write_nb(nb, dest)
    return src.name, time.time() - t, None


def build_modules(nbs:Path, out:Path, jobs:int, pattern:str="*.ipynb") -> list[str]:
    "Execute and process every module notebook (matching `pattern`) into `out`, `jobs` at a time; the page names in order."
    paths = module_notebooks(nbs, pattern)
    failed = []
    def one(p):     # a fresh interpreter per notebook, as a kernel would be
        r = subprocess.run([sys.executable, __file__, "--execute", str(p), str(out / p.name)], cwd=ROOT, capture_output=True, text=True)
        return p.name, r
    with ThreadPoolExecutor(jobs) as pool:
        for name, r in pool.map(one, paths):
            print(f"  {name:<28} {r.stdout.strip().splitlines()[-1] if r.stdout.strip() else ''}" + ("  FAILED" if r.returncode else ""), flush=True)
            if r.returncode: failed.append(f"{name}:\n{r.stderr[-4000:]}")
    if failed: raise SystemExit("docs: a module notebook failed to execute (nothing was published):\n\n" + "\n\n".join(failed))
    return [p.stem for p in paths]


def build_study(out:Path, jobs:int) -> list[str]:
    "The study notebooks as the smoke profile executes them, copied into `out` with a note saying so; their page names."
    with tempfile.TemporaryDirectory(prefix="mmkd-docs-") as tmp:
        cmd = [sys.executable, "-c", "import sys; from mmkd_study.cli import main; sys.exit(main())", "reproduce", "--profile", "smoke", "--cohort", f"{tmp}/cohort",
               "--results", f"{tmp}/results", "--jobs", str(jobs)]
        print("  mmkd-study " + " ".join(cmd[3:]), flush=True)
        r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        if r.returncode != 0:
            raise SystemExit(f"docs: the smoke study failed (exit {r.returncode}):\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
        runs = Path(tmp) / "results" / "runs" / "smoke"
        found = {"cohort.ipynb": runs / "cohort.ipynb", "aggregate.ipynb": runs / "aggregate.ipynb",
                 "train.ipynb": next(iter(sorted(runs.glob("notebooks/*/train.ipynb")) + sorted(runs.glob("*/seed*/train.ipynb"))), None)}
        missing = [k for k, v in found.items() if v is None or not v.exists()]
        if missing: raise SystemExit(f"docs: the smoke study wrote no executed {', '.join(missing)} under {runs}")
        out.mkdir(parents=True, exist_ok=True)
        for name in STUDY_NOTEBOOKS: _with_note(found[name], out / name, tmp)
    return [Path(n).stem for n in STUDY_NOTEBOOKS]


def _with_note(src:Path, dest:Path, tmp:str) -> None:
    "Copy an executed study notebook, with a first cell saying that it ran on the smoke profile, and its temporary paths hidden."
    import nbformat
    nb = nbformat.read(src, as_version=4)
    title = next((c.source.splitlines()[0] for c in nb.cells if c.cell_type == "markdown" and c.source.startswith("# ")), None)
    note = ("```{note}\nThis page is the study notebook as `mmkd-study reproduce --profile smoke` executed it while the site "
            "was built: a smoke test on a tiny synthetic cohort. Its numbers say that the pipeline runs, not what the study "
            "found: the study's results are on the [report](../../results/REPORT.md) page.\n```")
    cells = [nbformat.v4.new_markdown_cell(note)]
    if title is None: cells.insert(0, nbformat.v4.new_markdown_cell(f"# {src.stem}"))
    else:   # keep the title first, so that the page is named after it
        i = next(i for i, c in enumerate(nb.cells) if c.cell_type == "markdown" and c.source.startswith("# "))
        first = nb.cells.pop(i)
        cells.insert(0, first)
    nb.cells = cells + nb.cells
    text = nbformat.writes(nb)
    text = text.replace(tmp, "<smoke study>")          # the temporary folder the smoke study ran in means nothing to a reader
    dest.write_text(text)


def _linkify(readme:str, pages:set[str]) -> str:
    "The README's mentions of a page (`nbs/06_fusion.ipynb`, `06_fusion`, `study/train`, `results/REPORT.md`) as links to it."
    def sub(m):
        name = m.group(1)
        page = name.rsplit(".", 1)[0] if name.endswith((".ipynb", ".md")) else name
        for p in (page, f"nbs/{page}", page.rstrip("/") + "/REPORT"):     # `results/natural/`: that study's report
            if p in pages: return f"[`{name}`]({p}.{'md' if p.startswith('results/') else 'ipynb'})"
        return m.group(0)
    return re.sub(r"(?<![\[\w])`([\w./-]+)`(?!\])", sub, readme)


OTHER_STUDIES = ("natural", "end_to_end", "second_generator")   # results/<study>/: the studies beyond the primary one (README)


def write_sources(src:Path, modules:list[str], study:list[str]) -> None:
    "The index (the README with the site's table of contents) and the result pages with their figures."
    (src / "results").mkdir(parents=True, exist_ok=True)
    for md in sorted((ROOT / "results").glob("*.md")): shutil.copy2(md, src / "results" / md.name)
    shutil.copytree(ROOT / "figures", src / "figures", dirs_exist_ok=True, ignore=shutil.ignore_patterns("*.pdf"))
    results = ["results/REPORT"] + [f"results/{p.stem}" for p in sorted((ROOT / "results").glob("*.md")) if p.stem != "REPORT"]
    for design in OTHER_STUDIES:        # each other study's report (every table is in it) and its verdicts beside the primary's
        for name in ("REPORT.md", "verdicts_vs_primary.md"):
            if (ROOT / "results" / design / name).exists():
                (src / "results" / design).mkdir(exist_ok=True)
                shutil.copy2(ROOT / "results" / design / name, src / "results" / design / name)
                results.append(f"results/{design}/{name[:-3]}")
    pages = {f"nbs/{m}" for m in modules} | {f"nbs/study/{s}" for s in study} | set(results)
    def toc(caption, entries): return f"\n```{{toctree}}\n:caption: {caption}\n:maxdepth: 1\n\n" + "\n".join(entries) + "\n```\n"
    readme = _linkify((ROOT / "README.md").read_text(), pages)
    (src / "index.md").write_text(readme + toc("Module notebooks", [f"nbs/{m}" for m in modules])
                                  + toc("Study notebooks (as the smoke profile runs them)", [f"nbs/study/{s}" for s in study])
                                  + toc("Results (synthetic cohort)", results))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Build the study's site in _docs/html (Sphinx + myst-nb).")
    ap.add_argument("--out", default=str(ROOT / "_docs"), help="output folder (default: _docs): sources in src/, the site in html/")
    ap.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1), help="notebooks executed at a time (default 2)")
    ap.add_argument("--notebooks", default="*.ipynb", help="only the module notebooks matching this pattern (default: all)")
    ap.add_argument("--no-study", action="store_true", help="leave out the study notebooks (no smoke study is run)")
    ap.add_argument("--execute", nargs=2, metavar=("NOTEBOOK", "DEST"), help=argparse.SUPPRESS)   # one notebook, in its own process
    a = ap.parse_args(argv)
    if a.execute:
        name, s, err = execute_and_process(*a.execute)
        if err: print(err, file=sys.stderr); return 1
        print(f"{s:6.1f} s"); return 0
    out = Path(a.out); src = out / "src"; t = time.time()
    if src.exists(): shutil.rmtree(src)
    print(f"docs: executing the module notebooks ({a.jobs} at a time)", flush=True)
    modules = build_modules(ROOT / "nbs", src / "nbs", a.jobs, a.notebooks)
    study = []
    if not a.no_study:
        print("docs: the study notebooks, from a smoke study", flush=True)
        study = build_study(src / "nbs" / "study", a.jobs)
    write_sources(src, modules, study)
    print("docs: sphinx-build", flush=True)
    html = out / "html"
    r = subprocess.run([sys.executable, "-m", "sphinx", "-b", "html", "-q", "-W", "--keep-going", "-c", str(ROOT / "docs"),
                        str(src), str(html)], cwd=ROOT)
    if r.returncode != 0: raise SystemExit(f"docs: sphinx-build failed (exit {r.returncode}); its warnings are above")
    print(f"docs: the site is in {html} ({time.time() - t:.0f} s); open {html / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
