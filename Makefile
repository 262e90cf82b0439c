# Two commands on a fresh machine with Python 3.11 and pip:
#   make demo   sets up .venv and runs the embedded default study
#   make test   sets up .venv and runs the test suite
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test bench-setup setup clean clean-cache

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,dask]'
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/twolevel demo

test: $(STAMP)
	$(PY) -m pytest -q

bench-setup: $(STAMP)
	$(PY) -m pip install --quiet -e '.[bench]'

clean:
	rm -rf $(VENV) build *.egg-info

# numba's on-disk cache is keyed on each function's own source file: after editing a
# module that other compiled functions call (engine/kernels.py above all), clear it.
clean-cache:
	find src -name '*.nbi' -delete -o -name '*.nbc' -delete
