"""The one calendar engine: wall-clock windows in a named time zone, for routes and deploys.

Two readers of it:
- named time intervals (Alertmanager's `time_intervals`), used by rules as conditions
  (`during: office-hours`, `not_during: weekends`) and by notifying actions (`mute_during:`):

      time_intervals:
        - name: office-hours
          time_intervals:
            - times: [{start_time: "09:00", end_time: "17:00"}]
              weekdays: ["monday:friday"]
              days_of_month: ["1:10", "-3:-1"]     # negative: from the end of the month, -1 the last day
              months: ["january:march", "12"]
              years: ["2026:2027"]
              location: Europe/Berlin

  A named interval holds when any of its entries does; an entry holds when every field it gives
  does (a field left out allows everything). Ranges are inclusive, except that `end_time` is
  not (09:00-17:00 ends at 16:59:59; `24:00` is the end of the day).
- the deploy calendar (router/deploys/calendar.py): weekly windows (`days: mon-fri, start, end`,
  overnight when end <= start) and dates, with the occurrence's start and end for messages.

Everything is evaluated on the wall clock of the entry's `location` (UTC by default), so windows
follow daylight saving time: "09:00-17:00 Europe/Berlin" is 08:00-16:00 UTC in winter and
07:00-15:00 UTC in summer, and on the day the clocks change it is still 09:00-17:00 local. A local
time that does not exist (the hour skipped in spring) is read past the change (02:30 → 03:30
summer time); one that happens twice (autumn) means its first occurrence (PEP 495 fold=0).
Pure functions: `now` is always given (epoch seconds); nothing here reads the clock.
"""
from __future__ import annotations

import calendar as _calendar
import datetime as dt
import functools
import json
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Alertmanager's numbering: Sunday 0 (so "sunday:saturday" is every day, "saturday:sunday" an error, as there)
WEEKDAYS = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september",
          "october", "november", "december")
ENTRY_KEYS = ("times", "weekdays", "days_of_month", "months", "years", "location")


class IntervalError(ValueError):
    """A time interval that cannot be used; the message says which part and why."""


# -- wall clocks ---------------------------------------------------------------------------------------

def tz_named(name: object) -> ZoneInfo:
    """An IANA time zone (`Europe/Berlin`, `UTC`); IntervalError when unknown."""
    try:
        return ZoneInfo(str(name or "UTC"))
    except (ZoneInfoNotFoundError, ValueError):
        raise IntervalError(f'unknown location "{name}" (use e.g. Europe/Berlin, UTC)') from None


