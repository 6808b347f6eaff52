"""/readyz says whether delivery moves — a worker beating, no signal waiting too long — and the
web tier raises Sparky's own alert when that changes: through the normal reception, routed by
the shipped rules, and posted to their room by the web process itself, with no worker running.

Real Redis, real RQ worker records; the heartbeats and receipt times are written as RQ and
reception write them, only older."""
from __future__ import annotations

import datetime as dt
import re
import time

import pytest
from rq.utils import utcformat
from rq.worker import Worker

from router.api import selfalert
from router.core import brain
from router.core.config import DEFAULT_RULES_DIR
from router.jobs.queues import QUEUES
from router.pipeline import intake

BOUND = 120.0          # the defaults: SPARKY_READY_WORKER_AGE, SPARKY_READY_PENDING_AGE


ON_CALL = "@(alice|bob|carol)"   # the shipped ops rotation (rules/oncall.yml)

def a_worker(redis, beat_seconds_ago: float) -> Worker:
    worker = Worker(list(QUEUES), connection=redis)
    worker.register_birth()
    beat = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=beat_seconds_ago)
    redis.hset(worker.key, "last_heartbeat", utcformat(beat))
    return worker


def ops_messages(client) -> list[dict]:
    answer = client.get("/api/rooms/%23ops/messages")
    return answer.get_json()["messages"] if answer.status_code == 200 else []


@pytest.fixture(autouse=True)
def no_raise_outlives_its_test():
    yield
    selfalert.settle()


def test_ready_while_a_worker_beats_and_nothing_waits(client, redis):
    a_worker(redis, beat_seconds_ago=5)
    answer = client.get("/readyz")
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["delivery"] is True and "stale" not in answer.get_json()


def test_a_web_tier_just_started_without_a_worker_is_still_ready(client):
    assert client.get("/readyz").status_code == 200


def test_no_worker_beating_is_503_naming_it(client, redis):
    a_worker(redis, beat_seconds_ago=BOUND + 60)
    answer = client.get("/readyz")
    assert answer.status_code == 503 and answer.headers["Retry-After"]
    body = answer.get_json()
    assert body["ready"] is False and body["brain"] is True and body["rules"] is True
    assert body["delivery"] is False and list(body["stale"]) == ["WorkerStale"]
    assert body["stale"]["WorkerStale"].startswith("no RQ worker has beaten for 18")
    assert "(bound 120 s, SPARKY_READY_WORKER_AGE)" in body["stale"]["WorkerStale"]


def test_no_worker_ever_counts_from_the_web_process_start(app, client):
    app.extensions["sparky"].started -= BOUND + 1
    body = client.get("/readyz").get_json()
    assert body["stale"]["WorkerStale"].startswith("no RQ worker registered in the 12")


def test_a_signal_waiting_too_long_is_503_naming_it(client, redis):
    a_worker(redis, beat_seconds_ago=1)
    with redis.pipeline() as pipe:
        intake.queue_pending(pipe, ["01OLD"], now=time.time() - BOUND - 30)
        pipe.execute()
    body = client.get("/readyz").get_json()
    assert list(body["stale"]) == ["BacklogStale"]
    assert body["stale"]["BacklogStale"].startswith("the oldest pending signal has waited 15")
    assert "SPARKY_READY_PENDING_AGE" in body["stale"]["BacklogStale"]


def test_the_self_alert_is_raised_once_per_change_routed_and_posted_without_a_worker(app, client, redis,
                                                                                        run_jobs):
    assert app.extensions["sparky"].config.rules_dir == DEFAULT_RULES_DIR    # the shipped rules
    worker = a_worker(redis, beat_seconds_ago=BOUND + 60)
    for _ in range(3):                                   # every probe sees it; one raise
        assert client.get("/readyz").status_code == 503
    selfalert.settle()
    posted = ops_messages(client)
    assert len(posted) == 1
    # `@oncall` is whoever oncall.yml's rotation names at the moment of sending (router/oncall)
    assert re.match(ON_CALL + " :rotating_light: Sparky: no RQ worker has beaten for", posted[0]["text"])
    raised = client.get("/api/signals?source=sparky").get_json()["signals"]
    assert [(s["subject"], s["status"], s["labels"]) for s in raised] == [
        ("WorkerStale", "firing", {"alertname": "WorkerStale"})]
    assert redis.get(brain.key_self_alert("WorkerStale")) == b"firing"

    # the worker beats again: resolved, once, in the firing message's thread
    redis.hset(worker.key, "last_heartbeat", utcformat(dt.datetime.now(dt.timezone.utc)))
    assert client.get("/readyz").status_code == 200
    assert client.get("/readyz").status_code == 200
    selfalert.settle()
    assert len(ops_messages(client)) == 2
    resolution = ops_messages(client)[1]
    assert resolution["text"].startswith(":white_check_mark: Sparky: WorkerStale resolved")
    assert resolution["thread"] == posted[0]["id"]
    statuses = [s["status"] for s in client.get("/api/signals?source=sparky").get_json()["signals"]]
    assert sorted(statuses) == ["firing", "resolved"]

    # a worker then routes both signals as the rules say: the same posts, already done
    run_jobs()
    assert len(ops_messages(client)) == 2
    for signal in raised:
        decision = client.get(f"/api/signals/{signal['id']}/decision").get_json()
        assert decision["rulesets"]["routing"]["matched"][0]["rule"] == "sparky-delivery-stalled"


def test_transitions_are_claimed_once_across_processes(redis):
    stale = {"WorkerStale": "no RQ worker has beaten for 200 s"}
    assert selfalert.transitions(redis, stale) == [("WorkerStale", "firing")]
    assert selfalert.transitions(redis, stale) == []            # another process: nothing to raise
    assert selfalert.transitions(redis, {}) == [("WorkerStale", "resolved")]
    assert selfalert.transitions(redis, {}) == []


def test_a_worker_age_bound_an_idle_worker_cannot_meet_is_refused():
    from router.core.config import Config, ConfigError

    assert Config.from_env({"SPARKY_READY_WORKER_AGE": "45s"}).ready_worker_age == 45
    with pytest.raises(ConfigError, match="SPARKY_READY_WORKER_AGE must be more than 30s"):
        Config.from_env({"SPARKY_READY_WORKER_AGE": "5"})


def test_the_watch_raises_it_with_nobody_probing(app, client, redis):
    a_worker(redis, beat_seconds_ago=BOUND + 60)
    sparky = app.extensions["sparky"]
    stop = selfalert.watch(sparky.conn, sparky.config, sparky.started, every=0.05)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not ops_messages(client):
            time.sleep(0.05)
    finally:
        stop.set()
        time.sleep(0.1)
        selfalert.settle()
    (message,) = [m["text"].split(" for ")[0] for m in ops_messages(client)]
    assert re.fullmatch(ON_CALL + " :rotating_light: Sparky: no RQ worker has beaten", message)
