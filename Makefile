# Two commands on a fresh machine: `make run` and `make test`. Both create .venv as needed.
# durable-rules 2.0.28 ships only as source (needs a C compiler) and does not import on 3.13+.
PYTHON ?= $(shell for p in python3.12 python3.11 python3; do \
	if command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(not (3,11) <= sys.version_info[:2] <= (3,12))' 2>/dev/null; \
	then command -v $$p; break; fi; done)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test install check-python clean

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

test: install
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) var .pytest_cache .hypothesis *.egg-info