def localize(naive: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    """A wall-clock time in `tz` (fold=0: a skipped spring time reads past the change, a repeated
    autumn time is its first occurrence)."""
    return naive.replace(tzinfo=tz, fold=0)


def local(now: float, tz: ZoneInfo) -> dt.datetime:
    return dt.datetime.fromtimestamp(now, tz)


def clock(text: object, allow_24: bool = False) -> int:
    """`HH:MM` as minutes of the day; `24:00` only where allowed (an end)."""
    try:
        hours, minutes = (int(p) for p in str(text).strip().split(":"))
    except ValueError:
        raise IntervalError(f'bad time "{text}" (use HH:MM, e.g. 09:00)') from None
    total = hours * 60 + minutes
    if not (0 <= minutes < 60 and 0 <= hours and (total < 24 * 60 or (allow_24 and total == 24 * 60))):
        raise IntervalError(f'bad time "{text}" (00:00 to {"24:00" if allow_24 else "23:59"})')
    return total


def day_set(spec: str) -> frozenset[int]:
    """The deploy calendar's days: `mon-fri`, `fri`, `fri-mon` (wraps), `mon,wed,fri` → Monday 0."""
    out: set[int] = set()
    for part in str(spec).lower().replace(" ", "").split(","):
        first, _, last = part.partition("-")
        if first not in DAYS or (last and last not in DAYS):
            raise IntervalError(f'bad days "{spec}" (use e.g. mon-fri, sat-sun, mon,wed,fri)')
        a = DAYS.index(first)
        b = DAYS.index(last) if last else a
        i = a
        while True:
            out.add(i)
            if i == b:
                break
            i = (i + 1) % 7
    return frozenset(out)


def weekly(days: frozenset[int], start: int, end: int, now: float,
           tz: ZoneInfo) -> tuple[dt.datetime, dt.datetime] | None:
    """The occurrence of a weekly window (`days`, `start`-`end` minutes of the day; overnight from
    a listed day when end <= start) containing `now`, as aware (start, end); None outside it."""
    span = end - start if end > start else end + 24 * 60 - start
    moment = local(now, tz)
    naive_now = moment.replace(tzinfo=None)
    midnight = naive_now.replace(hour=0, minute=0, second=0, microsecond=0)
    for back in (0, 1):
        day = midnight - dt.timedelta(days=back)
        if day.weekday() not in days:
            continue
        begin = day + dt.timedelta(minutes=start)
        finish = begin + dt.timedelta(minutes=span)
        if localize(begin, tz) <= moment < localize(finish, tz):
            return localize(begin, tz), localize(finish, tz)
    return None


# -- Alertmanager's time intervals ----------------------------------------------------------------------

def _ranges(values: object, what: str, read, low: int, high: int) -> tuple[tuple[int, int], ...]:
    if not isinstance(values, list) or not values:
        raise IntervalError(f"{what}: a non-empty list, e.g. {_EXAMPLES[what]}")
    out = []
    for value in values:
        text = str(value).strip().lower()
        first, sep, last = text.partition(":")
        a = read(first, what)
        b = read(last, what) if sep else a
        if not (low <= a <= high and low <= b <= high):
            raise IntervalError(f'{what}: "{value}" is out of range')
        if a > b:
            raise IntervalError(f'{what}: "{value}" starts after it ends')
        out.append((a, b))
    return tuple(out)


_EXAMPLES = {"weekdays": '["monday:friday"]', "days_of_month": '["1:5", "-1"]', "months": '["january:march"]',
             "years": '["2026:2027"]', "times": '[{start_time: "09:00", end_time: "17:00"}]'}


def _named(names: tuple[str, ...]):
    def read(text: str, what: str) -> int:
        if text in names:
            return names.index(text) + (1 if names is MONTHS else 0)
        if names is MONTHS and text.isdigit():
            return int(text)
        raise IntervalError(f'{what}: unknown name "{text}" (e.g. {names[0]})')
    return read


def _number(text: str, what: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise IntervalError(f'{what}: "{text}" is not a number') from None


def _days_of_month(values: object) -> tuple[tuple[int, int], ...]:
    if not isinstance(values, list) or not values:
        raise IntervalError(f"days_of_month: a non-empty list, e.g. {_EXAMPLES['days_of_month']}")
    out = []
    for value in values:
        first, sep, last = str(value).strip().partition(":")
        a = _number(first, "days_of_month")
        b = _number(last, "days_of_month") if sep else a
        for n in (a, b):
            if n == 0 or not -31 <= n <= 31:
                raise IntervalError(f'days_of_month: "{value}": days are 1 to 31, or -1 (the last) to -31')
        # As Alertmanager checks it: a negative day counts back from a 30-day month.
        if (a if a > 0 else 30 + a) > (b if b > 0 else 30 + b):
            raise IntervalError(f'days_of_month: "{value}" starts after it ends')
        out.append((a, b))
    return tuple(out)


@dataclass(frozen=True)
class Entry:
    """One entry of a named interval; an empty tuple allows everything."""

    times: tuple[tuple[int, int], ...] = ()
    weekdays: tuple[tuple[int, int], ...] = ()
    days_of_month: tuple[tuple[int, int], ...] = ()
    months: tuple[tuple[int, int], ...] = ()
    years: tuple[tuple[int, int], ...] = ()
    location: str = "UTC"

    def holds(self, now: float) -> bool:
        moment = local(now, ZoneInfo(self.location))
        if self.years and not any(a <= moment.year <= b for a, b in self.years):
            return False
        if self.months and not any(a <= moment.month <= b for a, b in self.months):
            return False
        if self.days_of_month:
            last = _calendar.monthrange(moment.year, moment.month)[1]

            def day(n: int) -> int:
                return min(max(n if n > 0 else last + n + 1, 1), last)
            if not any(day(a) <= moment.day <= day(b) for a, b in self.days_of_month):
                return False
        weekday = (moment.weekday() + 1) % 7          # Sunday 0
        if self.weekdays and not any(a <= weekday <= b for a, b in self.weekdays):
            return False
        if self.times:
            minute = moment.hour * 60 + moment.minute
            if not any(a <= minute < b for a, b in self.times):
                return False
        return True


def _times(values: object) -> tuple[tuple[int, int], ...]:
    if not isinstance(values, list) or not values:
        raise IntervalError(f"times: a non-empty list, e.g. {_EXAMPLES['times']}")
    out = []
    for value in values:
        if not isinstance(value, dict) or set(value) != {"start_time", "end_time"}:
            raise IntervalError('times: each is {start_time: "HH:MM", end_time: "HH:MM"}')
        a, b = clock(value["start_time"]), clock(value["end_time"], allow_24=True)
        if a >= b:
            raise IntervalError(f'times: start_time {value["start_time"]} is not before end_time {value["end_time"]}')
        out.append((a, b))
    return tuple(out)


def entry(raw: object) -> Entry:
    """One entry as written; IntervalError names the part that is wrong."""
    if not isinstance(raw, dict):
        raise IntervalError("each entry is a map of times, weekdays, days_of_month, months, years, location")
    unknown = [k for k in raw if k not in ENTRY_KEYS]
    if unknown:
        raise IntervalError(f'unknown key "{unknown[0]}" (known: {", ".join(ENTRY_KEYS)})')
    return Entry(
        times=_times(raw["times"]) if "times" in raw else (),
        weekdays=_ranges(raw["weekdays"], "weekdays", _named(WEEKDAYS), 0, 6) if "weekdays" in raw else (),
        days_of_month=_days_of_month(raw["days_of_month"]) if "days_of_month" in raw else (),
        months=_ranges(raw["months"], "months", _named(MONTHS), 1, 12) if "months" in raw else (),
        years=_ranges(raw["years"], "years", _number, 1, 9999) if "years" in raw else (),
        location=tz_named(raw.get("location") or "UTC").key)


@functools.lru_cache(maxsize=32)
def _parsed(raw: str) -> dict[str, tuple[Entry, ...]]:
    return {item["name"]: tuple(entry(e) for e in item.get("time_intervals") or [{}])
            for item in json.loads(raw)}


def named(raw: list | None) -> dict[str, tuple[Entry, ...]]:
    """The rule files' `time_intervals:` (already checked when they loaded) by name."""
    return _parsed(json.dumps(raw or [], sort_keys=True)) if raw else {}


def active(raw: list | None, now: float) -> frozenset[str]:
    """The names of the intervals that hold at `now`."""
    return frozenset(name for name, entries in named(raw).items() if any(e.holds(now) for e in entries))


def holds(raw: list | None, name: str, now: float) -> bool:
    return any(e.holds(now) for e in named(raw).get(name, ()))


def _edges(e: Entry, start: float, end: float) -> set[float]:
    """Moments in (start, end) where entry `e` may change between holding and not: each local
    midnight and each `times` boundary, both readings of a repeated autumn time, and the change
    itself when the clocks move (a boundary in the skipped spring hour starts there)."""
    tz = ZoneInfo(e.location)
    out: set[float] = set()
    minutes = sorted({m for a, b in e.times for m in (a, b) if 0 < m < 1440})
    day = local(start, tz).date() - dt.timedelta(days=1)
    last = local(end, tz).date() + dt.timedelta(days=1)
    while day <= last:
        midnight = dt.datetime.combine(day, dt.time(), tzinfo=tz)
        after = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=tz)
        out.add(midnight.timestamp())
        for m in minutes:
            naive = dt.datetime.combine(day, dt.time(m // 60, m % 60))
            out.update((naive.replace(tzinfo=tz, fold=0).timestamp(), naive.replace(tzinfo=tz, fold=1).timestamp()))
        if midnight.utcoffset() != after.utcoffset():     # the clocks move this day: find the minute
            lo, hi = midnight.timestamp(), after.timestamp()
            while hi - lo > 60:
                mid = (lo + hi) // 2
                if local(mid, tz).utcoffset() == midnight.utcoffset():
                    lo = mid
                else:
                    hi = mid
            out.add(hi)
        day += dt.timedelta(days=1)
    return {t for t in out if start < t < end}


def spans(raw: list | None, name: str, start: float, end: float) -> list[tuple[float, float]]:
    """The periods within [start, end) during which interval `name` holds, in order."""
    entries = named(raw).get(name, ())
    cuts = sorted({start, end, *(t for e in entries for t in _edges(e, start, end))})
    out: list[tuple[float, float]] = []
    for a, b in zip(cuts, cuts[1:]):
        if any(e.holds(a) for e in entries):
            if out and out[-1][1] == a:
                out[-1] = (out[-1][0], b)
            else:
                out.append((a, b))
    return out
