"""Crash recovery, step by step, with the state a killed worker leaves behind built by RQ itself."""
from __future__ import annotations

import os
import socket
import subprocess
import sys

from rq import Queue, SimpleWorker
from rq.executions import prepare_execution
from rq.job import JobStatus
from rq.registry import StartedJobRegistry
from rq.scheduler import RQScheduler

from router.chat import rooms
from router.core import brain
from router.jobs import recovery, runner
from router.jobs.queues import ACTIONS_QUEUE, QUEUES
from tests.actions.conftest import alert, store


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def queued_job(redis, rooms_env):
    signal, = store(redis, alert())
    job_id, = runner.enqueue_actions(redis, [(signal["id"], "routing", "ops", 0, "notify", {"room": "#ops"})])
    return Queue(ACTIONS_QUEUE, connection=redis).fetch_job(job_id)


def test_a_job_started_by_a_dead_worker_goes_back_at_once(redis, run_jobs, rooms_env):
    job = queued_job(redis, rooms_env)
    q = Queue(ACTIONS_QUEUE, connection=redis)
    redis.lrem(q.key, 0, job.id)                                   # the worker took it...
    worker = SimpleWorker(list(QUEUES), connection=redis)
    worker.register_birth()
    prepare_execution(worker, job)                                 # ...registered it as started...
    job.set_status(JobStatus.STARTED)
    redis.hset(worker.key, "pid", dead_pid())                      # ...and was killed
    assert job.id in StartedJobRegistry(ACTIONS_QUEUE, connection=redis)

    assert recovery.requeue_abandoned(redis, list(QUEUES)) == [job.id]
    assert redis.lrange(q.key, 0, -1) == [job.id.encode()]
    assert job.get_status(refresh=True) == JobStatus.QUEUED
    assert job.id not in StartedJobRegistry(ACTIONS_QUEUE, connection=redis)
    run_jobs()
    assert len(rooms.messages(redis, "#ops")) == 1


def test_a_live_workers_job_is_left_alone(redis, rooms_env):
    job = queued_job(redis, rooms_env)
    redis.lrem(Queue(ACTIONS_QUEUE, connection=redis).key, 0, job.id)
    worker = SimpleWorker(list(QUEUES), connection=redis)
    worker.register_birth()                                        # this process: alive
    prepare_execution(worker, job)
    job.set_status(JobStatus.STARTED)
    assert recovery.requeue_abandoned(redis, list(QUEUES)) == []
    assert recovery.requeue_lost(redis, list(QUEUES), pause=0) == []


def test_a_job_popped_but_never_started_is_found_and_requeued(redis, run_jobs, rooms_env):
    job = queued_job(redis, rooms_env)
    q = Queue(ACTIONS_QUEUE, connection=redis)
    redis.lpop(q.key)                                               # BLPOP, then kill -9
    assert recovery.requeue_lost(redis, list(QUEUES), pause=0) == [job.id]
    run_jobs()
    assert len(rooms.messages(redis, "#ops")) == 1
    assert redis.zcard(brain.key_actions_inflight()) == 0


def test_a_dead_schedulers_lock_is_released_a_live_ones_kept(redis):
    for name, pid in (("ghost", dead_pid()), ("alive", os.getpid())):
        redis.hset(f"rq:scheduler:{name}", mapping={"hostname": socket.gethostname(), "pid": pid})
    redis.set(RQScheduler.get_locking_key(ACTIONS_QUEUE), "ghost")
    redis.set(RQScheduler.get_locking_key("sparky-eval"), "alive")
    assert recovery.release_dead_scheduler_locks(redis, list(QUEUES)) == [ACTIONS_QUEUE]
    assert redis.get(RQScheduler.get_locking_key("sparky-eval")) == b"alive"
    # a scheduler that took its lock but has not written its hash yet is not taken for dead
    redis.set(RQScheduler.get_locking_key(ACTIONS_QUEUE), "newborn")
    assert recovery.release_dead_scheduler_locks(redis, list(QUEUES)) == []
