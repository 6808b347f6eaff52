"""How an alert is named in chat: its name, its age, what silences it, a short preview of many."""
from __future__ import annotations

from router.alerts import lookup
from router.core.durations import humanize
from router.core.times import parse_time

PREVIEW_LIMIT = 5     # alert names in a snooze preview


def age(iso: str, now: float) -> str:
    try:
        return humanize(now - parse_time(iso).timestamp())
    except (ValueError, TypeError):
        return "?"


def name_of(alert: dict) -> str:
    return alert.get("subject") or alert.get("fingerprint", "?")


def covering(alert: dict, snoozes: list[dict], now: float) -> list[dict]:
    """The active snoozes that silence this alert."""
    return [s for s in snoozes if lookup.matches(s.get("matchers") or [], alert, now)]


def preview(alerts: list[dict], limit: int = PREVIEW_LIMIT) -> str:
    """`3 firing alerts: web-01/HTTP, web-02/HTTP, db-01/Disk` (the SPEC §6 preview)."""
    if not alerts:
        return "no firing alert"
    names = ", ".join(name_of(a) for a in alerts[:limit])
    more = f" and {len(alerts) - limit} more" if len(alerts) > limit else ""
    noun = "firing alert" if len(alerts) == 1 else "firing alerts"
    return f"{len(alerts)} {noun}: {names}{more}"
