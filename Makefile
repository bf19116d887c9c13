# One-command entry points; see README.md.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: venv demo test lint bench clean

venv: $(VENV)/.installed

# Everything is installed with --no-deps from fully pinned lists: mendeley 0.3.2 declares 2015 pins
# that do not import on current Python, so pip must not resolve its metadata.
$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --no-deps -r requirements.txt -r requirements-dev.txt
	touch $@

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

test: lint
	$(PY) -m pytest -q tests

demo: venv
	$(PY) bench/demo.py

bench: venv
	$(PY) bench/bench.py

clean:
	rm -rf $(VENV) demo-backup demo-state .pytest_cache .ruff_cache
