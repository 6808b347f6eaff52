"""The two front-door commands as the Makefile spells them (`make -n`: what would run, nothing runs).

`make run` installs the runtime dependencies only, quietly; `make test` runs the whole suite (the
slow tests on their own), then again with the session's clock on a Sunday night and inside the
shipped year-end freeze (issue 11).
"""
from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from router.deploys import calendar
from tests.rules.test_rule_files import RULES

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(not shutil.which("make"), reason="no make on PATH")


def planned(target: str) -> list[str]:
    """The commands `make TARGET` would run on a fresh clone (-B: as if nothing were built)."""
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}  # under make test
    done = subprocess.run(["make", "--no-print-directory", "-n", "-B", target], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def test_make_run_installs_only_what_running_needs_and_quietly():
    pips = [line for line in planned("run") if "pip install" in line]
    assert pips and all(" -qq " in line for line in pips), pips
    assert not [line for line in pips if "[test]" in line], pips
    assert planned("run")[-1].endswith("sparky up")


def test_make_test_installs_the_test_extras():
    assert any("pip install" in line and "-e '.[test]'" in line for line in planned("test"))


def test_make_test_also_runs_the_suite_on_a_sunday_night_and_in_the_year_end_freeze():
    runs = [line for line in planned("test") if "-m pytest" in line]
    assert len(runs) == 4, runs
    assert [run.split("pytest", 1)[1].strip() for run in runs[:2]] == ['-n auto -m "not slow"', "-m slow"]
    frozen = {}
    for run in runs[2:]:
        assert '-m "not slow"' in run
        zone = re.match(r"TZ=(\S+) ", run).group(1)
        assert zone not in ("UTC", "Europe/Berlin", "CET")      # local time is neither Berlin's nor UTC
        when = dt.datetime.fromisoformat(re.search(r"--travel (\S+)", run).group(1))
        freeze = calendar.freeze_at(RULES.data["calendar"], "production", when.timestamp())
        frozen[freeze.reason if freeze else None] = calendar.local(when.timestamp(), RULES.data["calendar"])
    assert set(frozen) == {"weekend", "year-end freeze"}, frozen
    sunday = frozen["weekend"]
    assert (sunday.strftime("%a"), sunday.hour, sunday.minute) == ("Sun", 23, 30)


def test_make_test_installs_prosody_for_the_xmpp_tests_without_starting_its_service():
    script = "\n".join(planned("test"))
    pairs = re.search(r"for pair in ([^;]*); do", script).group(1).split()
    assert "prosodyctl:prosody" in pairs
    # the package's own service stays down while it installs: policy-rc.d forbids starting it
    assert "printf '#!/bin/sh\\nexit 101\\n' > $policy" in script
    assert '[ -z "$policy" ] || rm -f $policy' in script
