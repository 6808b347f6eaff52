"""Durations and end times, as rule files and people write them — one grammar for both.

Rule files: `30s`, `10m`, `2h`, `14d`, `1w`, or combined (`1h30m`) — `parse`, and the `Duration`
marshmallow field. Chat adds words and end times: `2 hours`, `90 min`, `until 18:00`, `until
tomorrow 09:00`, `until friday 17:00`, `until 2026-03-05 18:00` in the caller's time zone —
`seconds_of` and `resolve`. Both read numbers and units through `_seconds`.

Choices where SPEC is silent (chat):
- `until 18:00` when 18:00 has passed today is refused (say `until tomorrow 18:00`), rather
  than silently meaning tomorrow: a snooze that is 24 h longer than meant is the worse mistake.
- A time that does not exist on that day (the hour skipped when clocks go forward) is refused;
  an hour that happens twice (clocks go back) means its first occurrence.
- `until tomorrow` with no time is refused: "tomorrow" at 00:00 is rarely what anyone means.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from marshmallow import ValidationError, fields

from router.core.outcomes import Permanent

UNITS = {"s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1,
         "m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60,
         "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600,
         "d": 86400, "day": 86400, "days": 86400,
         "w": 604800, "wk": 604800, "week": 604800, "weeks": 604800}
COMPACT = re.compile(r"^(?:\d+(?:\.\d+)?[smhdw])+$")
COMPACT_PART = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")
WORDS = re.compile(r"(\d+(?:\.\d+)?)\s*([a-z]+)")
CLOCK = re.compile(r"^(\d{1,2})(?::(\d{2}))?\s*(am|pm)?$")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
HINT = "use e.g. 30s, 10m, 2h, 14d"
CHAT_HINT = "use e.g. `for 30m`, `for 2h`, `for 1d`, `until 18:00` or `until tomorrow 09:00`"
MAX_SECONDS = 366 * 86400   # beyond any guardrail; keeps arithmetic and dates sane


def _seconds(text: str, words: bool) -> float | None:
    """Seconds in `1h30m` (and, with `words`, `2 hours`, `90 min`); None when it is neither."""
    compact = text.strip().lower()
    if words:
        compact = compact.replace(" ", "")
    if compact and COMPACT.match(compact):
        return sum(float(n) * UNITS[u] for n, u in COMPACT_PART.findall(compact))
    if words:
        match = WORDS.fullmatch(text.strip().lower())
        if match and match.group(2) in UNITS:
            return float(match.group(1)) * UNITS[match.group(2)]
    return None


# -- rule files ------------------------------------------------------------------------------------

def parse(text: object) -> float:
    """Seconds in a rule file's duration; ValueError naming the bad value otherwise."""
    seconds = _seconds(text, words=False) if isinstance(text, str) else None
    if seconds is None:
        raise ValueError(f'bad duration "{text}" ({HINT})')
    if seconds <= 0:
        raise ValueError(f'bad duration "{text}" (must be more than 0)')
    return seconds


def is_duration(text: object) -> bool:
    try:
        parse(text)
    except ValueError:
        return False
    return True


