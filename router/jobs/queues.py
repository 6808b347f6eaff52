"""From stored signals to decisions: Sparky's queue names and the evaluation entry point.

Signals reach `evaluate_with` through the pending set and its drain job (router/pipeline/intake.py), which
calls it once per batch. It is idempotent: a signal that already has a decision is skipped, so a
retried or repeated batch never evaluates a signal twice.
"""
from __future__ import annotations

from redis import Redis

EVAL_QUEUE = "sparky-eval"
ACTIONS_QUEUE = "sparky-actions"
QUEUES = (EVAL_QUEUE, ACTIONS_QUEUE)


class Busy(RuntimeError):
    """Evaluation cannot go on now for a reason that is not the signals' own (another process holds
    their claims): the job is retried, and no signal is counted as failing (router/pipeline/quarantine.py)."""


def evaluate_with(conn: Redis, signal_ids: list[str]) -> int:
    """Evaluate the rules in force (router.engine.decide): decisions stored, action jobs queued."""
    from router.commands.jobs import enqueue_commands  # late, like decide
    from router.engine import decide  # late: the engine's decisions import this module's queues

    enqueue_commands(conn, signal_ids)  # chat commands also run on their own job (router/commands)
    return decide(conn, signal_ids)
