"""Sphinx configuration: markdown pages through myst-parser; built with -W in `make test`."""
project = 'mmseg_trainfree'
author = 'mmseg_trainfree developers'
copyright = '2026, mmseg_trainfree developers'
extensions = ['myst_parser']
source_suffix = {'.md': 'markdown'}
myst_enable_extensions = ['dollarmath', 'colon_fence']
myst_heading_anchors = 3
exclude_patterns = ['_build']
html_theme = 'alabaster'
