"""The run_action job and enqueue_actions: the contract with the rules engine."""
from __future__ import annotations

import json

import pytest
from rq import Queue

from actions import setfact as facts
from router.core import brain
from router.core.templates import render
from router.jobs import inflight, runner
from router.jobs.context import Context
from router.jobs.queues import ACTIONS_QUEUE
from tests.actions.conftest import alert, store


def test_enqueue_actions_queues_batches_in_one_pipeline(redis, run_jobs, rooms_env):
    signals = store(redis, *[alert(f"web-{i}/HTTP") for i in range(runner.BATCH + 1)])
    items = [(s["id"], "routing", "ops", 0, "notify", {"room": "#ops"}) for s in signals]
    pipe = redis.pipeline()
    ids = runner.enqueue_actions(redis, items, pipeline=pipe)
    assert redis.llen(f"rq:queue:{ACTIONS_QUEUE}") == 0          # nothing until the caller executes
    pipe.execute()
    batch_id, single_id = dict.fromkeys(ids)                     # BATCH actions in one job, one left over
    assert ids == [batch_id] * runner.BATCH + [single_id]
    assert redis.lrange(f"rq:queue:{ACTIONS_QUEUE}", 0, -1) == [batch_id.encode(), single_id.encode()]
    assert redis.zcard(brain.key_actions_inflight()) == 2
    assert inflight.waiting(redis) == runner.BATCH + 1                   # what backpressure should count
    q = Queue(ACTIONS_QUEUE, connection=redis)
    batch, single = q.fetch_job(batch_id), q.fetch_job(single_id)
    assert batch.func_name == "router.jobs.runner.run_actions" and len(batch.args[0]) == runner.BATCH
    assert single.func_name == "router.jobs.runner.run_action"
    assert single.args == (signals[-1]["id"], "routing", "ops", 0, "notify", {"room": "#ops"})
    assert single.retries_left == 3 and single.retry_intervals == [10, 30, 60]
    assert run_jobs() == 2
    assert batch.latest_result().return_value == f"{runner.BATCH} done"
    assert redis.llen(brain.key_room("#ops")) == runner.BATCH + 1
    assert redis.zcard(brain.key_actions_inflight()) == 0            # finished jobs leave the in-flight set
    assert inflight.waiting(redis) == 0
    runner.enqueue_actions(redis, items[:3])                         # the same again: nothing twice
    run_jobs()
    assert redis.llen(brain.key_room("#ops")) == runner.BATCH + 1


def test_a_failing_action_leaves_its_batch_with_the_retries_it_has_left(redis, run_jobs, rooms_env):
    from tests.actions.conftest import scheduled

    signals = store(redis, *[alert(f"web-{i}/HTTP") for i in range(3)])
    runner.enqueue_actions(redis, [(signals[0]["id"], "routing", "ops", 0, "notify", {"room": "#ops"}),
                                   (signals[1]["id"], "routing", "hook", 0, "webhook",
                                    {"url": "http://127.0.0.1:9/refused"}),
                                   (signals[2]["id"], "routing", "ops", 0, "notify", {"room": "#ops"})])
    run_jobs()
    assert redis.llen(brain.key_room("#ops")) == 2
    (job_id, _), = scheduled(redis).items()
    job = Queue(ACTIONS_QUEUE, connection=redis).fetch_job(job_id)
    assert job.func_name == "router.jobs.runner.run_action" and job.args[4] == "webhook"
    assert job.retries_left == 2 and job.retry_intervals == [30, 60] and job.meta["earlier_attempts"] == 1
    assert runner.outcomes(redis, signals[1]["id"])[0]["state"] == "retrying"


