"""The `snoozed` fact: an active snooze's matchers all hold for the signal (router/core/matchers.py).

Registered as a fact provider (router/snoozes/plugin.py); `snoozed_by` is the same test for
one signal (the `nag` action and `stale` ask it of an item).
"""
from __future__ import annotations

import json
import logging

from redis import Redis

from router.core import brain
from router.core.matchers import holds
from router.core.signal import flat

log = logging.getLogger("sparky.rules")

FIELDS = {"snoozed": False}


def gather(pipe, ctxs: list[dict], needed: set[str], now: float, write: bool) -> list:
    brain.queue_active_snoozes(pipe, now)

    def snoozes(raws):
        active = []
        for raw in raws:
            try:
                active.append(json.loads(raw))
            except ValueError:
                log.warning("ignoring a malformed snooze in the brain")
        for ctx in ctxs:
            ctx["snoozed"] = any(holds(s.get("matchers") or [], ctx) for s in active)
    return [snoozes]


def snoozed_by(conn: Redis, signal: dict, now: float, active: list[dict] | None = None) -> dict | None:
    """The active snooze that matches the signal (the rules engine's own test), if any."""
    view = flat(signal, now)
    for snooze in brain.active_snoozes(conn, now) if active is None else active:
        if holds(snooze.get("matchers") or [], view):
            return snooze
    return None
