"""Freeze windows and business hours in a named time zone, table-driven, across both DST changes.

Europe/Berlin: clocks go forward 2026-03-29 02:00 → 03:00, back 2026-10-25 03:00 → 02:00.
"""
from __future__ import annotations

import datetime as dt

import pytest

from router.deploys import calendar


def at(text: str) -> float:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


CAL = {
    "timezone": "Europe/Berlin",
    "freeze": [
        {"from": "2026-12-20", "to": "2027-01-04", "reason": "year-end"},
        {"cron": "0 18 * * fri", "duration": "63h", "reason": "weekend", "environments": ["production"]},
        {"days": "mon-fri", "start": "12:00", "end": "13:00", "reason": "lunch", "environments": ["production"]},
        {"days": "sat", "start": "22:00", "end": "02:00", "reason": "maintenance night",
         "timezone": "America/New_York"},
    ],
    "business_hours": {"days": "mon-fri", "start": "09:00", "end": "18:00"},
    "releases": ["2026-12-01 14:00", "2026-03-01 14:00"],
}


@pytest.mark.parametrize("when, env, reason", [
    ("2026-12-19T22:59:00Z", "staging", None),            # 23:59 CET on the 19th
    ("2026-12-19T23:00:00Z", "staging", "year-end"),      # 00:00 CET on the 20th
    ("2027-01-04T22:59:00Z", "staging", "year-end"),      # 23:59 on the 4th: `to` is included
    ("2027-01-04T23:00:00Z", "staging", None),
    ("2026-03-27T17:00:00Z", "production", "weekend"),    # Fri 18:00 CET
    ("2026-03-27T17:00:00Z", "staging", None),            # only production is frozen
    ("2026-03-30T06:59:00Z", "production", "weekend"),    # Mon 08:59 CEST, after the spring change
    ("2026-03-30T07:00:00Z", "production", None),         # Mon 09:00 CEST: 62 real hours after Friday 18:00
    ("2026-10-26T07:59:00Z", "production", "weekend"),    # Mon 08:59 CET, after the autumn change
    ("2026-10-26T08:00:00Z", "production", None),         # Mon 09:00 CET: 64 real hours
    ("2026-03-31T10:30:00Z", "production", "lunch"),      # Tue 12:30 CEST
    ("2026-03-24T10:30:00Z", "production", None),         # Tue 11:30 CET: the same UTC time a week earlier
    ("2026-03-29T03:30:00Z", "staging", "maintenance night"),  # Sat 23:30 EDT in New York
    ("2026-03-29T05:30:00Z", "staging", "maintenance night"),  # Sun 01:30 EDT: overnight into Sunday
    ("2026-03-29T06:30:00Z", "staging", None),             # Sun 02:30 EDT
])
def test_freeze_windows(when, env, reason):
    found = calendar.freeze_at(CAL, env, at(when))
    assert (found.reason if found else None) == reason


def test_a_freeze_says_when_it_ends_in_local_time():
    found = calendar.freeze_at(CAL, "production", at("2026-03-28T12:00:00Z"))
    assert calendar.show(found.end) == "Mon 2026-03-30 09:00 CEST"


@pytest.mark.parametrize("when, inside", [
    ("2026-03-23T07:30:00Z", False),   # Mon 08:30 CET
    ("2026-03-30T07:30:00Z", True),    # Mon 09:30 CEST: the same UTC time, after the change
    ("2026-03-30T15:59:00Z", True),    # 17:59 CEST
    ("2026-03-30T16:00:00Z", False),   # 18:00 CEST
    ("2026-03-28T10:00:00Z", False),   # Saturday
])
def test_business_hours(when, inside):
    assert calendar.business_hours(CAL, "production", at(when)) is inside


def test_no_business_hours_means_no_answer():
    assert calendar.business_hours({"timezone": "UTC"}, "production", at("2026-03-28T10:00:00Z")) is None


def test_days():
    assert calendar.days("mon-fri") == {0, 1, 2, 3, 4}
    assert calendar.days("fri-mon") == {4, 5, 6, 0}
    assert calendar.days("mon,wed,sat-sun") == {0, 2, 5, 6}


def test_releases_ahead_in_order():
    ahead = calendar.releases(CAL, at("2026-06-01T00:00:00Z"))
    assert [calendar.show(r) for r in ahead] == ["Tue 2026-12-01 14:00 CET"]
