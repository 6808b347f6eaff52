"""Taking signals in: de-duplicate, store durably, mark them pending evaluation — one transaction.

No Flask here: router/hooks.py calls `accept` after the adapter has verified and parsed.
"""
from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

import logging

from redis import Redis
from redis.exceptions import RedisError

from router import brain, intake, metrics
from router.config import Config
from router.signal import Signal

log = logging.getLogger(__name__)


# An index list is trimmed to its cap every TRIM_EVERY pushes from this process, so it can
# exceed the cap by at most TRIM_EVERY x processes entries.
TRIM_EVERY = 100
_pushes: Counter = Counter()

# The backlog is read at most once a second per process: exact to the job is not needed, and
# two LLENs per request would cost a round trip each time.
BACKLOG_TTL = 1.0
_backlog: dict[int, tuple[float, int]] = {}


def current_backlog(conn: Redis) -> int:
    now = time.monotonic()
    seen_at, value = _backlog.get(id(conn), (0.0, 0))
    if now - seen_at > BACKLOG_TTL:
        value = intake.backlog(conn)
        _backlog[id(conn)] = (now, value)
    return value


class Backpressure(Exception):
    """The delivery backlog is over its bound; the sender should retry later."""

    def __init__(self, backlog: int, bound: int):
        super().__init__(f"backlog of {backlog} queued jobs is over the bound of {bound}; retry later")
        self.backlog = backlog


@dataclass
class Accepted:
    ids: list[str] = field(default_factory=list)           # new signals, stored and queued
    duplicate_of: list[str] = field(default_factory=list)  # originals of re-delivered signals

    def answer(self) -> dict:
        body = {"accepted": len(self.ids), "signals": self.ids}
        if self.duplicate_of:
            body["duplicate"] = not self.ids
            body["duplicate_of"] = self.duplicate_of
        return body


def accept(conn: Redis, config: Config, source: str, signals: list[Signal]) -> Accepted:
    """Store the new signals and mark them pending evaluation; duplicates are only reported."""
    if not signals:
        return Accepted()
    if config.max_backlog and (waiting := current_backlog(conn)) > config.max_backlog:
        raise Backpressure(waiting, config.max_backlog)

    keys = [s.dedup for s in signals]
    claimed = brain.claim_deliveries(conn, source, [s.id for s in signals], keys, config.dedup_ttl)
    new = [s for s, (first, _) in zip(signals, claimed) if first]
    result = Accepted(ids=[s.id for s in new],
                      duplicate_of=[original for first, original in claimed if not first])
    if result.duplicate_of:
        metrics.count(conn, "sparky_signals_received", len(result.duplicate_of), source=source,
                      outcome="duplicate")
    if not new:
        return result
    try:
        pipe = conn.pipeline(transaction=True)
        touched = brain.store_signals(pipe, [s.to_dict() for s in new], config.signal_ttl)
        metrics.count(pipe, "sparky_signals_received", len(new), source=source, outcome="accepted")
        due = [index for index in touched if _pushes[index] + 1 >= TRIM_EVERY]
        brain.trim_indexes(pipe, due)
        intake.queue_pending(pipe, result.ids)  # last: its reply says whether we took the flag
        replies = pipe.execute()
    except Exception:
        # Not stored: forget the delivery keys so the sender's retry is not taken for a duplicate.
        brain.release_deliveries(conn, source, [s.dedup for s in new])
        raise
    _pushes.update(touched)
    for index in due:
        _pushes[index] = 0
    if replies[-1]:
        # We took the drain flag: no drain job is queued or running, so queue one. Should this
        # process die right here, the flag expires (intake.FLAG_TTL) and the next request or a
        # worker's start-up kick queues it instead; the signals are already stored and pending.
        try:
            intake.enqueue_drain(conn)
        except RedisError:
            log.error("stored %d signals but could not queue their drain job; the flag expires "
                      "in %ss and the next request queues it", len(new), intake.FLAG_TTL)
    return result
