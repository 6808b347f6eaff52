"""Escalation chains at a pinned clock, through the hooks, a real RQ worker and its scheduler:
page → no ack → the next step → ack stops it; `escalate` by hand; `resolve` from chat."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from router.chat import rooms
from router.commands.channels import chat_signal
from router.core import brain
from router.core.signal import Signal
from tests.actions.conftest import Clock, scheduled

BERLIN = ZoneInfo("Europe/Berlin")
T0 = dt.datetime(2026, 10, 19, 10, 0, tzinfo=BERLIN)   # ops: bob primary, dave secondary that week
FP = "db-01/Postgres"


@pytest.fixture
def clock(redis, run_jobs):
    return Clock(redis, run_jobs)


def at(minutes: float) -> float:
    return T0.timestamp() + minutes * 60


def fire(client, run_jobs) -> str:
    with time_machine.travel(T0, tick=False):    # the signal's id (a ULID) is a time too
        signal = Signal(source="nagios", kind="alert", status="firing", severity="critical", subject=FP,
                        fingerprint=FP, labels={"host": "db-01", "team": "db"}, summary="CRITICAL db-01/Postgres: down")
        answer = client.post("/hooks/generic", json=signal.to_dict())
        assert answer.status_code == 202, answer.json
        run_jobs()
    return answer.json["signals"][0]


def say(client, run_jobs, redis, user: str, text: str, when: float) -> str:
    with time_machine.travel(dt.datetime.fromtimestamp(when, dt.timezone.utc), tick=False):
        answer = client.post("/api/rooms/%23ops/messages", json={"user": user, "text": text})
        assert answer.status_code == 202, answer.json
        run_jobs()
    (sid,) = answer.json["signals"]
    (reply,) = [m["text"] for m in rooms.messages(redis, "#ops", 500) if m.get("reply_to") == sid]
    return reply


def pages(redis) -> list[str]:
    return [m["text"] for m in rooms.messages(redis, "#ops", 500) if "escalation" in (m.get("key") or "")]


def test_page_no_ack_next_step_then_ack_stops_it(client, redis, run_jobs, clock):
    fire(client, run_jobs)
    assert pages(redis) == ["@bob paging: CRITICAL db-01/Postgres: down"]
    assert [round(due - at(0)) for due in scheduled(redis).values()] == [600]

    assert clock.run_at(at(9.9)) == 0                       # not yet
    clock.run_at(at(10))                                     # nobody acked: the secondary
    assert pages(redis)[1:] == ["@dave still firing after 10m, not acknowledged: CRITICAL db-01/Postgres: down"]

    view = client.get(f"/api/alerts/{FP}/escalation").json
    (run,) = view["escalations"]
    assert (run["policy"], run["state"], run["round"]) == ("ops-critical", "running", 1)
    assert [h["who"] for h in run["history"] if h.get("step")] == ["bob", "dave"]
    assert run["summary"] == (f"ops-critical: running, 2 page(s) so far (round 1); next: step 5 (group leads) "
                              f"at {dt.datetime.fromtimestamp(at(20), dt.timezone.utc):%Y-%m-%dT%H:%M}:00.000Z")

    assert say(client, run_jobs, redis, "dave", f"ack {FP} on it", at(12)).startswith("dave acked")
    clock.run_at(at(20))
    assert len(pages(redis)) == 2                            # the leads were not paged
    run = client.get(f"/api/alerts/{FP}/escalation").json["escalations"][0]
    assert run["state"] == "acked" and run["history"][-1]["what"] == "stopped: acknowledged by dave"
    assert not scheduled(redis)
    why = say(client, run_jobs, redis, "alice", f"why {FP}", at(21))
    assert "Escalation ops-critical: acked after 2 page(s)." in why

    events = client.get(f"/api/alerts/{brain.alert_id(FP)}/timeline").json["events"]
    assert [(e["event"], e["who"]) for e in events] == [
        ("signal", "nagios"), ("decision", "sparky"), ("escalation.started", ""), ("escalation.paged", "bob"),
        ("action.done", "sparky"), ("action.done", "sparky"), ("escalation.paged", "dave"), ("alert.acked", "dave"),
        ("escalation.stopped", "")]
    assert events[1]["what"].startswith(f"rules version {events[1]['rules_version']}: oncall/escalate-db, oncall/page")
    assert events[4]["what"].startswith("escalate: escalated to @bob (round 1): posted to #ops")
    assert events[5]["what"].startswith("notify: posted to #ops")
    assert [e["at"][11:16] for e in events] == ["08:00"] * 6 + ["08:10", "08:12", "08:20"]
    text = say(client, run_jobs, redis, "carol", f"timeline {FP}", at(22))
    assert text.splitlines()[0] == f"`{brain.alert_id(FP)}` {FP} (firing)"
    assert text.splitlines()[-2] == "04:12 EDT  alert.acked: ack db-01/Postgres: on it (dave)"   # carol: New York


def test_a_retried_step_job_never_pages_twice(client, redis, run_jobs, clock):
    from router.core.config import Config
    from router.oncall import escalation

    fire(client, run_jobs)
    (before,) = brain.escalations(redis, FP)
    clock.run_at(at(10))
    assert len(pages(redis)) == 2
    again = dict(run_id=before["id"], position=before["position"], round_=before["round"])
    with time_machine.travel(dt.datetime.fromtimestamp(at(10.5), dt.timezone.utc), tick=False):
        # the same job delivered twice: the run has moved on
        assert escalation.step_with(redis, Config.from_env(), FP, **again) == \
            "skipped: the run moved on (escalated by hand)"
        # the job died after paging, before it saved where the run stands: its retry pages again ...
        brain.put_escalation(redis, before)
        out = escalation.step_with(redis, Config.from_env(), FP, **again)
    assert "already posted to #ops" in out, out
    assert len(pages(redis)) == 2                            # ... under the same delivery key: once


def test_escalate_by_hand_pages_the_next_step_now_and_the_old_wait_does_nothing(client, redis, run_jobs, clock):
    fire(client, run_jobs)
    alert_id = brain.alert_id(FP)
    reply = say(client, run_jobs, redis, "carol", f"escalate {alert_id}", at(3))
    assert reply.startswith(f"carol escalated `{alert_id}`"), reply
    assert pages(redis)[1] == "@dave still firing after 3m, not acknowledged: CRITICAL db-01/Postgres: down"
    clock.run_at(at(10))                                     # the wait that was pending: skipped
    assert len(pages(redis)) == 2
    clock.run_at(at(13))                                     # 10 minutes after the manual page: the leads
    assert pages(redis)[2].startswith("@leads still firing after 13m")
    (entry,), _ = brain.audit_entries(redis, 10, filters={"event": "alert.escalated"})
    assert entry["who"] == "carol"


def test_resolve_from_chat_announces_it_and_stops_the_escalation(client, redis, run_jobs, clock):
    fire(client, run_jobs)
    assert say(client, run_jobs, redis, "carol", f"resolve {FP} gone", at(1)).startswith("Refused: ")
    assert say(client, run_jobs, redis, "alice", f"resolve {FP} replaced the disk", at(2)) == \
        f"alice resolved `{brain.alert_id(FP)}` {FP}: replaced the disk"
    assert brain.load_alert(redis, FP)["status"] == "resolved"
    clock.run_at(at(10))
    assert len(pages(redis)) == 1
    run = client.get(f"/api/alerts/{FP}/escalation").json["escalations"][0]
    assert run["state"] == "resolved"
    (entry,), _ = brain.audit_entries(redis, 10, filters={"event": "alert.resolved"})
    assert (entry["who"], entry["reason"]) == ("alice", "replaced the disk")


def test_unknown_alert_is_a_404(client, config):
    assert client.get("/api/alerts/nope/escalation").status_code == 404


def test_escalate_usage(redis, config):
    from router.commands.execute import execute

    reply = execute(redis, config, chat_signal("room", "escalate", "#ops", "alice").to_dict())
    assert reply.outcome == "usage"


def test_escalate_while_a_step_job_holds_the_run_waits_its_turn(client, redis, run_jobs, clock):
    fire(client, run_jobs)
    (run,) = brain.escalations(redis, FP)
    redis.set(brain.key_escalation_lock(run["id"]), "1", ex=30)     # a step job is moving it on
    reply = say(client, run_jobs, redis, "carol", f"escalate {FP}", at(3))
    assert reply.startswith(f"{FP} is being paged right now (ops-critical: running, 1 page(s)"), reply
    assert len(pages(redis)) == 1
    assert brain.audit_entries(redis, 10, filters={"event": "alert.escalated"})[0] == []
