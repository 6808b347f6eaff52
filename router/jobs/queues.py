"""Sparky's RQ queues: evaluation (the pending set's drain jobs) and actions (everything else)."""
from __future__ import annotations

EVAL_QUEUE = "sparky-eval"
ACTIONS_QUEUE = "sparky-actions"
QUEUES = (EVAL_QUEUE, ACTIONS_QUEUE)
