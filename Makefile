# The two commands of the README. Both create .venv (and install everything) when it is missing.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export OMP_NUM_THREADS ?= 2
export HF_HUB_OFFLINE ?= 1

.PHONY: demo test docs benchmark app clean

$(STAMP): requirements.txt requirements-dev.txt requirements-lock.txt setup.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -r requirements-dev.txt -c requirements-lock.txt
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .
	touch $(STAMP)

## demo: the main job: MaskDiffusion on the built-in shapes dataset with a tiny offline model,
## printing mmseg's metric table and writing overlays to work_dirs/demo/show
demo: $(STAMP)
	$(PY) tools/prepare_demo.py --root data/demo
	$(PY) tools/test.py configs/maskdiffusion_shapes_demo.py --work-dir work_dirs/demo --show-dir work_dirs/demo/show

## test: the test suite, the docs built with warnings as errors, and the built site checked (links, navigation,
## API pages; layout and offline maths in headless Chromium, screenshots in docs/_build/screenshots)
test: $(STAMP)
	$(PY) -m pytest tests -q -p no:cacheprovider --durations=12
	$(PY) -m sphinx -W -q -b html docs docs/_build/html
	$(PY) tools/check_docs.py docs/_build/html

## app: the web app on http://127.0.0.1:7860 (the tiny offline models; demo/app.py --help for real weights)
app: $(STAMP)
	$(PY) demo/app.py

benchmark: $(STAMP)
	$(PY) tools/benchmark.py configs/maskdiffusion_shapes_demo.py

clean:
	rm -rf work_dirs docs/_build data/demo
