"""From stored signals to decisions: the evaluation job and how it is queued.

Reception stores signals and queues one `evaluate` job per request in the same Redis
transaction, so a 202 means "durably stored and queued". The job is idempotent: a signal that
already has a decision is skipped, so a retried job never evaluates a signal twice.
"""
from __future__ import annotations

from redis import Redis
from rq import Queue, Retry, get_current_job

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
    """RQ job: decide what to do about each signal. Returns how many were evaluated now."""
    conn = get_current_job().connection
    return evaluate_with(conn, signal_ids)


def evaluate_with(conn: Redis, signal_ids: list[str]) -> int:
    """Evaluate the rules in force (router.engine.decide): decisions stored, action jobs queued."""
    from router.commands.jobs import enqueue_commands  # late, like decide
    from router.engine import decide  # late: the engine's decisions import this module's queues

    enqueue_commands(conn, signal_ids)  # chat commands also run on their own job (router/commands)
    return decide(conn, signal_ids)
