"""The calendar engine (router/core/intervals.py): Alertmanager's time intervals and the deploy
calendar's weekly windows, on pinned instants across the daylight-saving changes of
Europe/Berlin (2026-03-29, 2026-10-25) and America/New_York (2026-03-08, 2026-11-01)."""
from __future__ import annotations

import datetime as dt

import pytest

from router.core import intervals
from router.core.intervals import IntervalError


def at(text: str) -> float:
    """An instant written in UTC."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.timezone.utc).timestamp()


def holds(entry: dict, when: str) -> bool:
    return intervals.entry(entry).holds(at(when))


BERLIN_OFFICE = {"times": [{"start_time": "09:00", "end_time": "17:00"}], "weekdays": ["monday:friday"],
                 "location": "Europe/Berlin"}


@pytest.mark.parametrize("when, expected", [
    ("2026-03-27 07:59", False),   # Fri 08:59 CET
    ("2026-03-27 08:00", True),    # Fri 09:00 CET
    ("2026-03-27 15:59", True),    # Fri 16:59 CET
    ("2026-03-27 16:00", False),   # Fri 17:00 CET: end_time is not included
    ("2026-03-28 10:00", False),   # Saturday
    ("2026-03-30 07:00", True),    # Mon 09:00 CEST (one hour earlier in UTC after the change)
    ("2026-03-30 15:30", False),   # Mon 17:30 CEST (16:30 on a fixed CET offset: would be wrongly inside)
    ("2026-10-26 07:30", False),   # Mon 08:30 CET, after the autumn change
    ("2026-10-26 08:00", True),    # Mon 09:00 CET
    ("2026-10-23 15:30", False),   # Fri 17:30 CEST
])
def test_office_hours_follow_berlin_summer_time(when, expected):
    assert holds(BERLIN_OFFICE, when) is expected


@pytest.mark.parametrize("when, expected", [
    ("2026-11-01 05:30", True),    # 01:30 EDT, the first 01:30 of the night
    ("2026-11-01 06:30", True),    # 01:30 EST, the second: the wall clock says 01:30 again
    ("2026-11-01 07:30", False),   # 02:30 EST
    ("2026-03-08 06:59", True),    # 01:59 EST, just before spring forward
    ("2026-03-08 07:00", False),   # 03:00 EDT: 01:00-02:00 is over, 02:00-03:00 never happened
])
def test_new_york_wall_clock_through_both_changes(when, expected):
    night = {"times": [{"start_time": "01:00", "end_time": "02:00"}], "location": "America/New_York"}
    assert holds(night, when) is expected


def test_an_hour_skipped_in_spring_holds_no_instant():
    skipped = {"times": [{"start_time": "02:00", "end_time": "03:00"}], "location": "America/New_York"}
    minutes = [at("2026-03-08 06:00") + 60 * i for i in range(180)]
    assert not any(intervals.entry(skipped).holds(m) for m in minutes)


@pytest.mark.parametrize("when, expected", [
    ("2026-02-28 12:00", True),    # the last day of February 2026
    ("2026-02-27 12:00", True),    # -2
    ("2026-02-26 12:00", False),
    ("2026-03-30 12:00", True),    # March 30 is -2
    ("2028-02-29 12:00", True),    # a leap year's last day
    ("2028-02-28 12:00", True),
    ("2028-02-27 12:00", False),
])
def test_negative_days_of_month_count_from_the_end(when, expected):
    assert holds({"days_of_month": ["-2:-1"]}, when) is expected


def test_days_months_years_weekdays_and_locations():
    assert holds({"days_of_month": ["1:5"]}, "2026-06-05 23:59")
    assert not holds({"days_of_month": ["1:5"]}, "2026-06-06 00:00")
    # 12:30 UTC on the 5th is 00:30 on the 6th in Auckland (NZST, +12): the location's day counts
    assert not holds({"days_of_month": ["1:5"], "location": "Pacific/Auckland"}, "2026-06-05 12:30")
    assert holds({"months": ["december", "1:2"]}, "2026-12-31 10:00")
    assert holds({"months": ["december", "1:2"]}, "2027-02-01 10:00")
    assert not holds({"months": ["december", "1:2"]}, "2027-03-01 10:00")
    assert holds({"years": ["2026:2027"]}, "2027-12-31 23:59")
    assert not holds({"years": ["2026:2027"]}, "2028-01-01 00:00")
    weekend = {"weekdays": ["saturday", "sunday"]}
    assert holds(weekend, "2026-03-29 12:00") and holds(weekend, "2026-03-28 12:00")
    assert not holds(weekend, "2026-03-30 12:00")
    assert holds({"weekdays": ["sunday:saturday"]}, "2026-03-30 12:00")   # Alertmanager's Sunday-first week
    # Friday 23:30 UTC is already Saturday in Berlin
    assert holds({"weekdays": ["saturday"], "location": "Europe/Berlin"}, "2026-03-27 23:30")
    assert holds({}, "2026-03-27 23:30")                                    # an empty entry: always


def test_named_intervals_hold_when_any_entry_does():
    raw = [{"name": "weekends", "time_intervals": [{"weekdays": ["saturday", "sunday"]}]},
           {"name": "nights", "time_intervals": [{"times": [{"start_time": "00:00", "end_time": "06:00"}]},
                                                 {"times": [{"start_time": "22:00", "end_time": "24:00"}]}]}]
    assert intervals.active(raw, at("2026-03-28 23:00")) == {"weekends", "nights"}
    assert intervals.active(raw, at("2026-03-30 23:00")) == {"nights"}
    assert intervals.active(raw, at("2026-03-30 12:00")) == frozenset()
    assert intervals.holds(raw, "nights", at("2026-03-30 05:59")) and not intervals.holds(raw, "x", 0)


@pytest.mark.parametrize("entry, message", [
    ({"times": [{"start_time": "17:00", "end_time": "09:00"}]}, "start_time 17:00 is not before end_time 09:00"),
    ({"times": [{"start_time": "9", "end_time": "10:00"}]}, 'bad time "9"'),
    ({"times": [{"start_time": "00:00", "end_time": "24:01"}]}, 'bad time "24:01"'),
    ({"times": [{"start": "00:00", "end_time": "01:00"}]}, "each is {start_time"),
    ({"weekdays": ["saturday:sunday"]}, '"saturday:sunday" starts after it ends'),
    ({"weekdays": ["mon"]}, 'unknown name "mon"'),
    ({"days_of_month": ["0"]}, "days are 1 to 31"),
    ({"days_of_month": ["-1:5"]}, '"-1:5" starts after it ends'),
    ({"months": ["13"]}, '"13" is out of range'),
    ({"years": ["twenty"]}, '"twenty" is not a number'),
    ({"location": "Mars/Olympus"}, 'unknown location "Mars/Olympus"'),
    ({"weekday": ["monday"]}, 'unknown key "weekday"'),
])
def test_bad_entries_say_what_is_wrong(entry, message):
    with pytest.raises(IntervalError, match=message.replace("{", r"\{").replace("(", r"\(")):
        intervals.entry(entry)


def test_weekly_overnight_window_across_the_spring_change():
    """The deploy calendar's window Sat 22:00 → Sun 06:00 Berlin: 8 wall-clock hours, 7 real ones."""
    berlin = intervals.tz_named("Europe/Berlin")
    sat = intervals.day_set("sat")
    found = intervals.weekly(sat, intervals.clock("22:00"), intervals.clock("06:00"), at("2026-03-29 03:30"), berlin)
    assert found is not None
    start, end = found
    assert (start.isoformat(), end.isoformat()) == ("2026-03-28T22:00:00+01:00", "2026-03-29T06:00:00+02:00")
    assert end.timestamp() - start.timestamp() == 7 * 3600
    assert intervals.weekly(sat, intervals.clock("22:00"), intervals.clock("06:00"), at("2026-03-29 04:00"),
                            berlin) is None


