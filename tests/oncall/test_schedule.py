"""who(schedule, layer, at): rotations across DST changes, custom lengths, overrides — pure, pinned times."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from router.oncall.schedule import Override, now_and_next, schedule_of, shifts, who

BERLIN = ZoneInfo("Europe/Berlin")


def at(text: str, zone: ZoneInfo = BERLIN) -> float:
    return dt.datetime.fromisoformat(text).replace(tzinfo=zone).timestamp()


def local(epoch: float, zone: ZoneInfo = BERLIN) -> str:
    return dt.datetime.fromtimestamp(epoch, zone).strftime("%Y-%m-%d %H:%M %Z")


WEEKLY = schedule_of("ops", {"zone": "Europe/Berlin", "layers": {
    "primary": {"members": ["alice", "bob", "carol"], "start": "2026-01-05", "handoff": "09:00", "length": "weekly"},
    "secondary": {"members": ["bob", "carol", "alice"], "start": "2026-01-05", "handoff": "09:00",
                  "length": "weekly"}}})


def test_weekly_rotation_hands_off_at_the_handoff_time():
    assert who(WEEKLY, "primary", at("2026-01-05T09:00")) == "alice"
    assert who(WEEKLY, "primary", at("2026-01-12T08:59")) == "alice"
    assert who(WEEKLY, "primary", at("2026-01-12T09:00")) == "bob"
    assert who(WEEKLY, "primary", at("2026-01-19T09:00")) == "carol"
    assert who(WEEKLY, "primary", at("2026-01-26T09:00")) == "alice"
    assert who(WEEKLY, "secondary", at("2026-01-26T09:00")) == "bob"
    # before the start the rotation runs backwards
    assert who(WEEKLY, "primary", at("2026-01-05T08:59")) == "carol"


@pytest.mark.parametrize("week_start, hours", [("2026-10-19", 169), ("2026-03-23", 167)])
def test_the_handoff_stays_at_nine_local_across_a_dst_change(week_start, hours):
    """The week of the autumn change is 169 h long, of the spring change 167 h: 09:00 stays 09:00."""
    monday = at(f"{week_start}T12:00")
    found = shifts(WEEKLY, "primary", monday, monday + 14 * 86400)
    changes = [s.start for s in found[1:]]
    assert [local(t)[11:16] for t in changes] == ["09:00", "09:00"]
    assert (changes[1] - changes[0]) / 3600 == 7 * 24
    assert (changes[0] - found[0].start) > 0
    # the shift that spans the change lasted `hours` hours, from Monday 09:00 to Monday 09:00
    spanning = shifts(WEEKLY, "primary", at(f"{week_start}T09:00"), at(f"{week_start}T09:00") + 1)[0]
    current, after = now_and_next(WEEKLY, "primary", spanning.start)
    assert (after.start - current.start) / 3600 == hours
    assert local(after.start)[11:16] == "09:00"


def test_a_pinned_week_crossing_the_autumn_change_hour_by_hour():
    """Every hour from Mon 19 Oct 2026 09:00 CEST to Mon 26 Oct 09:00 CET: one person, then the next."""
    start, end = at("2026-10-19T09:00"), at("2026-10-26T09:00")
    people = {who(WEEKLY, "primary", t) for t in range(int(start), int(end), 3600)}
    assert people == {"carol"}
    assert who(WEEKLY, "primary", end) == "alice"
    assert local(end) == "2026-10-26 09:00 CET" and local(start) == "2026-10-19 09:00 CEST"
    assert (end - start) / 3600 == 169


def test_daily_and_hour_lengths():
    daily = schedule_of("d", {"zone": "America/New_York", "layers": {"primary": {
        "members": ["a", "b"], "start": "2026-03-07", "handoff": "18:30", "length": "daily"}}})
    ny = ZoneInfo("America/New_York")   # clocks go forward on 8 Mar 2026
    assert who(daily, "primary", at("2026-03-07T18:30", ny)) == "a"
    assert who(daily, "primary", at("2026-03-08T18:29", ny)) == "a"
    assert who(daily, "primary", at("2026-03-08T18:30", ny)) == "b"
    assert who(daily, "primary", at("2026-03-09T18:30", ny)) == "a"
    halves = schedule_of("h", {"zone": "UTC", "layers": {"primary": {
        "members": ["day", "night"], "start": "2026-01-01", "handoff": "08:00", "length": "12h"}}})
    utc = ZoneInfo("UTC")
    assert who(halves, "primary", at("2026-06-01T08:00", utc)) == "day"
    assert who(halves, "primary", at("2026-06-01T20:00", utc)) == "night"
    assert who(halves, "primary", at("2026-06-02T07:59", utc)) == "night"


def test_an_override_across_the_dst_change_wins_and_then_the_rotation_resumes():
    override = Override(layer="primary", who="dave", start=at("2026-10-24T09:00"), end=at("2026-10-26T12:00"),
                        made=1.0)
    schedule = WEEKLY.with_overrides([override])
    assert who(schedule, "primary", at("2026-10-24T08:59")) == "carol"
    assert who(schedule, "primary", at("2026-10-25T02:30")) == "dave"    # the hour that happens twice
    assert who(schedule, "primary", at("2026-10-26T09:00")) == "dave"    # over alice's handoff
    assert who(schedule, "primary", at("2026-10-26T12:00")) == "alice"
    assert who(schedule, "secondary", at("2026-10-25T12:00")) == "alice"  # other layers untouched
    found = shifts(schedule, "primary", at("2026-10-23T00:00"), at("2026-10-27T00:00"))
    assert [(s.who, local(s.start)[5:], s.override) for s in found] == [
        ("carol", "10-23 00:00 CEST", False), ("dave", "10-24 09:00 CEST", True), ("alice", "10-26 12:00 CET", False)]
    # the (real) elapsed time of the override: 51 h wall-clock + the hour gained
    assert (override.end - override.start) / 3600 == 52


def test_the_latest_made_override_wins():
    first = Override(layer="primary", who="dave", start=at("2026-05-01T00:00"), end=at("2026-05-03T00:00"), made=1)
    later = Override(layer="primary", who="erin", start=at("2026-05-02T00:00"), end=at("2026-05-02T06:00"), made=2)
    schedule = WEEKLY.with_overrides([later, first])
    assert who(schedule, "primary", at("2026-05-01T12:00")) == "dave"
    assert who(schedule, "primary", at("2026-05-02T03:00")) == "erin"
    assert who(schedule, "primary", at("2026-05-02T07:00")) == "dave"


def test_now_and_next_say_until_when():
    current, later = now_and_next(WEEKLY, "primary", at("2026-02-04T15:00"))
    assert (current.who, later.who) == ("bob", "carol")
    assert local(later.start) == "2026-02-09 09:00 CET"
