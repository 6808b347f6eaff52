# Two commands on a fresh machine: `make run` and `make test`. Both create .venv as needed.
# durable-rules 2.0.28 ships only as source (needs a C compiler) and does not import on 3.13+.
PYTHON ?= $(shell for p in python3.12 python3.11 python3; do \
	if command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(not (3,11) <= sys.version_info[:2] <= (3,12))' 2>/dev/null; \
	then command -v $$p; break; fi; done)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test install check-python clean browser

check-python:
	@if [ -z "$(PYTHON)" ]; then \
	  echo "Sparky needs Python 3.11 or 3.12 (durable-rules 2.0.28 does not import on 3.13+)."; \
	  echo "Install one of them, or run: make PYTHON=/path/to/python3.12 ..."; exit 1; fi
	@command -v cc >/dev/null 2>&1 || command -v gcc >/dev/null 2>&1 || { \
	  echo "Sparky needs a C compiler (gcc): durable-rules is built from source."; exit 1; }

$(BIN)/python: | check-python
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip setuptools wheel

$(VENV)/.installed: $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $@

install: $(VENV)/.installed

run: install
	$(BIN)/sparky up

# The dashboard's browser tests drive the system's Chromium (Playwright's own download may be
# unreachable). Installed here when missing and we may (root with apt); otherwise they skip, saying so.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing chromium for the dashboard's browser tests"; \
	    apt-get install -y -q chromium >/dev/null 2>&1 || { apt-get update -q >/dev/null 2>&1 && \
	      apt-get install -y -q chromium >/dev/null 2>&1; } || \
	      echo "could not install chromium: the browser tests will be skipped"; \
	  else echo "no chromium on PATH: the browser tests will be skipped (apt-get install chromium)"; fi; }

test: install browser
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) var .pytest_cache .hypothesis *.egg-info
