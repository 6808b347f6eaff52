"""Taking signals in: de-duplicate, store durably, queue their evaluation — one transaction.

No Flask here: router/hooks.py calls `accept` after the adapter has verified and parsed.
"""
from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

from redis import Redis
from rq import Queue

from router import brain, dispatch, metrics
from router.config import Config
from router.signal import Signal


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
        value = dispatch.backlog(conn)
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
    """Store the new signals and queue one evaluation job for them; duplicates are only reported."""
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
        # RQ opens MULTI on the pipeline itself, so the job goes in first; the signals join the
        # same transaction: either both are in the brain or neither is.
        dispatch.enqueue_evaluation(Queue(dispatch.EVAL_QUEUE, connection=conn), result.ids, pipeline=pipe)
        touched = brain.store_signals(pipe, [s.to_dict() for s in new], config.signal_ttl)
        metrics.count(pipe, "sparky_signals_received", len(new), source=source, outcome="accepted")
        _pushes.update(touched)
        due = [index for index in touched if _pushes[index] >= TRIM_EVERY]
        brain.trim_indexes(pipe, due)
        pipe.execute()
        for index in due:
            _pushes[index] = 0
    except Exception:
        # Not stored: forget the delivery keys so the sender's retry is not taken for a duplicate.
        brain.release_deliveries(conn, source, [s.dedup for s in new])
        raise
    return result
