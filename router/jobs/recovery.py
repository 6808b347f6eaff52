"""Crash recovery: what a killed worker held goes back on its queue, at once.

Left to itself, RQ gives a dead worker's job back only when the job's started-registry entry
expires (its heartbeat TTL, about 90 s) and a maintenance run notices (every 10 minutes), and a
job popped with BLPOP (a worker on several queues) but killed before it was registered as started
is in no queue and no registry at all. `recover`, run when a worker starts and at every RQ
maintenance run (`with_recovery`), does better:

1. jobs whose execution belongs to a dead worker (its key is gone, or it ran on this host and its
   process is gone) go back to the front of their queue, without using up a retry;
2. RQ scheduler locks held by a dead scheduler of this host are released, so delayed jobs
   (retries, paced and grouped messages) do not wait for the lock to expire;
3. action jobs in flight (`jobs.track`) that are in no queue, registry or worker are requeued;
4. what features registered (router/core/registry.py `on_recover`): e.g. `group` windows whose
   flush is overdue are scheduled again.

A job run twice this way acts once: every action is idempotent (router/jobs/runner.py).
"""
from __future__ import annotations

import logging
import os
import socket
import time

from redis import Redis
from rq import Queue
from rq.exceptions import NoSuchJobError
from rq.executions import Execution
from rq.job import Job, JobStatus
from rq.registry import ScheduledJobRegistry, StartedJobRegistry
from rq.scheduler import SCHEDULER_KEY_TEMPLATE, RQScheduler
from rq.utils import parse_composite_key
from rq.worker import Worker

from router.core import brain
from router.core.registry import current as assembled

log = logging.getLogger("sparky.recovery")

PAUSE = 0.5        # a job seen nowhere is looked for again after this long before it is requeued

# Delete a lock only if it is still held by the dead holder. KEYS: lock. ARGV: holder.
RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"


def process_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a killed child not yet reaped is a zombie: it answers kill(0) but is gone
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return True


def _dead(info: dict, hostname: str) -> bool:
    """Is the worker or scheduler described by this RQ hash gone?"""
    if not info or info.get("death"):
        return True
    if info.get("hostname") == hostname:
        try:
            return not process_alive(int(info.get("pid") or 0))
        except ValueError:
            return False
    return False  # another host: RQ's own expiry covers it


def _hash(conn: Redis, key: str) -> dict:
    return {k.decode(): v.decode() for k, v in conn.hgetall(key).items()}


def requeue_abandoned(conn: Redis, queue_names: list[str], me: str = "") -> list[str]:
    """Step 1: jobs started by dead workers, back to the front of their queues."""
    hostname, requeued = socket.gethostname(), []
    workers: dict[str, bool] = {}
    for name in queue_names:
        registry = StartedJobRegistry(name, connection=conn)
        for raw in conn.zrange(registry.key, 0, -1):
            entry = raw.decode()
            job_id, _ = parse_composite_key(entry)
            execution = Execution.from_composite_key(entry, conn)
            worker_name = conn.hget(execution.key, "worker_name")
            if worker_name is None or worker_name.decode() == me:
                continue  # no record of who runs it: RQ's expiry-based cleanup handles it
            worker_name = worker_name.decode()
            if worker_name not in workers:
                workers[worker_name] = _dead(_hash(conn, Worker.redis_worker_namespace_prefix + worker_name),
                                             hostname)
            if not workers[worker_name]:
                continue
            with conn.pipeline() as pipe:
                pipe.zrem(registry.key, entry)
                pipe.delete(execution.key)
                pipe.execute()
            try:
                job = Job.fetch(job_id, connection=conn)
            except NoSuchJobError:
                continue
            if job.get_status(refresh=False) == JobStatus.STARTED:
                Queue(job.origin, connection=conn).enqueue_job(job, at_front=True)
                requeued.append(job_id)
    return requeued


