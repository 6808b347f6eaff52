"""escalate: a check scheduled `after` from now posts again with the mention, unless the alert was
acknowledged or resolved meanwhile. RQ's scheduled times stand in for waiting."""
from __future__ import annotations

import time

from actions import escalate
from router.alerts import state as alerts
from router.core import brain
from router.jobs import runner
from router.jobs.context import Context
from tests.actions.conftest import alert, scheduled, store

RULE = [("notify", {"room": "#ops"}), ("escalate", {"after": "15m", "mention": "@oncall"})]


def fire(redis, run_jobs, signal):
    alerts.record(redis, signal)           # what the evaluation job does before the rules run
    runner.enqueue_actions(redis, [(signal["id"], "routing", "page", i, name, params)
                                   for i, (name, params) in enumerate(RULE)])
    start = time.time()
    run_jobs()
    (job_id, due), = scheduled(redis).items()
    assert job_id.startswith("esc-") and 900 <= due - start <= 902
    return due


def test_unacknowledged_alert_is_escalated_in_its_thread(redis, run_jobs, clock, fake_slack, slack_env):
    signal, = store(redis, alert())
    due = fire(redis, run_jobs, signal)
    assert clock.run_at(due - 2) == 0
    clock.run_at(due)
    firing, escalation = fake_slack.post_calls()
    body = escalation["body"]
    assert body["text"] == ("<@U01ALICE> <@U01BOB> still firing after 15m, not acknowledged: "
                            "CRITICAL web-01/HTTP: down")
    assert body["thread_ts"] == fake_slack.posts()[0]["ts"] and body["reply_broadcast"] is True
    assert [e["action_id"] for e in body["blocks"][-1]["elements"]] == ["sparky_ack", "sparky_snooze_1h"]
    steps = [o.get("step") for o in runner.outcomes(redis, signal["id"])]
    assert steps == [None, None, "escalation/1"]
    assert not scheduled(redis)                                    # repeat: 0


def test_acknowledged_alert_is_not_escalated(redis, run_jobs, clock, fake_slack, slack_env):
    signal, = store(redis, alert())
    due = fire(redis, run_jobs, signal)
    # the ack command (issue 5) or a Nagios ACKNOWLEDGEMENT records who acknowledged it
    ack, = store(redis, alert(status="acknowledged", actor="bob"))
    alerts.record(redis, ack)
    assert alerts.acked_by(redis, "web-01/HTTP") == "bob"
    clock.run_at(due)
    assert len(fake_slack.post_calls()) == 1
    last = runner.outcomes(redis, signal["id"])[-1]
    assert (last["step"], last["outcome"]) == ("escalation/1", "stopped: acknowledged by bob")


def test_resolved_alert_is_not_escalated(redis, run_jobs, clock, fake_slack, slack_env):
    signal, = store(redis, alert())
    due = fire(redis, run_jobs, signal)
    alerts.record(redis, store(redis, alert(status="resolved"))[0])
    clock.run_at(due)
    assert len(fake_slack.post_calls()) == 1
    assert runner.outcomes(redis, signal["id"])[-1]["outcome"] == "stopped: resolved"


def test_repeat_escalates_again_until_acknowledged(redis, run_jobs, clock, rooms_env):
    signal, = store(redis, alert())
    alerts.record(redis, signal)
    ctx = Context(signal["id"], "routing", "page", 1, "escalate")
    escalate.escalate(signal, redis, rooms_env, after="10m", mention="@alice", repeat=2, room="#ops", ctx=ctx)
    due = list(scheduled(redis).values())[0]
    clock.run_at(due)
    (_, due2), = scheduled(redis).items()
    assert 600 <= due2 - due <= 602
    redis.hset(brain.key_alert("web-01/HTTP"), "acked_by", "alice")
    clock.run_at(due2)
    from router.chat import rooms

    assert [m["text"] for m in rooms.messages(redis, "#ops")] == [
        "@alice still firing after 10m, not acknowledged: CRITICAL web-01/HTTP: down"]
    assert not scheduled(redis)


def test_only_firing_alerts_escalate(redis, rooms_env):
    signal, = store(redis, alert(status="resolved"))
    ctx = Context(signal["id"], "routing", "page", 1, "escalate")
    out = escalate.escalate(signal, redis, rooms_env, after="5m", mention="@alice", ctx=ctx)
    assert out == "not escalated: alert resolved is not a firing alert"
