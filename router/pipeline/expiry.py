"""Alerts that live only while re-sent resolve when they stop coming, as in Alertmanager.

Prometheus pushing to /api/v2/alerts re-sends every firing alert each evaluation interval with an
`endsAt` a few intervals ahead, and simply stops when it dies or the alert goes. Alertmanager takes
an alert whose `endsAt` passed as resolved, and gives one without `endsAt` its `resolve_timeout`.
Sparky does the same:
- reception keeps each such alert's expiry in a sorted set (router/core/brain/accept.py): its `endsAt`,
  or SPARKY_RESOLVE_TIMEOUT after it was last received; every resend moves it on;
- `sweep` takes the alerts whose expiry passed and sends a `resolved` signal for each through
  reception, like any other: the rules run and the firing message's thread gets its resolved
  answer. Its delivery key is the alert and expiry, so a sweep run twice sends it once.
The sweep runs as a job on the actions queue, scheduled through RQ's scheduler for the second the
earliest expiry passes. A flag in the brain holds that time: reception schedules a sweep only for a
new expiry earlier than it (in its Lua script, router/core/brain/accept.py), each sweep schedules the
next, and a worker's maintenance (worker.py) schedules one should the chain have been lost.
"""
from __future__ import annotations

import logging
import time

from redis import Redis
from rq import get_current_job

from router.core import brain
from router.core.config import Config
from router.core.signal import Signal
from router.core.times import from_epoch
from router.pipeline import reception, sweeps

log = logging.getLogger("sparky.expiry")

BATCH = 500          # expired alerts resolved per sweep round
ROUNDS = 20          # rounds per sweep; what is left is due, so the next sweep is scheduled at once

# Remove the fingerprint only if its expiry is still the one the sweep saw: a resend that came
# in meanwhile moved it, and the alert lives on. KEYS: expiry set. ARGV: fingerprint, score seen.
FORGET = """
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if score and tonumber(score) == tonumber(ARGV[2]) then return redis.call('ZREM', KEYS[1], ARGV[1]) end
return 0
"""


def due(conn: Redis, now: float, limit: int = BATCH) -> list[tuple[str, float]]:
    """(fingerprint, expiry) of the living alerts whose expiry is at or before `now`, oldest first."""
    return [(fp.decode(), score) for fp, score in
            conn.zrangebyscore(brain.key_alert_expiry(), "-inf", now, start=0, num=limit, withscores=True)]


def resolution(alert: dict, fingerprint: str, expired: float, config: Config) -> Signal:
    """The `resolved` signal for an alert whose expiry passed without a resend."""
    timeout = f"{config.resolve_timeout:g}s"
    return Signal(
        source="alertmanager", kind="alert", status="resolved", severity=alert.get("severity") or "warning",
        subject=alert.get("subject", ""), fingerprint=fingerprint, labels=alert.get("labels") or {},
        summary=alert.get("summary", ""), occurred_at=from_epoch(expired), actor="sparky",
        text=f"Not re-sent since {alert.get('last_seen', '?')}: resolved at {from_epoch(expired)} "
             f"(its endsAt, or SPARKY_RESOLVE_TIMEOUT={timeout} after the last resend).",
        dedup=f"{fingerprint}:expired:{expired!r}", ends_at="")


def sweep_with(conn: Redis, config: Config, now: float | None = None) -> list[str]:
    """Resolve the alerts whose expiry passed; returns the ids of the `resolved` signals sent."""
    now = time.time() if now is None else now
    sent: list[str] = []
    for _ in range(ROUNDS):
        found = due(conn, now)
        if not found:
            break
        states = [brain.load_alert(conn, fp) for fp, _ in found]
        expired = [(fp, at, state) for (fp, at), state in zip(found, states)
                   if state.get("status") in brain.FIRING_STATES]
        if expired:
            # Reception's own path (and its Lua script removes the expiry with the resolution);
            # no backpressure: a resolution is owed, and the backlog it adds is one signal each.
            answer = reception.accept(conn, config.with_(max_backlog=0), "alertmanager",
                                      [resolution(state, fp, at, config) for fp, at, state in expired])
            sent += answer.ids
        for fp, at in found:  # resolved already, gone, or just sent: the expiry has done its work
            conn.eval(FORGET, 1, brain.key_alert_expiry(), fp, repr(at))
        if len(found) < BATCH:
            break
    if sent:
        log.info("%d alerts not re-sent in time are resolved", len(sent))
    return sent


def sweep() -> str:
    """RQ job: resolve what expired, then schedule the sweep for the next expiry."""
    conn = get_current_job().connection
    conn.delete(brain.key_expiry_sweep())
    sent = sweep_with(conn, Config.from_env())
    sweeps.ensure(conn)
    return f"{len(sent)} alerts resolved by expiry"
