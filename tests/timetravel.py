"""`--travel WHEN`: run the whole test session with the clock moved to WHEN, ticking from there.

    python -m pytest --travel 2026-12-06T23:30:00+01:00 -m "not slow"    # a Sunday night in Berlin

Proof that no test depends on the day it runs (issue 11 §1): `make test` runs the suite as it is,
then again on a Sunday at 23:30 Europe/Berlin (inside the shipped weekend freeze, outside business
hours, a minute before the date changes in Berlin and in UTC at different moments) and on a working
day inside the shipped year-end freeze, with TZ set to a zone far from both.

time-machine moves the clock of this process only (time.time, datetime.now, …; not
time.monotonic, so sleeps and timeouts still work; Debian's `faketime` hangs them). Subprocesses
(`sparky up`, real worker processes) keep the real clock, which is why `make test` deselects the
`slow` tests in the travelled sessions. WHEN must carry its UTC offset: a fixed offset leaves the
process's time zone alone (a ZoneInfo destination would set TZ, hiding code that reads local time).
"""
from __future__ import annotations

import datetime as dt

import pytest

_travel = None


def pytest_addoption(parser):
    parser.addoption("--travel", metavar="WHEN", default=None,
                     help="run the session with the clock moved to WHEN (ISO 8601 with a UTC offset), "
                          "ticking from there")


def destination(text: str) -> dt.datetime:
    when = dt.datetime.fromisoformat(text)
    if when.tzinfo is None:
        raise pytest.UsageError(f"--travel {text}: give the UTC offset, e.g. 2026-12-06T23:30:00+01:00")
    return when


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    global _travel
    text = config.getoption("travel")
    if not text:
        return
    import time_machine

    _travel = time_machine.travel(destination(text), tick=True)
    _travel.start()


def pytest_unconfigure(config):
    global _travel
    if _travel is not None:
        _travel.stop()
        _travel = None


def pytest_report_header(config):
    text = config.getoption("travel")
    if not text:
        return None
    import os
    import time

    return (f"time travel: the session starts at {destination(text).isoformat()} "
            f"(TZ={os.environ.get('TZ', '')!r}, local {time.strftime('%Y-%m-%d %H:%M %Z')})")
