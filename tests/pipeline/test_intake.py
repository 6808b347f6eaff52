"""The pending set and its drain job: batching, one job at a time, nothing lost when a process dies."""
from __future__ import annotations

import json

import pytest

from router.core import brain
from router.jobs.queues import EVAL_QUEUE
from router.pipeline import intake
from tests.pipeline.test_reception import ALERT, post_json


def drain_jobs(redis) -> int:
    return redis.llen(f"rq:queue:{EVAL_QUEUE}")


def test_many_requests_share_one_drain_job(client, redis, run_jobs):
    ids = [post_json(client, "/hooks/generic", ALERT).get_json()["signals"][0] for _ in range(25)]
    assert drain_jobs(redis) == 1
    assert intake.pending(redis) == 25
    assert run_jobs() >= 1
    assert intake.pending(redis) == 0
    assert all(redis.exists(brain.key_decision(i)) for i in ids)
    assert not redis.exists(brain.key_drain_flag())
    # after the drain finished, the next request queues a new drain job
    post_json(client, "/hooks/generic", ALERT)
    assert drain_jobs(redis) == 1


def test_drain_works_in_batches_and_hands_over_when_over_budget(client, redis):
    ids = [post_json(client, "/hooks/generic", ALERT).get_json()["signals"][0] for _ in range(7)]
    redis.delete(f"rq:queue:{EVAL_QUEUE}")
    assert intake.drain_with(redis, batch=3, budget=0) == 3  # one batch, then hand over
    assert intake.pending(redis) == 4
    assert drain_jobs(redis) == 1  # the follow-up job
    assert intake.drain_with(redis, batch=3) == 4
    assert intake.pending(redis) == 0
    assert all(redis.exists(brain.key_decision(i)) for i in ids)


def test_pending_left_by_a_dead_process_is_kicked(client, redis, run_jobs):
    """A web process died after storing signals and taking the flag, before queueing the job."""
    sid = post_json(client, "/hooks/generic", ALERT).get_json()["signals"][0]
    redis.delete(f"rq:queue:{EVAL_QUEUE}")               # the job never made it
    assert intake.kick(redis) is False                   # flag still held: someone may be on it
    redis.delete(brain.key_drain_flag())                 # ... until it expires (FLAG_TTL)
    assert 0 < intake.FLAG_TTL <= 60
    assert intake.kick(redis) is True
    run_jobs()
    assert redis.exists(brain.key_decision(sid))


def test_a_batch_evaluated_twice_decides_once(client, redis):
    """A worker killed after evaluating but before removing ids: the ids are drained again."""
    sid = post_json(client, "/hooks/generic", ALERT).get_json()["signals"][0]
    from router.pipeline.intake import evaluate as evaluate_with

    evaluate_with(redis, [sid])
    first = json.loads(redis.get(brain.key_decision(sid)))
    assert intake.drain_with(redis) == 1
    assert json.loads(redis.get(brain.key_decision(sid))) == first


def test_worker_start_kicks_pending(client, redis):
    import worker

    post_json(client, "/hooks/generic", ALERT)
    redis.delete(f"rq:queue:{EVAL_QUEUE}", brain.key_drain_flag())
    w = worker.WORKER_CLASSES["simple"]([EVAL_QUEUE], connection=redis)
    w.run_maintenance_tasks()
    assert drain_jobs(redis) == 1


def test_backlog_counts_actions_one_by_one(redis):
    """A job of 50 actions is 50 deliveries waiting, not one."""
    from router.jobs import inflight

    pipe = redis.pipeline()
    inflight.track(pipe, ["job-a", "job-b"], [50, 7])
    pipe.execute()
    redis.zadd(brain.key_pending(), {"s1": 1.0, "s2": 2.0})
    assert intake.backlog(redis) == 2 + 57


def test_a_trickle_waits_for_company_only_until_its_oldest_has_waited_gather():
    now = 1_000_000.0
    g = intake.GATHER
    assert intake.gather_pause(now, now) == g                      # just arrived: wait the whole time
    assert intake.gather_pause(now - g / 2, now) == pytest.approx(g / 2)   # arrived during a batch: the rest
    assert intake.gather_pause(now - 10 * g, now) == 0.0           # waited long enough: no pause at all
    assert intake.gather_pause(now + 60, now) == g                 # a web clock ahead: never more than GATHER
