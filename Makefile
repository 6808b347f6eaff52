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

# -qq: pip and setuptools say nothing unless something fails (a newcomer's first screen is Sparky's).
PIP := $(BIN)/pip install -qq --disable-pip-version-check

$(BIN)/python: | check-python
	@echo "creating $(VENV) with $(PYTHON)"
	@$(PYTHON) -m venv $(VENV)
	@$(PIP) --upgrade pip setuptools wheel

# `make run` needs the runtime dependencies only; `make test` (and `make install`) add the test extras.
$(VENV)/.installed: $(BIN)/python setup.cfg pyproject.toml
	@echo "installing Sparky and its dependencies into $(VENV)"
	@$(PIP) -e .
	@touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	@echo "installing the test extras into $(VENV)"
	@$(PIP) -e '.[test]'
	@touch $@

install: $(VENV)/.installed-test

run: $(VENV)/.installed
	@$(BIN)/sparky up

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

# The suite as it is, then twice more with the whole session's clock moved (tests/timetravel.py): to
# a Sunday 23:30 in Berlin (inside the shipped weekend freeze) and to a Monday inside the shipped
# year-end freeze, each under a time zone far from Berlin's and UTC (README, "Tests").
# The non-slow tests run on every core (pytest-xdist); the `slow` ones (sparky up, real worker
# processes) run alone, one at a time, as they always have: they time their subprocesses. The
# travelled sessions leave them out: time-machine moves the clock of the pytest processes only.
PYTEST := $(BIN)/python -m pytest
SUNDAY_NIGHT := 2026-12-06T23:30:00+01:00
YEAR_END := 2026-12-28T10:00:00+01:00

test: install browser
	$(PYTEST) -n auto -m "not slow"
	$(PYTEST) -m slow
	TZ=America/St_Johns $(PYTEST) -n auto -m "not slow" --travel $(SUNDAY_NIGHT)
	TZ=Pacific/Chatham $(PYTEST) -n auto -m "not slow" --travel $(YEAR_END)

clean:
	rm -rf $(VENV) var .pytest_cache .hypothesis *.egg-info
