# Two commands on a fresh machine: `make run` and `make test`. Both create .venv as needed.
# durable-rules 2.0.28 ships only as source (needs a C compiler) and does not import on 3.13+.
PYTHON ?= $(shell for p in python3.12 python3.11 python3; do \
	if command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(not (3,11) <= sys.version_info[:2] <= (3,12))' 2>/dev/null; \
	then command -v $$p; break; fi; done)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test install check-python clean browser system-programs

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

# Real third-party programs the tests drive, from Debian's packages: `command package` per line.
# Installed when missing and we may (root with apt); otherwise their tests skip, saying what to
# install. Add a program here when a test starts driving one. A package's own service (Prosody's)
# is not started by the install: a policy-rc.d that forbids it is in place meanwhile.
#   chromium: the dashboard's browser tests (Playwright drives the system's Chromium; its own
#             download may be unreachable)
#   amtool:   Alertmanager's CLI against Sparky's API v2 (tests/api/test_amtool.py), and the real
#             Alertmanager the snooze write-back is tested against (prometheus-alertmanager has both)
#   prosodyctl: the XMPP tests start a throwaway Prosody of their own (tests/chat/xmpp/prosody.py);
#             the package's own service is kept from starting (policy-rc.d, below)
SYSTEM_PROGRAMS := chromium:chromium amtool:prometheus-alertmanager prosodyctl:prosody

system-programs:
	@for pair in $(SYSTEM_PROGRAMS); do \
	  cmd=$${pair%%:*}; pkg=$${pair#*:}; \
	  command -v $$cmd >/dev/null 2>&1 && continue; \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing $$pkg (Debian package) for the tests that drive $$cmd"; \
	    policy=""; if [ ! -e /usr/sbin/policy-rc.d ]; then policy=/usr/sbin/policy-rc.d; \
	      printf '#!/bin/sh\nexit 101\n' > $$policy && chmod +x $$policy; fi; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$pkg >/dev/null 2>&1 || \
	      { apt-get update -q >/dev/null 2>&1 && \
	        DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$pkg >/dev/null 2>&1; } || \
	      echo "could not install $$pkg: the tests that drive $$cmd will be skipped"; \
	    [ -z "$$policy" ] || rm -f $$policy; \
	  else echo "no $$cmd on PATH: its tests will be skipped (apt-get install $$pkg)"; fi; \
	done

# kept for muscle memory: the browser is one of the system programs
browser: system-programs

PYTEST := $(BIN)/python -m pytest
SUNDAY_NIGHT := 2026-12-06T23:30:00+01:00
YEAR_END := 2026-12-28T10:00:00+01:00

test: install system-programs
	$(PYTEST) -n auto -m "not slow"
	$(PYTEST) -m slow
	TZ=America/St_Johns $(PYTEST) -n auto -m "not slow" --travel $(SUNDAY_NIGHT)
	TZ=Pacific/Chatham $(PYTEST) -n auto -m "not slow" --travel $(YEAR_END)

clean:
	rm -rf $(VENV) var .pytest_cache .hypothesis *.egg-info
