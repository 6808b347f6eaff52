"""What every action job shares: its context, how failures are classified, retries, dead letters.

An action either returns a short outcome text, or raises one of:
- `Later(seconds)`: not now (Slack 429 Retry-After, or the channel's rate slot is later). The job
  returns an RQ `Retry` with that interval, so RQ's scheduler runs the same job again then.
- `Retryable`: a 5xx, a timeout, a refused connection. The job raises and RQ retries it with
  backoff (`RETRY`); after the last attempt it goes to the dead-letter list.
- `Permanent`: a 4xx or a bad parameter. Retrying cannot help: straight to the dead-letter list.

Every reason is scrubbed of the configured secrets before it is logged, raised or stored.
"""
from __future__ import annotations

import hashlib
import json
import logging
import math
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable

from redis import Redis
from rq import Queue, Retry
from rq.job import Job, JobStatus

from router.core import brain
from router.core import deadletter
from router.core.outcomes import Later, Permanent, Retryable
from router.core.durations import parse
from router.core.config import SECRET_VARS, Config
from router.jobs.queues import ACTIONS_QUEUE
from router.core.times import utcnow

log = logging.getLogger("sparky.actions")

RETRY = Retry(max=3, interval=[10, 30, 60])   # on 5xx and timeouts (STYLE 12)
MAX_DEFERRALS = 30                              # Later()s per job before it is given up
JOB_TIMEOUT = 120
RESULT_TTL = 300
FAILURE_TTL = 7 * 24 * 3600
REDACTED = "[redacted]"


class ActionFailed(Exception):
    """What RQ records for a failed attempt: the scrubbed reason, no chained exception."""


@dataclass(frozen=True)
class Context:
    """Which decision an action carries out: the signal and the rule's action in it.

    `writes`, in a batch, collects bookkeeping writes (delivery markers, outcome records) that the
    batch sends together at its end; outside a batch they are written at once.
    """

    signal_id: str
    ruleset: str = ""
    rule: str = ""
    index: int = 0
    action: str = ""
    writes: list | None = field(default=None, compare=False, repr=False)
    # The stored decision, when a batch fetched it with the signals (webhook sends it along).
    decision: bytes | None = field(default=None, compare=False, repr=False)

    @property
    def scope(self) -> str:
        """The action within its ruleset, the same for every signal: `<ruleset>/<rule>/<index>`."""
        return f"{self.ruleset}/{self.rule}/{self.index}"

    @property
    def key(self) -> str:
        """The idempotency key: at most one effect per (signal, ruleset, rule, index)."""
        return f"{self.signal_id}/{self.scope}"

    def identity(self) -> dict:
        """The fields that name the decision (for a later job's arguments)."""
        return {"signal_id": self.signal_id, "ruleset": self.ruleset, "rule": self.rule, "index": self.index,
                "action": self.action}


def secrets(config: Config) -> list[str]:
    """Every configured secret (router.core.config.SECRET_VARS), to be scrubbed from any text we keep."""
    values: list[str] = []
    for name in SECRET_VARS:
        value = getattr(config, name.lower().removeprefix("sparky_"), "")
        values.extend(value if isinstance(value, (tuple, list)) else [value])
    # Longest first, so a secret that contains another is replaced whole.
    return sorted({v for v in values if v and len(v) >= 4}, key=len, reverse=True)


def redact(text: str, config: Config) -> str:
    for secret in secrets(config):
        text = text.replace(secret, REDACTED)
    return text


def describe(exc: BaseException) -> str:
    """A one-line reason for an exception we did not classify (our own text when we did)."""
    if isinstance(exc, (Later, Retryable, Permanent)):
        return str(exc)
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}"[:500] if text else type(exc).__name__


def status_of(exc: BaseException) -> int:
    return getattr(exc, "status", 0) or 0


def seconds(value: object) -> float:
    """A duration as rule files write it ("30s", "1h30m", see router/core/durations.py) or a number."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    try:
        return parse(str(value))
    except ValueError as exc:
        raise Permanent(str(exc)) from None


def digest(value: str, length: int = 32) -> str:
    """A short stable id for a key (job ids allow only letters, digits, "-" and "_")."""
    return hashlib.sha1(value.encode("utf-8")).hexdigest()[:length]


_SCRIPTS: dict[str, object] = {}


def script(conn, text: str, keys: list, args: list, client=None):
    """Run a Lua script by its SHA (EVALSHA; loaded once per server), not by sending its text."""
    registered = _SCRIPTS.get(text)
    if registered is None:
        registered = _SCRIPTS[text] = conn.register_script(text)
    return registered(keys=keys, args=args, client=client if client is not None else conn)


def queue(conn: Redis) -> Queue:
    return Queue(ACTIONS_QUEUE, connection=conn)


def new_job_id(prefix: str = "act") -> str:
    return f"{prefix}-{uuid.uuid4().hex}"


def track(pipe, job_ids: list[str], sizes: list[int] | None = None) -> None:
    """Note jobs as in flight, so a worker killed between taking a job and starting it loses none;
    each scored by how many actions it carries (see `waiting`)."""
    if job_ids:
        sizes = sizes or [1] * len(job_ids)
        pipe.zadd(brain.key_actions_inflight(), dict(zip(job_ids, sizes)))


# The sum of the in-flight set's scores. KEYS: in-flight set.
SUM = """
local total = 0
local all = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
for i = 2, #all, 2 do total = total + tonumber(all[i]) end
return total
"""


def waiting(conn: Redis) -> int:
    """Actions queued, scheduled or running, not finished: what ingress backpressure should count
    (the actions queue's length counts jobs, and a job carries up to runner.BATCH actions)."""
    return int(script(conn, SUM, [brain.key_actions_inflight()], []))


def untrack(pipe, job: Job | None) -> None:
    if job is not None:
        pipe.zrem(brain.key_actions_inflight(), job.id)


def schedule(conn: Redis, at: float, func: Callable, *args, job_id: str, description: str,
             retry: Retry = RETRY, meta: dict | None = None) -> Job:
    """Run `func(*args)` on the actions queue at epoch time `at` (RQ's scheduler moves it then).

    A fixed `job_id` makes scheduling idempotent: scheduling the same step twice keeps one job.
    """
    q = queue(conn)
    when = datetime.fromtimestamp(math.ceil(at), tz=timezone.utc)
    with conn.pipeline() as pipe:
        job = q.create_job(func, args=args, job_id=job_id, description=description, retry=retry,
                           timeout=JOB_TIMEOUT, result_ttl=RESULT_TTL, failure_ttl=FAILURE_TTL,
                           status=JobStatus.SCHEDULED, meta=meta)
        q.schedule_job(job, when, pipeline=pipe)
        track(pipe, [job_id])
        pipe.execute()
    return job


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
    return json.dumps({"action": action, "state": state, "outcome": text, "at": utcnow(),
                       "job": job.id if job is not None else ""})
