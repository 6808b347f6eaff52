"""Putting work on RQ: named policies (queue, retries, timeout, how long results and failures are
kept) and one way to enqueue with them — now, at a time, or many in one pipeline.

Every job Sparky queues goes through here, so the retry and retention rules are written once:
    ACTION    an action of a rule, a snooze's end (5xx and timeouts retried at 10, 30, 60 s —
              STYLE 12)
    DEPLOY    a deploy's steps and messages (retried sooner: people are watching)
    COMMAND   a chat command (a person is waiting: retried sooner still)
    CLEANUP   an approved clean-up of a stale item (its result kept a week)
    DRAIN     the evaluation queue's drain job (router/pipeline/intake.py)
    SWEEP     the expiry sweep (no retry: the next one comes anyway)
    SCAN      a stale scan (its own retries on rate limits, router/stale/scans.py)
A job that must wait (`Later`: Slack's pace, a 429) is retried at that time with `waited`.
"""
from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable

from redis import Redis
from rq import Queue, Retry
from rq.job import Job, JobStatus

from router.core.outcomes import Later
from router.jobs import inflight
from router.jobs.queues import ACTIONS_QUEUE, EVAL_QUEUE

RETRY = Retry(max=3, interval=[10, 30, 60])   # on 5xx and timeouts (STYLE 12)
MAX_DEFERRALS = 30                              # Later()s per job before it is given up
JOB_TIMEOUT = 120
RESULT_TTL = 300
FAILURE_TTL = 7 * 24 * 3600


@dataclass(frozen=True)
class Policy:
    queue: str = ACTIONS_QUEUE
    retry: tuple[int, ...] = (10, 30, 60)   # seconds before each retry; () = none
    timeout: int = JOB_TIMEOUT
    result_ttl: int = RESULT_TTL
    failure_ttl: int = FAILURE_TTL

    def rq_retry(self) -> Retry | None:
        return Retry(max=len(self.retry), interval=list(self.retry)) if self.retry else None


ACTION = Policy()
DEPLOY = Policy(retry=(5, 30, 60))            # a deploy's steps: its people are watching
COMMAND = Policy(retry=(2, 10, 30))
CLEANUP = Policy(result_ttl=7 * 86400, failure_ttl=7 * 86400)   # an approved clean-up, kept a week
SCAN = Policy(retry=(), result_ttl=7 * 86400, failure_ttl=7 * 86400)   # retries of its own (scans.py)
DRAIN = Policy(queue=EVAL_QUEUE, retry=(1, 5, 15), result_ttl=60)
SWEEP = Policy(retry=(), result_ttl=60, failure_ttl=86400)


def queue(conn: Redis, policy: Policy = ACTION) -> Queue:
    return Queue(policy.queue, connection=conn)


def new_job_id(prefix: str = "act") -> str:
    return f"{prefix}-{uuid.uuid4().hex}"


def enqueue(conn: Redis, func: Callable | str, *args, policy: Policy = ACTION, job_id: str | None = None,
            description: str | None = None, at: float | None = None, pipeline=None,
            meta: dict | None = None) -> Job:
    """Queue `func(*args)` with `policy`: now, or at epoch `at` (RQ's scheduler moves it then).

    A fixed `job_id` makes it idempotent: the same step queued twice is one job. With `pipeline`,
    the job joins it (the caller executes it).
    """
    q = queue(conn, policy)
    options = dict(job_id=job_id, description=description, retry=policy.rq_retry(), timeout=policy.timeout,
                   result_ttl=policy.result_ttl, failure_ttl=policy.failure_ttl, meta=meta)
    if at is None:
        return q.enqueue_call(func, args=args, pipeline=pipeline, **options)
    when = datetime.fromtimestamp(math.ceil(at), tz=timezone.utc)
    job = q.create_job(func, args=args, status=JobStatus.SCHEDULED, **options)
    if pipeline is not None:
        q.schedule_job(job, when, pipeline=pipeline)
        return job
    with conn.pipeline() as pipe:
        q.schedule_job(job, when, pipeline=pipe)
        pipe.execute()
    return job


def prepared(func: Callable, args: tuple, *, job_id: str, description: str, policy: Policy = ACTION):
    """One job of an `enqueue_many` (router/jobs/runner.py queues a batch of actions in one round trip)."""
    return Queue.prepare_data(func, args=args, job_id=job_id, description=description, timeout=policy.timeout,
                              result_ttl=policy.result_ttl, failure_ttl=policy.failure_ttl,
                              retry=policy.rq_retry())


def schedule(conn: Redis, at: float, func: Callable, *args, job_id: str, description: str,
             retry: Retry = RETRY, meta: dict | None = None) -> Job:
    """An action job due at epoch `at`, noted in flight (router/jobs/inflight.py).

    A fixed `job_id` makes scheduling idempotent: scheduling the same step twice keeps one job.
    """
    q = queue(conn)
    when = datetime.fromtimestamp(math.ceil(at), tz=timezone.utc)
    with conn.pipeline() as pipe:
        job = q.create_job(func, args=args, job_id=job_id, description=description, retry=retry,
                           timeout=JOB_TIMEOUT, result_ttl=RESULT_TTL, failure_ttl=FAILURE_TTL,
                           status=JobStatus.SCHEDULED, meta=meta)
        q.schedule_job(job, when, pipeline=pipe)
        inflight.track(pipe, [job_id])
        pipe.execute()
    return job


def waited(later: Later, job: Job, most: int = MAX_DEFERRALS) -> Retry:
    """The RQ `Retry` that runs this job again when `later` says (Slack's pace, a 429); raises the
    `Later` itself once the job has waited `most` times (its retries are then given up)."""
    if (job.number_of_retries or 0) >= most:
        raise later
    return Retry(max=most, interval=later.interval())
