"""Poison signals: one signal whose evaluation raises never stops the others.

The drain job (router/pipeline/intake.py) evaluates a batch in one engine call. When that call raises,
`settle` splits the batch in halves and evaluates each, down to single signals, so every signal
that can be decided is, in its order of receipt. A signal that fails alone is tried again until it
has failed MAX_ATTEMPTS times (counted in the brain, so the count survives a retried or restarted
job); then it is moved to the dead letters with the reason and the last line of its traceback, a
decision saying so is stored (for `why` and the API, and so nothing evaluates it again), and the
drain removes it from the pending set with the rest of its batch. `/metrics` counts it in
`sparky_signals_dead_lettered_total{stage="evaluation"}`; chat command jobs use the same letter
(stage "command", router/commands/jobs.py).

Not the signal's fault, so never counted against it (`signals_fault` is False): the brain
unreachable, out of memory, read-only or refusing writes (MISCONF), an RQ job timeout (evaluating
on after the alarm would run without one), and signals claimed by another process
(Busy, raised by the engine's decisions). The job fails and RQ retries it; the batch stays pending.
"""
from __future__ import annotations

import json
import logging
import traceback
from pathlib import Path
from typing import Callable

from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoPermissionError, OutOfMemoryError, ReadOnlyError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq.timeouts import BaseTimeoutException

from router.core import brain, deadletter, metrics
from router.core.config import PROJECT_ROOT
from router.core.times import utcnow


class Busy(RuntimeError):
    """Evaluation cannot go on now for a reason that is not the signals' own (another process holds
    their claims): the job is retried, and no signal is counted as failing."""

log = logging.getLogger("sparky.quarantine")

MAX_ATTEMPTS = 3        # failed evaluations of one signal, alone, before it is dead-lettered
NOT_THE_SIGNAL = (RedisConnectionError, RedisTimeoutError, OutOfMemoryError, ReadOnlyError, NoPermissionError,
                  BaseTimeoutException, Busy)
# Error replies of a Redis that cannot take writes now, whatever the data (no class in redis-py).
SYSTEMIC_REPLIES = ("MISCONF", "BUSY", "LOADING", "MASTERDOWN", "TRYAGAIN", "CLUSTERDOWN")
METRIC = "sparky_signals_dead_lettered"


def settle(conn: Redis, ids: list[str], evaluate: Callable[[Redis, list[str]], object]) -> list[str]:
    """Run `evaluate(conn, ids)`, isolating failures; returns the ids moved to the dead letters.

    When this returns, every id is decided or dead-lettered. Raises only what is not the signals'
    fault (NOT_THE_SIGNAL), leaving the batch for a retry.
    """
    try:
        evaluate(conn, ids)
        return []
    except Exception as exc:  # noqa: BLE001  any failure of a signal's own
        if not signals_fault(exc):
            raise
        if len(ids) > 1:
            middle = len(ids) // 2
            log.warning("evaluation of a batch of %d failed (%s); evaluating it in halves", len(ids), last_line(exc))
            return settle(conn, ids[:middle], evaluate) + settle(conn, ids[middle:], evaluate)
        failure = exc
    sid = ids[0]
    while True:
        attempts = brain.count_eval_failure(conn, sid)
        log.warning("evaluation of signal %s failed (attempt %d of %d): %s", sid, attempts, MAX_ATTEMPTS,
                    last_line(failure))
        if attempts >= MAX_ATTEMPTS:
            give_up(conn, sid, failure, attempts)
            return [sid]
        try:
            evaluate(conn, [sid])
        except Exception as exc:  # noqa: BLE001
            if not signals_fault(exc):
                raise
            failure = exc
            continue
        conn.delete(brain.key_eval_failures(sid))
        return []


def signals_fault(exc: BaseException) -> bool:
    """Could the signal being handled be why this was raised? False for the brain's or the job's
    own trouble, which retrying later cures."""
    if isinstance(exc, NOT_THE_SIGNAL):
        return False
    return not (isinstance(exc, ResponseError) and str(exc).startswith(SYSTEMIC_REPLIES))


def last_line(exc: BaseException) -> str:
    """The last line of the exception's traceback: `UnicodeEncodeError: 'utf-8' codec can't ...`."""
    return traceback.format_exception_only(type(exc), exc)[-1].strip()


def innermost(exc: BaseException) -> str:
    """Where in Sparky's code it was raised (`router/alerts/state.py:92 in record_many`), past library frames."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if f.filename.startswith(str(PROJECT_ROOT)) and "site-packages" not in f.filename]
    if not (ours or frames):
        return ""
    frame = (ours or frames)[-1]
    where = Path(frame.filename)
    shown = where.relative_to(PROJECT_ROOT).as_posix() if ours else where.name
    return f"{shown}:{frame.lineno} in {frame.name}"


def dead_letter(conn: Redis, stage: str, signal_id: str, exc: BaseException, attempts: int) -> dict:
    """Keep a signal that could not be handled in the dead letters, shaped like a refused request
    (router/core/deadletter.py): the stored signal as its body, the reason, where it failed, how often."""
    raw = conn.get(brain.key_signal(signal_id)) or b""
    try:
        source = json.loads(raw).get("source", "") if raw else ""
    except (ValueError, AttributeError):
        source = ""
    reason = f"{stage} failed {attempts} times: {last_line(exc)}"
    letter = deadletter.letter(stage, 0, reason, {}, {}, raw)
    letter.update(signal=signal_id, source=source, attempts=attempts, error=last_line(exc), where=innermost(exc))
    brain.push_dead_letter(conn, letter)
    metrics.count(conn, METRIC, source=source or "unknown", stage=stage)
    log.error("signal %s moved to the dead letters (%s): %s", signal_id, letter["id"], reason)
    return letter


def give_up(conn: Redis, signal_id: str, exc: BaseException, attempts: int) -> dict:
    """Dead-letter a signal whose evaluation keeps failing, and store a decision that says so."""
    letter = dead_letter(conn, "evaluation", signal_id, exc, attempts)
    decision = {"signal": signal_id, "evaluated_at": utcnow(), "rules_version": None, "rulesets": {},
                "actions": [], "failed": {"reason": letter["reason"], "where": letter["where"],
                                          "attempts": attempts, "dead_letter": letter["id"]}}
    ttl = conn.ttl(brain.key_signal(signal_id))  # kept as long as the signal, like any decision
    with conn.pipeline(transaction=True) as pipe:
        # NX: a decision another process stored meanwhile stands.
        pipe.set(brain.key_decision(signal_id), json.dumps(decision), nx=True,
                 ex=ttl if ttl > 0 else brain.EVAL_FAILURE_TTL)
        pipe.delete(brain.key_eval_failures(signal_id), brain.key_eval_claim(signal_id))
        pipe.execute()
    return letter