def test_outcomes_say_what_was_done_per_action(redis, run_jobs, rooms_env):
    signal, = store(redis, alert())
    runner.enqueue_actions(redis, [(signal["id"], "routing", "ops", 0, "notify", {"room": "#ops"}),
                                   (signal["id"], "routing", "ops", 1, "set",
                                    {"key": "last-alert:{labels.host}", "value": "{subject}", "ttl": "1h"}),
                                   (signal["id"], "noise", "quiet", 0, "drop", {"reason": "{source} noise"})])
    run_jobs()
    found = [(o["ruleset"], o["rule"], o["index"], o["action"], o["state"], o["outcome"])
             for o in runner.outcomes(redis, signal["id"])]
    assert found[0][:3] == ("noise", "quiet", 0) and found[0][3:] == ("drop", "done", "dropped: nagios noise")
    assert found[1][3:5] == ("notify", "done") and found[1][5].startswith("posted to #ops (built-in room, ")
    assert found[2][3:] == ("set", "done", "set last-alert:web-01 = 'web-01/HTTP' for 3600s")
    assert facts.get(redis, "last-alert:web-01") == "web-01/HTTP"
    assert 3590 < redis.ttl(brain.key_fact("last-alert:web-01")) <= 3600
    assert facts.all_facts(redis) == {"last-alert:web-01": "web-01/HTTP"}


@pytest.mark.parametrize("action, params, reason", [
    ("notify", {"room": "#ops", "colour": "red"}, 'notify: parameter "colour": Unknown field.'),
    ("notify", {}, 'notify: parameter "room": Missing data for required field.'),
    ("group", {"room": "#ops", "by": ["labels.x"], "wait": "soon"},
     'group: parameter "wait": bad duration "soon" (use e.g. 30s, 10m, 2h, 14d)'),
    ("page_oncall", {}, 'unknown action "page_oncall"'),
])
def test_bad_actions_are_dead_letters_naming_the_problem(redis, run_jobs, rooms_env, action, params, reason):
    signal, = store(redis, alert())
    runner.enqueue_actions(redis, [(signal["id"], "routing", "ops", 0, action, params)])
    run_jobs()
    letter, = brain.dead_letters(redis)
    assert (letter["endpoint"], letter["reason"]) == (f"action:{action}", reason)
    assert json.loads(letter["body"]) == {"signal_id": signal["id"], "ruleset": "routing", "rule": "ops",
                                          "index": 0, "action": action, "params": params}


def test_a_signal_that_expired_is_a_dead_letter(redis, run_jobs, rooms_env):
    runner.enqueue_actions(redis, [("01GONE", "routing", "ops", 0, "notify", {"room": "#ops"})])
    run_jobs()
    assert brain.dead_letters(redis)[0]["reason"] == \
        "signal 01GONE is gone (unknown, or expired after SPARKY_SIGNAL_TTL)"


def test_direct_execution_without_rq(redis, rooms_env):
    signal, = store(redis, alert())
    ctx = Context(signal["id"], "routing", "ops", 0, "drop")
    assert runner.execute(redis, rooms_env, ctx, {}) == "dropped"
    assert runner.execute(redis, rooms_env, ctx, {}) == "duplicate: dropped"


@pytest.mark.parametrize("template, expected", [
    ("{subject} on {labels.host}", "web-01/HTTP on web-01"),
    ("{labels.missing}|{nothing}|{labels}", '||{"host": "web-01"}'),
    ("{{literal}} {severity}", "{literal} critical"),
    ("{labels.app.kubernetes.io/name}", "api"),
    ("", ""),
])
def test_templates_fill_fields_and_never_raise(template, expected):
    signal = alert().to_dict()
    if "kubernetes" in template:
        signal["labels"] = {"app.kubernetes.io/name": "api"}
    assert render(template, signal) == expected


def test_checked_parameters_are_remembered_but_never_shared():
    params = {"url": "http://127.0.0.1:9/hook", "headers": {"X-Team": "ops"}}
    first = runner.load_params("webhook", params)
    assert first["method"] == "POST" and first["headers"] == {"X-Team": "ops"}
    first["headers"]["X-Team"] = "changed by an action"
    again = runner.load_params("webhook", params)
    assert again == {**first, "headers": {"X-Team": "ops"}}
    # Refused parameters are refused every time, never remembered as good.
    for _ in range(2):
        with pytest.raises(runner.Permanent, match='parameter "method"'):
            runner.load_params("webhook", {**params, "method": "GET"})