def seconds(value: object) -> float:
    """A duration as rule files write it ("30s", "1h30m", see router/core/durations.py) or a number."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    try:
        return parse(str(value))
    except ValueError as exc:
        raise Permanent(str(exc)) from None


class Duration(fields.Field):
    """A marshmallow field holding a duration string; loads to the string, validated."""

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            parse(value)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None
        return value


# -- chat ------------------------------------------------------------------------------------------

class DurationError(ValueError):
    """A duration or end time that cannot be used; the message says why and what would work."""


@dataclass(frozen=True)
class Until:
    ends_at: float         # epoch seconds
    seconds: float         # from now
    written: str           # as the caller wrote it


def seconds_of(text: str) -> float:
    """`30m`, `1h30m`, `2 hours`, `90 min` → seconds; DurationError otherwise."""
    total = _seconds(text, words=True)
    if total is None:
        raise DurationError(f'"{text}" is not a duration: {CHAT_HINT}')
    if total <= 0:
        raise DurationError(f'"{text}" is not a duration: it must be longer than 0')
    if total > MAX_SECONDS:
        raise DurationError(f'"{text}" is too long: a snooze lasts at most a year')
    return total


def _clock(text: str) -> dt.time:
    match = CLOCK.match(text.strip().lower())
    if not match:
        raise DurationError(f'"{text}" is not a time of day: write 18:00 or 6pm')
    hour, minute, half = int(match.group(1)), int(match.group(2) or 0), match.group(3)
    if half:
        if not 1 <= hour <= 12:
            raise DurationError(f'"{text}" is not a time of day')
        hour = hour % 12 + (12 if half == "pm" else 0)
    if hour > 23 or minute > 59:
        raise DurationError(f'"{text}" is not a time of day')
    return dt.time(hour, minute)


def _local(day: dt.date, at: dt.time, tz: ZoneInfo) -> dt.datetime:
    moment = dt.datetime.combine(day, at, tzinfo=tz)
    # A wall time skipped by a DST change does not survive a round trip through UTC.
    back = moment.astimezone(dt.timezone.utc).astimezone(tz)
    if (back.hour, back.minute) != (at.hour, at.minute):
        raise DurationError(f"{at:%H:%M} does not exist on {day:%Y-%m-%d} in {tz.key} (clocks go forward)")
    return moment


def _end_time(words: list[str], now: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    text = " ".join(words).strip().lower()
    today = now.astimezone(tz).date()
    if not text:
        raise DurationError(f"until when? {CHAT_HINT}")
    match = re.fullmatch(r"(\d{4}-\d{2}-\d{2})(?:[ t](\S+))?", text)
    if match:
        try:
            day = dt.date.fromisoformat(match.group(1))
        except ValueError:
            raise DurationError(f'"{match.group(1)}" is not a date') from None
        return _local(day, _clock(match.group(2)) if match.group(2) else dt.time(0, 0), tz)
    head, _, rest = text.partition(" ")
    if head in ("today", "tonight"):
        return _local(today, _clock(rest), tz) if rest else _missing_time(head)
    if head == "tomorrow":
        return _local(today + dt.timedelta(days=1), _clock(rest), tz) if rest else _missing_time(head)
    names = [d for d in WEEKDAYS if d.startswith(head) and len(head) >= 3]
    if names:
        if not rest:
            return _missing_time(names[0])
        ahead = (WEEKDAYS.index(names[0]) - today.weekday()) % 7 or 7
        return _local(today + dt.timedelta(days=ahead), _clock(rest), tz)
    moment = _local(today, _clock(text), tz)
    if moment <= now:
        raise DurationError(f"{moment:%H:%M} has passed today ({tz.key}): say `until tomorrow {moment:%H:%M}`")
    return moment


def _missing_time(day: str) -> dt.datetime:
    raise DurationError(f"until {day} at what time? e.g. `until {day} 09:00`")


def resolve(words: list[str], now: float, tz: ZoneInfo, keyword: str = "for") -> Until:
    """The end of a snooze from the words after `for` (a duration) or `until` (a time)."""
    written = " ".join(words).strip()
    if keyword == "for" and words and words[0].lower() == "until":
        keyword, words = "until", words[1:]
    if keyword == "until":
        start = dt.datetime.fromtimestamp(now, dt.timezone.utc)
        end = _end_time(words, start, tz)
        seconds = end.timestamp() - now
        if seconds <= 0:
            raise DurationError(f"{end:%Y-%m-%d %H:%M} {tz.key} is in the past")
        if seconds > MAX_SECONDS:
            raise DurationError(f"{end:%Y-%m-%d %H:%M} is too far away: a snooze lasts at most a year")
        return Until(end.timestamp(), seconds, f"until {written}" if not written.startswith("until") else written)
    if not written:
        raise DurationError(f"for how long? {CHAT_HINT}")
    seconds = seconds_of(written)
    return Until(now + seconds, seconds, written)


def humanize(seconds: float) -> str:
    """3600 → `1h`, 5400 → `1h30m`, 90061 → `1d1h1m` (minutes at most; seconds when under one)."""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{max(seconds, 0)}s"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


def local_time(epoch: float, tz: ZoneInfo, now: float | None = None) -> str:
    """`18:00 CET` today, `Thu 09:00 CET` within a week, else `2026-03-12 09:00 CET`."""
    moment = dt.datetime.fromtimestamp(epoch, tz)
    zone = moment.tzname() or tz.key
    if now is not None:
        today = dt.datetime.fromtimestamp(now, tz).date()
        if moment.date() == today:
            return f"{moment:%H:%M} {zone}"
        if 0 < (moment.date() - today).days < 7:
            return f"{moment:%a %H:%M} {zone}"
    return f"{moment:%Y-%m-%d %H:%M} {zone}"
