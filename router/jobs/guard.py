"""What every action job shares: how failures are classified, retried and dead-lettered.

An action either returns a short outcome text, or raises one of (router/core/outcomes.py):
- `Later(seconds)`: not now (Slack 429 Retry-After, or the channel's rate slot is later). The job
  returns an RQ `Retry` with that interval, so RQ's scheduler runs the same job again then.
- `Retryable`: a 5xx, a timeout, a refused connection. The job raises and RQ retries it with
  backoff (router/jobs/policy.py `RETRY`); after the last attempt it goes to the dead-letter list.
- `Permanent`: a 4xx or a bad parameter. Retrying cannot help: straight to the dead-letter list.

Every reason is scrubbed of the configured secrets before it is logged, raised or stored.
"""
from __future__ import annotations

import json
import logging
from typing import Callable

from redis import Redis
from rq import Retry
from rq.job import Job

from router.core import brain, deadletter, fastjson
from router.core.config import Config
from router.core.outcomes import Later, Permanent, Retryable
from router.core.secrets import redact
from router.core.times import utcnow
from router.jobs.inflight import untrack
from router.jobs.policy import MAX_DEFERRALS

log = logging.getLogger("sparky.actions")


class ActionFailed(Exception):
    """What RQ records for a failed attempt: the scrubbed reason, no chained exception."""


def describe(exc: BaseException) -> str:
    """A one-line reason for an exception we did not classify (our own text when we did)."""
    if isinstance(exc, (Later, Retryable, Permanent)):
        return str(exc)
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}"[:500] if text else type(exc).__name__


def status_of(exc: BaseException) -> int:
    return getattr(exc, "status", 0) or 0


def dead_letter(conn: Redis, config: Config, endpoint: str, status: int, reason: str, body: dict,
                job: Job | None = None, attempts: int = 0) -> dict:
    """Keep a failed action in the dead-letter list, shaped like a refused request (SPEC §3)."""
    raw = redact(json.dumps(body, default=str, sort_keys=True), config).encode()
    letter = deadletter.letter(endpoint, status, redact(reason, config), {}, {}, raw)
    letter["job"] = job.id if job is not None else ""
    letter["attempts"] = attempts
    brain.push_dead_letter(conn, letter)
    log.warning("dead letter %s: %s: %s", letter["id"], endpoint, letter["reason"])
    return letter


def attempts_of(job: Job | None) -> int:
    """Which attempt this is: earlier ones in a batch, RQ retries, and waits (Later) included."""
    if job is None:
        return 1
    retried = len(job.retry_intervals or []) - job.retries_left if job.retries_left is not None else 0
    return 1 + int((job.meta or {}).get("earlier_attempts", 0)) + retried + (job.number_of_retries or 0)


def last_attempt(job: Job | None) -> bool:
    return job is None or not job.retries_left


def guarded(conn: Redis, config: Config, job: Job | None, endpoint: str, body: dict,
            work: Callable[[], str], finish: Callable[[object, str, str], None], batch: bool = False,
            later_writes: list | None = None) -> str | Retry:
    """Run `work`, classify what it raises, and record the outcome with `finish(pipe, state, text)`.

    state is "done", "failed" (dead-lettered) or "retrying"; `finish` queues its writes on the
    pipeline, which also takes the job off the in-flight set when it is over. In a `batch` (one
    job running many actions) a failure to retry is recorded and raised for the batch to hand on:
    `Later` as is, anything else as `ActionFailed`; with `later_writes`, a "done" record is added
    to that list for the batch to write with the others in one round trip.
    """
    def close(state: str, text: str) -> None:
        if state == "done" and later_writes is not None:
            later_writes.append((finish, state, text))
            return
        with conn.pipeline(transaction=False) as pipe:
            finish(pipe, state, text)
            if state != "retrying" and not batch:
                untrack(pipe, job)
            pipe.execute()

    try:
        outcome = work()
    except Later as later:
        if batch:
            close("retrying", f"waiting until {later.until:.0f}: {redact(str(later), config)}")
            raise
        if job is None:
            raise  # called outside RQ (tests, tools): the caller decides when to come back
        reason = redact(str(later), config)
        deferred = job.number_of_retries or 0
        if deferred >= MAX_DEFERRALS:
            dead_letter(conn, config, endpoint, later.status or 429,
                        f"gave up after {deferred} waits: {reason}", body, job, attempts_of(job))
            close("failed", f"failed: {reason}")
            return f"failed: {reason}"
        interval = later.interval()
        close("retrying", f"waiting {interval}s: {reason}")
        return Retry(max=MAX_DEFERRALS + 1, interval=interval)
    except Permanent as exc:
        reason = redact(str(exc), config)
        dead_letter(conn, config, endpoint, exc.status, reason, body, job, attempts_of(job))
        close("failed", f"failed: {reason}")
        return f"failed: {reason}"
    except Exception as exc:  # Retryable, and anything unforeseen: RQ retries it
        reason = redact(describe(exc), config)
        if not batch and last_attempt(job):
            dead_letter(conn, config, endpoint, status_of(exc), reason, body, job, attempts_of(job))
            close("failed", f"failed: {reason}")
        else:
            close("retrying", f"will retry: {reason}")
        raise ActionFailed(reason) from None
    close("done", outcome)
    return outcome


def outcome_record(action: str, state: str, text: str, job: Job | None) -> str:
    return fastjson.dumps({"action": action, "state": state, "outcome": text, "at": utcnow(),
                       "job": job.id if job is not None else ""})
