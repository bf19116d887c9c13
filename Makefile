# One-command entry points; see README.md.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# make install: a private virtual environment and the tool in $(LIBDIR), the command in $(PREFIX)/bin.
PREFIX ?= $(HOME)/.local
LIBDIR := $(PREFIX)/lib/mendeley-backup
COMMAND := $(PREFIX)/bin/mendeley-backup
# What the installed tool is made of: its modules (every .py file here), the pinned packages, the config example.
TOOL_FILES := $(wildcard *.py) requirements.txt mendeley-backup.conf.example LICENSE
CHECK_PREFIX = case "$(PREFIX)" in /*) ;; *) echo "PREFIX must be an absolute path, not $(PREFIX)"; exit 1;; esac
# One line naming the Python needed, instead of pip's failure on the first pin a too old Python cannot install.
CHECK_PYTHON = $(PYTHON) -c "import Bootstrap; Bootstrap.require_python()"

.PHONY: venv demo test lint bench clean install uninstall

venv: $(VENV)/.installed

# Everything is installed with --no-deps from fully pinned lists: mendeley 0.3.2 declares 2015 pins
# that do not import on current Python, so pip must not resolve its metadata.
$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(CHECK_PYTHON)
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

# A fresh copy each time: an upgrade leaves nothing of the version before it. Its modules are byte-compiled here, so
# that no run compiles them again (a run may not be allowed to write there).
install:
	@$(CHECK_PREFIX)
	$(CHECK_PYTHON)
	rm -rf "$(LIBDIR)"
	mkdir -p "$(LIBDIR)" "$(PREFIX)/bin"
	cp $(TOOL_FILES) "$(LIBDIR)/"
	$(PYTHON) -m venv "$(LIBDIR)/.venv"
	"$(LIBDIR)/.venv/bin/python" -m pip install --quiet --no-deps -r "$(LIBDIR)/requirements.txt"
	"$(LIBDIR)/.venv/bin/python" -m compileall -q -l "$(LIBDIR)"
	printf '#!/bin/sh\nexec "%s" "%s" "$$@"\n' "$(LIBDIR)/.venv/bin/python" "$(LIBDIR)/mendeley-backup.py" \
		> "$(COMMAND)"
	chmod 755 "$(COMMAND)"
	@echo "Installed $(COMMAND); try: mendeley-backup --help"

uninstall:
	@$(CHECK_PREFIX)
	rm -rf "$(LIBDIR)" "$(COMMAND)"

clean:
	rm -rf $(VENV) demo-backup demo-state .pytest_cache .ruff_cache
