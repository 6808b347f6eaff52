"""deploy.yml's `calendar:` — freeze windows, business hours and releases in a named time zone.

    calendar:
      timezone: Europe/Berlin
      releases: ["2026-12-01 14:00"]
      freeze:
        - {from: "2026-12-20", to: "2027-01-04", reason: year-end freeze}       # dates: whole days, `to` included
        - {cron: "0 18 * * fri", duration: 63h, reason: weekend}                 # Fri 18:00 → Mon 09:00
        - {days: mon-fri, start: "12:00", end: "13:00", reason: lunch, environments: [production]}
      business_hours: {days: mon-fri, start: "09:00", end: "18:00"}

Every time is a wall-clock time in the calendar's `timezone` (or the window's own `timezone`),
so windows follow DST: "Fri 18:00 for 63h" ends Monday 09:00 local time even on the weekend the
clocks change (Argo CD's sync windows measured durations in absolute hours and drifted by one,
argo-cd#17750). A local time that does not exist (the hour skipped in spring) is read past the
change (02:30 → 03:30 summer time); one that happens twice (autumn) means its first occurrence.
The weekly windows and the wall-clock rules are the core calendar engine's (router/core/intervals.py,
which the rules' `time_intervals` use too). Pure functions: no Redis.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from croniter import croniter

from router.core import durations, intervals

DAYS = intervals.DAYS


@dataclass(frozen=True)
class Freeze:
    reason: str
    start: dt.datetime
    end: dt.datetime          # exclusive


def zone(calendar: dict, window: dict | None = None) -> ZoneInfo:
    name = (window or {}).get("timezone") or calendar.get("timezone") or "UTC"
    return ZoneInfo(str(name))


days = intervals.day_set          # `mon-fri`, `fri-mon` (wraps), `mon,wed,fri` → Monday 0
_localize = intervals.localize


def moment(text: str, tz: ZoneInfo, end_of_day: bool = False) -> dt.datetime:
    """A calendar date (`2026-12-20`: its start, or with end_of_day the start of the next day) or
    date-time (`2026-12-01 14:00`) in `tz`."""
    text = str(text).strip()
    if len(text) == 10:
        day = dt.date.fromisoformat(text) + dt.timedelta(days=1 if end_of_day else 0)
        return _localize(dt.datetime.combine(day, dt.time()), tz)
    parsed = dt.datetime.fromisoformat(text)
    return parsed.astimezone(tz) if parsed.tzinfo else _localize(parsed, tz)


def _weekly(window: dict, now: float, tz: ZoneInfo) -> tuple[dt.datetime, dt.datetime] | None:
    """The occurrence of a `days/start/end` range containing `now`, if any (the core engine's)."""
    return intervals.weekly(days(window.get("days", "mon-sun")), intervals.clock(window["start"]),
                            intervals.clock(window["end"], allow_24=True), now, tz)


def _cron(window: dict, local: dt.datetime, tz: ZoneInfo) -> tuple[dt.datetime, dt.datetime] | None:
    naive_now = local.replace(tzinfo=None)
    began = croniter(window["cron"], naive_now + dt.timedelta(seconds=1)).get_prev(dt.datetime)
    ends = began + dt.timedelta(seconds=durations.parse(window["duration"]))   # wall-clock duration
    start, end = _localize(began, tz), _localize(ends, tz)
    return (start, end) if start <= local < end else None


def _dates(window: dict, local: dt.datetime, tz: ZoneInfo) -> tuple[dt.datetime, dt.datetime] | None:
    start = moment(window["from"], tz)
    end = moment(window["to"], tz, end_of_day=True)
    return (start, end) if start <= local < end else None


def window_at(window: dict, calendar: dict, now: float) -> tuple[dt.datetime, dt.datetime] | None:
    """(start, end) of the occurrence of `window` in force at `now`, or None."""
    tz = zone(calendar, window)
    local = dt.datetime.fromtimestamp(now, tz)
    if "cron" in window:
        return _cron(window, local, tz)
    if "start" in window:
        return _weekly(window, now, tz)
    return _dates(window, local, tz)


def applies(window: dict, env: str) -> bool:
    envs = window.get("environments")
    return not envs or env in envs


def freeze_at(calendar: dict, env: str, now: float) -> Freeze | None:
    """The freeze window in force for `env` at `now` (the one ending last, when several are)."""
    found = None
    for window in calendar.get("freeze") or []:
        if not applies(window, env):
            continue
        occurrence = window_at(window, calendar, now)
        if occurrence and (found is None or occurrence[1] > found.end):
            found = Freeze(str(window.get("reason") or "deploy freeze"), *occurrence)
    return found


def business_hours(calendar: dict, env: str, now: float) -> bool | None:
    """True inside `business_hours`, False outside, None when the calendar has none (for env)."""
    hours = calendar.get("business_hours")
    if not hours or not applies(hours, env):
        return None
    return _weekly({"days": "mon-fri", **hours}, now, zone(calendar, hours)) is not None


def describe_hours(calendar: dict) -> str:
    hours = calendar.get("business_hours") or {}
    if not hours:
        return ""
    return f"{hours.get('days', 'mon-fri')} {hours['start']}–{hours['end']} {zone(calendar, hours).key}"


def releases(calendar: dict, now: float) -> list[dt.datetime]:
    """The release dates still ahead, soonest first, in the calendar's time zone."""
    tz = zone(calendar)
    current = dt.datetime.fromtimestamp(now, tz)
    ahead = [moment(r, tz) for r in calendar.get("releases") or []]
    return sorted(r for r in ahead if r > current)


def local(now: float, calendar: dict) -> dt.datetime:
    return dt.datetime.fromtimestamp(now, zone(calendar))


def show(moment_: dt.datetime) -> str:
    """`Fri 2026-03-27 18:00 CET`."""
    return f"{moment_:%a %Y-%m-%d %H:%M} {moment_.tzname()}"
