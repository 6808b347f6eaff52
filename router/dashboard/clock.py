"""The request's clock and the reader's time zone: every time on a page comes through here.

`now()` is read once per request, so a page never disagrees with itself ("for 12m" in one row,
"for 13m" in the next) and tests pin it with time_machine. `person_tz()` is the zone of the
person in "You are" (people.yml `tz`, as chat uses for them), else UTC.
"""
from __future__ import annotations

import time
import zoneinfo

from flask import current_app, g

from router.core import people
from router.core.times import zone
from router.dashboard import gate
from router.dashboard.show import UTC


def now() -> float:
    if "sparky_now" not in g:
        g.sparky_now = time.time()
    return g.sparky_now


def person_tz() -> zoneinfo.ZoneInfo:
    if "sparky_tz" not in g:
        name, found = gate.you(), None
        if name:
            entry = people.load(current_app.extensions["sparky"].config.rules_dir).person(name) or {}
            found = zone(str(entry.get("tz", "")))
        g.sparky_tz, g.sparky_tz_personal = found or UTC, found is not None
    return g.sparky_tz


def personal_tz() -> bool:
    """Whether person_tz() is the person's own (people.yml), not the UTC fallback."""
    person_tz()
    return g.sparky_tz_personal