def release_dead_scheduler_locks(conn: Redis, queue_names: list[str]) -> list[str]:
    """Step 2: scheduler locks whose holder died on this host."""
    hostname, released = socket.gethostname(), []
    for name in queue_names:
        lock = RQScheduler.get_locking_key(name)
        holder = conn.get(lock)
        if holder is None:
            continue
        info = _hash(conn, SCHEDULER_KEY_TEMPLATE % holder.decode())
        # No hash yet: a scheduler just forked takes its lock before it writes its hash.
        if info and _dead(info, hostname):
            if conn.eval(RELEASE, 1, lock, holder):
                released.append(name)
    return released


def _placed(conn: Redis, queue_names: list[str]) -> set[str]:
    """Ids of every job that is somewhere a worker or the scheduler will find it."""
    placed: set[str] = set()
    for name in queue_names:
        q = Queue(name, connection=conn)
        placed.update(j.decode() for j in conn.lrange(q.key, 0, -1))
        placed.update(j.decode() for j in conn.lrange(q.intermediate_queue_key, 0, -1))
        placed.update(parse_composite_key(e.decode())[0]
                      for e in conn.zrange(StartedJobRegistry(name, connection=conn).key, 0, -1))
        placed.update(j.decode() for j in conn.zrange(ScheduledJobRegistry(name, connection=conn).key, 0, -1))
    return placed


def _lost(conn: Redis, queue_names: list[str], job_ids: list[str]) -> list[str]:
    """Of `job_ids`, those queued or started but nowhere; forget the finished ones."""
    with conn.pipeline(transaction=False) as pipe:
        for job_id in job_ids:
            pipe.hget(Job.key_for(job_id), "status")
        statuses = pipe.execute()
    over = [j for j, s in zip(job_ids, statuses)
            if s is None or s.decode() not in (JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED,
                                               JobStatus.DEFERRED)]
    if over:
        conn.zrem(brain.key_actions_inflight(), *over)
    placed = _placed(conn, queue_names)
    return [j for j, s in zip(job_ids, statuses)
            if s is not None and s.decode() in (JobStatus.QUEUED, JobStatus.STARTED) and j not in placed]


def requeue_lost(conn: Redis, queue_names: list[str], pause: float = PAUSE) -> list[str]:
    """Step 3: in-flight action jobs that no queue, registry or worker holds."""
    # A job joins the in-flight set in the same transaction that queues it, so any member is
    # somewhere already; one seen nowhere twice, PAUSE apart, is lost.
    ids = [j.decode() for j in conn.zrange(brain.key_actions_inflight(), 0, -1)]
    suspects = _lost(conn, queue_names, ids) if ids else []
    if suspects:
        time.sleep(pause)  # a live worker between BLPOP and registering the job is done by now
        suspects = _lost(conn, queue_names, suspects)
    for job_id in suspects:
        try:
            job = Job.fetch(job_id, connection=conn)
        except NoSuchJobError:
            continue
        Queue(job.origin, connection=conn).enqueue_job(job, at_front=True)
    return suspects


def recover(conn: Redis, queue_names: list[str], me: str = "") -> dict[str, int]:
    """Run every step; returns how many jobs/locks/windows each one put back."""
    done = {
        "abandoned": len(requeue_abandoned(conn, queue_names, me)),
        "scheduler_locks": len(release_dead_scheduler_locks(conn, queue_names)),
        "lost": len(requeue_lost(conn, queue_names)),
    }
    for name, hook in assembled().recoveries.items():   # what features left half done
        done[name] = hook(conn)
    if any(done.values()):
        log.warning("recovered after a crash: %s", ", ".join(f"{k}={v}" for k, v in done.items() if v))
    return done


def with_recovery(worker_class: type[Worker]) -> type[Worker]:
    """`worker_class` that runs `recover` at start and at each RQ maintenance run."""

    class Recovering(worker_class):  # type: ignore[misc, valid-type]
        def run_maintenance_tasks(self):
            try:
                recover(self.connection, self.queue_names(), me=self.name)
            except Exception:  # recovery must never stop the worker
                self.log.exception("crash recovery failed; RQ's own cleanup still runs")
            super().run_maintenance_tasks()

    Recovering.__name__ = Recovering.__qualname__ = worker_class.__name__
    return Recovering
