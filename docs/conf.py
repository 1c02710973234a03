# Sphinx configuration of the study's site (`make docs`; docs/build.py writes the sources into _docs/src first).
# myst-nb renders the notebooks as docs/build.py executed and processed them: it never executes anything itself.
import configparser
from pathlib import Path

_ini = configparser.ConfigParser()
_ini.read(Path(__file__).resolve().parents[1] / "settings.ini")
project = _ini["DEFAULT"]["lib_name"]
author = _ini["DEFAULT"]["author"]
copyright = _ini["DEFAULT"]["copyright"]
release = _ini["DEFAULT"]["version"]

extensions = ["myst_nb", "sphinx-mathjax-offline"]    # MathJax served from the site itself: a reader may be offline
nb_execution_mode = "off"
nb_render_markdown_format = "myst"                    # show_doc's signature tables are Markdown tables
nb_merge_streams = True
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
myst_heading_anchors = 3
exclude_patterns = ["**/.ipynb_checkpoints"]
suppress_warnings = ["myst.header"]                   # show_doc's headings start at level 3 inside any section

html_theme = "sphinx_book_theme"
html_title = project
html_theme_options = {"show_toc_level": 2, "navigation_with_keys": False, "use_download_button": False}
html_context = {"default_mode": "light"}     # the theme logs a console error when no mode was ever chosen
html_show_sourcelink = False
html_static_path = ["_static"]
html_favicon = "_static/favicon.svg"    # three modalities pooled into one: without one, the browser's /favicon.ico request fails
