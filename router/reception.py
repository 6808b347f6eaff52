"""Taking signals in: de-duplicate, store durably, queue their evaluation — one transaction.

No Flask here: router/hooks.py calls `accept` after the adapter has verified and parsed.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from redis import Redis
from rq import Queue

from router import brain, dispatch
from router.config import Config
from router.signal import Signal


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
    if config.max_backlog and (waiting := dispatch.backlog(conn)) > config.max_backlog:
        raise Backpressure(waiting, config.max_backlog)

    keys = [s.dedup for s in signals]
    claimed = brain.claim_deliveries(conn, source, [s.id for s in signals], keys, config.dedup_ttl)
    new = [s for s, (first, _) in zip(signals, claimed) if first]
    result = Accepted(ids=[s.id for s in new],
                      duplicate_of=[original for first, original in claimed if not first])
    if not new:
        return result
    try:
        pipe = conn.pipeline(transaction=True)
        # RQ opens MULTI on the pipeline itself, so the job goes in first; the signals join the
        # same transaction: either both are in the brain or neither is.
        dispatch.enqueue_evaluation(Queue(dispatch.EVAL_QUEUE, connection=conn), result.ids, pipeline=pipe)
        brain.store_signals(pipe, [s.to_dict() for s in new], config.signal_ttl)
        pipe.execute()
    except Exception:
        # Not stored: forget the delivery keys so the sender's retry is not taken for a duplicate.
        brain.release_deliveries(conn, source, [s.dedup for s in new])
        raise
    return result
