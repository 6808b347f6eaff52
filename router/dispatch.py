"""From stored signals to decisions: the evaluation job and how it is queued.

Reception stores signals and queues one `evaluate` job per request in the same Redis
transaction, so a 202 means "durably stored and queued". The job is idempotent: a signal that
already has a decision is skipped, so a retried job never evaluates a signal twice.
"""
from __future__ import annotations

import json

from redis import Redis
from rq import Queue, Retry, get_current_job

from router import brain
from router.signal import utcnow

EVAL_QUEUE = "sparky-eval"
ACTIONS_QUEUE = "sparky-actions"
QUEUES = (EVAL_QUEUE, ACTIONS_QUEUE)


def eval_queue(conn: Redis) -> Queue:
    return Queue(EVAL_QUEUE, connection=conn)


def backlog(conn: Redis) -> int:
    """Jobs waiting on Sparky's queues: the figure ingress backpressure is based on."""
    pipe = conn.pipeline(transaction=False)
    for name in QUEUES:
        pipe.llen(Queue(name, connection=conn).key)
    return sum(pipe.execute())


def enqueue_evaluation(queue: Queue, signal_ids: list[str], pipeline=None):
    return queue.enqueue_call(evaluate, args=(signal_ids,), retry=Retry(max=3, interval=[1, 5, 15]),
                              result_ttl=60, failure_ttl=7 * 24 * 3600, pipeline=pipeline)


def evaluate(signal_ids: list[str]) -> int:
    """RQ job: decide what to do about each signal. Returns how many were evaluated now.

    The rules engine is not wired in yet: each signal gets a decision that records it was
    evaluated with no ruleset, which is what `GET /api/signals/<id>/decision` shows.
    """
    conn = get_current_job().connection
    return evaluate_with(conn, signal_ids)


def evaluate_with(conn: Redis, signal_ids: list[str]) -> int:
    pipe = conn.pipeline(transaction=False)
    for sid in signal_ids:
        pipe.exists(brain.key_decision(sid))
    done = pipe.execute()
    fresh = [sid for sid, seen in zip(signal_ids, done) if not seen]
    pipe = conn.pipeline(transaction=False)
    for sid in fresh:
        decision = {"signal": sid, "evaluated_at": utcnow(), "rules_version": None, "rulesets": {}}
        # NX: two racing jobs for the same signal leave exactly one decision.
        pipe.set(brain.key_decision(sid), json.dumps(decision), nx=True, ex=7 * 24 * 3600)
    return sum(1 for ok in pipe.execute() if ok)
