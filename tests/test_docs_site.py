"""The study's site, checked in a real browser (headless Chromium driven by Playwright).

By default the tests build a small site (the index, the fusion notebook, the result pages) into a temporary
folder. With MMKD_DOCS_SITE=_docs/html (`make test-docs`, after `make docs`) they check the full site instead,
and write the screenshots of the index and the fusion page under _docs/screenshots/.
"""
import functools, http.server, os, shutil, subprocess, sys, threading
from pathlib import Path
from urllib.parse import urljoin, urlparse, unquote

import pytest

ROOT = Path(__file__).resolve().parents[1]
FULL = os.environ.get("MMKD_DOCS_SITE")


def _chromium() -> str:
    "Debian's Chromium (scripts/ensure_chromium.sh installs it); in CI its absence is a failure, elsewhere a skip that says why."
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe: return exe
    msg = "no chromium on PATH: run scripts/ensure_chromium.sh (root, Debian) or install your distribution's chromium"
    if os.environ.get("CI"): pytest.fail(msg)
    pytest.skip(msg)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    if FULL: return Path(FULL).resolve()
    out = tmp_path_factory.mktemp("docs")
    r = subprocess.run([sys.executable, str(ROOT / "docs/build.py"), "--out", str(out), "--notebooks", "06_fusion.ipynb", "--no-study"],
                       cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return out / "html"


@pytest.fixture(scope="module")
def base_url(site):
    "The site served over HTTP on a free local port, as a reader's web server would serve it."
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *a): pass
    handler = functools.partial(Quiet, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


@pytest.fixture(scope="module")
def browser():
    exe = _chromium()
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, args=["--no-sandbox"])
        yield b
        b.close()


def _visit(browser, url):
    "Load `url`; its console errors, failed requests, images that did not load, links and element ids."
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"script error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url} ({r.failure})"))
    page.on("response", lambda r: problems.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)
    page.goto(url, wait_until="networkidle")
    images = page.evaluate("Array.from(document.images).map(i => [i.currentSrc || i.src, i.complete && i.naturalWidth > 0])")
    problems += [f"image not loaded: {src}" for src, ok in images if not ok]
    links = page.evaluate("Array.from(document.querySelectorAll('a[href]')).map(a => a.href)")
    ids = set(page.evaluate("Array.from(document.querySelectorAll('[id]')).map(e => e.id)"))
    return page, problems, links, ids, len(images)


def test_every_page_loads_cleanly_and_no_internal_link_is_broken(site, base_url, browser):
    "Every page reachable from the index: no console error, every image loaded, every internal link and anchor leads somewhere."
    todo, seen, problems, anchors, ids_of = [base_url + "index.html"], set(), {}, [], {}
    while todo:
        url = todo.pop()
        if url in seen: continue
        seen.add(url)
        page, found, links, ids, _ = _visit(browser, url)
        page.close()
        ids_of[url] = ids
        if found: problems[url] = found
        for link in links:
            u = urlparse(link)
            if "example.org" in u.netloc: problems.setdefault(url, []).append(f"link to settings.ini's placeholder host: {link}")
            if u.scheme not in ("http", "https") or not link.startswith(base_url): continue   # mailto:, external sites
            target = link.split("#")[0]
            path = site / unquote(urlparse(target).path).lstrip("/")
            if path.is_dir(): path = path / "index.html"
            if not path.exists(): problems.setdefault(url, []).append(f"broken link: {link}")
            elif path.suffix == ".html":
                todo.append(target if not target.endswith("/") else target + "index.html")
                if u.fragment: anchors.append((url, target, unquote(u.fragment)))
    for url, target, frag in anchors:
        if target in ids_of and frag not in ids_of[target]: problems.setdefault(url, []).append(f"broken anchor: {target}#{frag}")
    assert not problems, "\n".join(f"{u}:\n  " + "\n  ".join(p) for u, p in problems.items())
    pages = {urlparse(u).path.lstrip("/") for u in seen}
    others = {f"results/{d}/REPORT.html" for d in ("natural", "end_to_end", "second_generator") if (ROOT / "results" / d / "REPORT.md").exists()}
    assert {"index.html", "nbs/06_fusion.html", "results/REPORT.html", "results/benchmarks.html"} | others <= pages, sorted(pages)
    if FULL:    # the full site: every module notebook and every study notebook is a page
        expected = {f"nbs/{p.stem}.html" for p in (ROOT / "nbs").glob("*.ipynb")} | {f"nbs/study/{n}.html" for n in ("cohort", "train", "aggregate")}
        assert expected <= pages, sorted(expected - pages)


def test_the_fusion_page_shows_its_figure_and_its_api(site, base_url, browser):
    "The PB notebook as a student reads it: its figure drawn, each exported definition's signature shown, no export cell's source."
    page, problems, _, _, n_images = _visit(browser, base_url + "nbs/06_fusion.html")
    assert not problems, problems
    main = page.locator("main")
    assert n_images >= 1 and page.evaluate("Array.from(document.querySelectorAll('main img')).some(i => i.naturalWidth > 300)")
    assert main.get_by_text("A picture of the token flow").count() >= 1
    assert main.locator(".rubric", has_text="PooledBottleneckFusion").count() == 1     # show_doc's heading for the exported class
    assert main.locator(".rubric", has_text="encoder_layer").count() == 1
    text = main.inner_text()
    assert "def encoder_layer(" in text and "A pre-norm Transformer encoder layer" in text       # its signature and docstring
    assert "#| export" not in text and "class PooledBottleneckFusion(nn.Module)" not in text    # nbdev's docs drop exported source
    assert "test_eq(" in text                                                                  # the tests under each definition stay
    shots = (site.parent / "screenshots") if FULL else site / "_screenshots"
    shots.mkdir(exist_ok=True)
    page.screenshot(path=str(shots / "fusion.png"))
    page.close()
    index = browser.new_page(viewport={"width": 1280, "height": 900})
    index.goto(base_url + "index.html", wait_until="networkidle")
    index.screenshot(path=str(shots / "index.png"))
    index.close()
    assert (shots / "fusion.png").stat().st_size > 10_000 and (shots / "index.png").stat().st_size > 10_000


def test_search_finds_the_fusion_page(base_url, browser):
    "The theme's search (Sphinx's client-side index) finds the PB notebook."
    page = browser.new_page()
    page.goto(base_url + "search.html?q=bottleneck", wait_until="networkidle")
    page.wait_for_selector("#search-results ul.search li", timeout=15_000)
    hits = page.evaluate("Array.from(document.querySelectorAll('#search-results ul.search li a')).map(a => a.href)")
    page.close()
    assert any(h.split("#")[0].endswith("nbs/06_fusion.html") for h in hits), hits
