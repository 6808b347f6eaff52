"""Signals waiting for evaluation: a pending set in the brain, drained by RQ jobs in batches.

Why not one RQ job per request: a job costs ~57 Redis commands and ~3 ms of worker CPU before it
does anything (performance-baselines §4b), which caps a worker near 300 jobs/s — below what
Alertmanager routes on this machine. Instead reception adds signal ids to a sorted set (scored by
receipt time) in the same transaction that stores them, and enqueues a `drain` job only when none
is queued or running (a flag set with NX). The drain job evaluates up to BATCH signals at a time
and removes ids from the set only after they are evaluated, so a worker killed mid-batch loses
nothing: the ids stay pending, the flag expires after FLAG_TTL, and the next request, the worker's
start-up `kick`, or the RQ retry of the abandoned job drains them. Evaluation is idempotent
(the evaluator skips signals that already have a decision), so a batch evaluated twice after a
crash decides each signal once.

The pipeline does not know what evaluating means: each batch goes to the hooks features
registered (the chat commands take theirs to their own job) and then to the registry's evaluator
(the rules engine's `decide`, wired by router/assembly.py). A signal whose evaluation raises is isolated from its
batch and, after a bounded number of attempts, moved to the dead letters (router/pipeline/quarantine.py).

Invariant, so "queued on RQ" holds for every accepted signal: whenever the pending set is not
empty, a drain job is queued or running, or the flag has expired and the next caller of
`mark_and_kick` enqueues one.
"""
from __future__ import annotations

import time

from redis import Redis
from rq import Queue, get_current_job

from router.core import brain
from router.core.registry import current as assembled
from router.jobs import policy
from router.jobs import queues as dispatch
from router.jobs.inflight import waiting
from router.pipeline import quarantine

BATCH = 500          # signals evaluated per engine call
FLAG_TTL = 15        # seconds a drain job may go without progress before another may start
RUN_BUDGET = 30.0    # seconds one drain job works before handing over to a fresh job
# When fewer than GATHER_BELOW signals are pending, wait for more until the oldest of them has
# waited GATHER seconds since it was received: every batch pays fixed costs (an engine session, a
# WATCH/MULTI commit, an RQ job for its actions), so under a steady trickle one-signal batches cost
# several times more CPU per signal than batches of 50. Counted from the oldest's receipt, not from
# the end of the last batch: what arrived while a batch was evaluated has waited already, and a
# fixed pause before every batch added its whole length to every alert's latency (bench/RESULTS.md).
GATHER_BELOW = 50
GATHER = 0.025


def queue_pending(pipe, signal_ids: list[str], now: float | None = None) -> None:
    """Queue on `pipe`: add ids to the pending set, then try to take the drain flag (last reply)."""
    now = time.time() if now is None else now
    pipe.zadd(brain.key_pending(), {sid: now for sid in signal_ids})
    pipe.set(brain.key_drain_flag(), "1", nx=True, ex=FLAG_TTL)


def enqueue_drain(conn: Redis, pipeline=None):
    return policy.enqueue(conn, drain, policy=policy.DRAIN, pipeline=pipeline)


def kick(conn: Redis) -> bool:
    """Enqueue a drain job if signals are pending and no drain job holds the flag."""
    if conn.zcard(brain.key_pending()) and conn.set(brain.key_drain_flag(), "1", nx=True, ex=FLAG_TTL):
        enqueue_drain(conn)
        return True
    return False


def pending(conn: Redis) -> int:
    return conn.zcard(brain.key_pending())


def backlog(conn: Redis) -> int:
    """What backpressure bounds: signals waiting for evaluation, jobs waiting on the evaluation
    queue, and actions not yet carried out (counted one by one: an action job carries up to 50)."""
    return pending(conn) + queued_work(conn)


def queued_work(conn: Redis) -> int:
    """The backlog beyond the pending signals: jobs on the evaluation queue, actions not yet run.
    (Reception's script counts the pending signals itself, exactly, as it stores new ones.)"""
    return conn.llen(Queue(dispatch.EVAL_QUEUE, connection=conn).key) + waiting(conn)


def drain() -> int:
    """RQ job: evaluate pending signals in batches until none is left (or the time budget ends)."""
    return drain_with(get_current_job().connection)


def evaluate(conn: Redis, signal_ids: list[str]) -> int:
    """A batch through what the registry wired: its hooks, then the evaluator (decisions, actions)."""
    registry = assembled()
    for hook in registry.batch_hooks:
        hook(conn, signal_ids)
    return registry.evaluator(conn, signal_ids)


def gather_pause(oldest: float, now: float) -> float:
    """How long to wait for more signals when few are pending: until the oldest, received at
    `oldest`, has waited GATHER. Receipt times are the web processes' clocks: one skewed against
    this worker's only moves the pause within [0, GATHER]."""
    return min(GATHER, max(0.0, oldest + GATHER - now))


def _pending_ids(conn: Redis, batch: int) -> tuple[list[str], float]:
    """The first `batch` pending ids, oldest first, and the oldest's receipt time (epoch; 0 if none)."""
    found = conn.zrange(brain.key_pending(), 0, batch - 1, withscores=True)
    return [i.decode() for i, _ in found], (found[0][1] if found else 0.0)


def drain_with(conn: Redis, batch: int = BATCH, budget: float = RUN_BUDGET) -> int:
    flag = brain.key_drain_flag()
    conn.set(flag, "1", ex=FLAG_TTL)  # a retried or kicked job re-takes the flag
    deadline = time.monotonic() + budget
    done = 0
    while True:
        ids, oldest = _pending_ids(conn, batch)
        if 0 < len(ids) < min(GATHER_BELOW, batch) and GATHER:
            pause = gather_pause(oldest, time.time())
            if pause:
                time.sleep(pause)
                ids, _ = _pending_ids(conn, batch)
        if not ids:
            # Hand the flag back, then look once more: a signal added between the ZRANGE and the
            # DEL found the flag taken and enqueued nothing, so it is ours to take.
            conn.delete(flag)
            if conn.zcard(brain.key_pending()) and conn.set(flag, "1", nx=True, ex=FLAG_TTL):
                continue
            return done
        # Decided or dead-lettered, every id of the batch: one poison signal stops nothing.
        quarantine.settle(conn, ids, evaluate)
        brain.settle_pending(conn, ids, FLAG_TTL)   # off the pending set and its source's share
        done += len(ids)
        if time.monotonic() > deadline:
            # Leave the rest to a fresh job so retries, timeouts and other queues interleave.
            enqueue_drain(conn)
            return done