def test_deploy_days_wrap_around_the_week():
    assert intervals.day_set("fri-mon") == {4, 5, 6, 0}
    with pytest.raises(IntervalError):
        intervals.day_set("fri-funday")


def test_spans_are_the_local_windows_across_both_clock_changes():
    """`spans` (restricted on-call layers use it): 09:00-17:00 Berlin on the Mondays after the
    spring and autumn changes, and a window inside the skipped spring hour starts at the change."""
    import datetime as _dt
    from zoneinfo import ZoneInfo as _Zone

    from router.core.intervals import spans
    berlin = _Zone("Europe/Berlin")
    raw = [{"name": "office", "time_intervals": [{"times": [{"start_time": "09:00", "end_time": "17:00"}],
                                                  "weekdays": ["monday"], "location": "Europe/Berlin"}]},
           {"name": "skipped", "time_intervals": [{"times": [{"start_time": "02:30", "end_time": "04:00"}],
                                                   "location": "Europe/Berlin"}]}]
    for day in ("2026-03-30", "2026-10-26"):
        start = _dt.datetime.fromisoformat(f"{day}T00:00").replace(tzinfo=berlin).timestamp()
        ((a, b),) = spans(raw, "office", start - 3 * 86400, start + 86400)
        assert (_dt.datetime.fromtimestamp(a, berlin).strftime("%H:%M"),
                _dt.datetime.fromtimestamp(b, berlin).strftime("%H:%M")) == ("09:00", "17:00")
    sunday = _dt.datetime(2026, 3, 29, tzinfo=berlin).timestamp()
    ((a, b),) = spans(raw, "skipped", sunday, sunday + 86400)
    assert _dt.datetime.fromtimestamp(a, _dt.timezone.utc).strftime("%H:%M") == "01:00"   # 03:00 CEST, the change
    assert _dt.datetime.fromtimestamp(b, berlin).strftime("%H:%M %Z") == "04:00 CEST"
