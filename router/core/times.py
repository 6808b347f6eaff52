"""Times as Sparky writes and reads them: ISO 8601 in UTC with milliseconds and a `Z`.

The one parser of ISO 8601 text in the code base (sources, rule files, APIs, the brain all come
through here): a trailing `Z` is UTC, and a time without an offset is taken as UTC, never as the
machine's local time (tests run in odd time zones to keep it so).
"""
from __future__ import annotations

import datetime as dt
import zoneinfo

_UTC = dt.timezone.utc


def iso(moment: dt.datetime) -> str:
    """ISO 8601 in UTC with a `Z`, millisecond precision: how every time in a signal is written."""
    if moment.tzinfo is not _UTC:   # (a few times per alert: no conversion when already UTC)
        moment = moment.replace(tzinfo=_UTC) if moment.tzinfo is None else moment.astimezone(_UTC)
    return moment.isoformat(timespec="milliseconds")[:-6] + "Z"   # "+00:00" → "Z"


def utcnow() -> str:
    return iso(dt.datetime.now(dt.timezone.utc))


def from_epoch(seconds: float) -> str:
    return iso(dt.datetime.fromtimestamp(seconds, dt.timezone.utc))


def parse_time(value: str) -> dt.datetime:
    """An ISO 8601 time as an aware datetime (UTC when it names no offset); ValueError otherwise."""
    moment = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def epoch_of(value: object) -> float | None:
    """Epoch seconds of an ISO 8601 time; None when it is absent or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return parse_time(value).timestamp()
    except ValueError:
        return None


def zone(name: str) -> zoneinfo.ZoneInfo | None:
    """The time zone a person or a calendar names (`Europe/Berlin`); None when unknown or empty."""
    try:
        return zoneinfo.ZoneInfo(name) if name else None
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None
