"""`mute_during:` on a notifying action (notify, group, escalate): Alertmanager's mute_time_intervals.

While one of the named time intervals (`time_intervals:` of the rules in force, router/core/
intervals.py) holds, the action posts nothing and says so in its outcome. It is checked when the
message would go out: when `notify` runs, when `group` counts an alert into its window (a muted
alert is not counted), and at each round of `escalate`. What was muted is not sent later, as in
Alertmanager.
"""
from __future__ import annotations

from redis import Redis

from router.core import intervals
from router.core.config import Config
from router.engine import store


def names_of(mute_during: object) -> list[str]:
    if not mute_during:
        return []
    return [mute_during] if isinstance(mute_during, str) else [str(n) for n in mute_during]


def muted(conn: Redis, config: Config, mute_during: object, now: float) -> str:
    """The first of the named intervals that holds at `now` ("" when none does, or none is named)."""
    names = names_of(mute_during)
    if not names:
        return ""
    raw = store.current(conn, config.rules_dir, config.rules_poll).data.get("time_intervals")
    return next((name for name in names if intervals.holds(raw, name, now)), "")
