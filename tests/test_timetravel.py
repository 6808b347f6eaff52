"""tests/timetravel.py, the `--travel WHEN` option `make test` uses to run the suite on a Sunday
night and inside the year-end freeze: it moves the clock of the whole session, workers included."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.timetravel import destination

ROOT = Path(__file__).resolve().parent.parent

INNER = """
import datetime as dt
import time

BERLIN_WINTER = dt.timezone(dt.timedelta(hours=1))


def test_sunday_night_in_berlin():
    now = dt.datetime.now(BERLIN_WINTER)
    assert (now.date().isoformat(), now.hour) == ("2026-12-06", 23)
    assert dt.datetime.fromtimestamp(time.time(), BERLIN_WINTER).weekday() == 6


def test_the_clock_ticks():
    first = time.time()
    time.sleep(0.02)
    assert time.time() > first
"""


def inner_pytest(tmp_path, *args: str) -> subprocess.CompletedProcess:
    (tmp_path / "conftest.py").write_text('pytest_plugins = ("tests.timetravel",)\n')
    (tmp_path / "test_when.py").write_text(INNER)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TZ": "Pacific/Chatham"}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
                           "-c", os.devnull, "--rootdir", str(tmp_path), str(tmp_path), *args],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)


def test_travel_moves_the_sessions_clock_and_it_ticks(tmp_path):
    moved = inner_pytest(tmp_path, "-v", "--travel", "2026-12-06T23:30:00+01:00")
    assert moved.returncode == 0, moved.stdout + moved.stderr
    assert "2 passed" in moved.stdout
    assert ("time travel: the session starts at 2026-12-06T23:30:00+01:00 (TZ='Pacific/Chatham'"
            in moved.stdout)


def test_elsewhere_in_time_the_inner_test_fails(tmp_path):
    monday = inner_pytest(tmp_path, "--travel", "2026-12-07T10:00:00+01:00")
    assert "1 failed, 1 passed" in monday.stdout, monday.stdout


def test_a_destination_needs_its_utc_offset(tmp_path):
    naive = inner_pytest(tmp_path, "--travel", "2026-12-06T23:30")
    assert naive.returncode == 4
    assert "--travel 2026-12-06T23:30: give the UTC offset" in naive.stderr


def test_this_session_runs_where_travel_put_it(request):
    """In `make test`'s travelled sessions (each xdist worker too), the clock is at the destination."""
    text = request.config.getoption("travel")
    if not text:
        pytest.skip("this session was not given --travel")
    start = destination(text).timestamp()
    assert start <= time.time() < start + 6 * 3600
