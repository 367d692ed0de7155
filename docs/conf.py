"""Sphinx configuration: markdown pages through myst-parser, the furo theme (wide content), copy buttons on code,
MathJax bundled (the site renders its maths offline), an API reference from the docstrings, and a results page
generated from the package's table of paper numbers. Built with -W in `make test`."""
import os
import sys

sys.path.insert(0, os.path.abspath('..'))

project = 'mmseg_trainfree'
author = 'mmseg_trainfree developers'
copyright = '2026, mmseg_trainfree developers'
extensions = ['myst_parser', 'sphinx.ext.autodoc', 'sphinx.ext.napoleon', 'sphinx_copybutton',
              'sphinx-mathjax-offline']
source_suffix = {'.md': 'markdown'}
myst_enable_extensions = ['dollarmath', 'colon_fence']
myst_heading_anchors = 3
exclude_patterns = ['_build']
html_theme = 'furo'
html_title = 'mmseg_trainfree'
html_theme_options = {'sidebar_hide_name': False}
html_css_files = ['wide.css']
html_static_path = ['_static']
autodoc_member_order = 'bysource'
autodoc_typehints = 'description'
autodoc_default_options = {'members': True, 'show-inheritance': True}
autodoc_mock_imports = []
napoleon_google_docstring = True
napoleon_numpy_docstring = False
copybutton_prompt_text = r'\$ '
copybutton_prompt_is_regexp = True
suppress_warnings = ['myst.header']


def write_results_page(app) -> None:
    """docs/results.md from mmseg_trainfree.evaluation.paper_results (generated at every build, not typed)."""
    from mmseg_trainfree.evaluation.paper_results import PAPER_RESULTS
    lines = ['# Results', '',
             'Generated at build time from `mmseg_trainfree/evaluation/paper_results.py`, the table that',
             '`tools/collect_results.py` prints beside each run. A "measured" column appears here for a config',
             'once a run of it at real scale is recorded; none is yet (the development machines have no GPU).', '',
             '| config | paper mIoU | source |', '|---|---|---|']
    lines += [f'| `{name}.py` | {result.miou:g} | {result.source} |' for name, result in PAPER_RESULTS.items()]
    path = os.path.join(app.srcdir, 'results.md')
    text = '\n'.join(lines) + '\n'
    if not os.path.exists(path) or open(path, encoding='utf-8').read() != text:
        with open(path, 'w', encoding='utf-8') as f:
            f.write(text)


def setup(app):
    app.connect('builder-inited', write_results_page)
