"""`repeat: 4h` on notify and group (Alertmanager's repeat_interval), on a pinned clock with RQ's
own scheduler: re-announced in the alert's thread while it fires; a round skipped while it is
snoozed or inhibited; stopped by an ack, a resolution, or a later notification's own chain."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from freezegun import freeze_time

from router.alerts import state
from router.chat import rooms
from router.core import brain
from router.jobs import runner
from router.jobs.context import Context
from tests.actions.conftest import alert, scheduled, store

T0 = datetime(2026, 3, 28, 20, 0, tzinfo=timezone.utc).timestamp()   # the evening before Berlin's DST change
H = 3600

SUPPRESSION = """\
ruleset: suppression
inhibit_rules:
  - source_matchers: ['service="PING"']
    target_matchers: ['service!="PING"']
    equal: [host]
rules:
  - {name: inhibited, when: {kind: alert, inhibited: true}, then: [drop]}
"""
ROUTING = """\
ruleset: routing
rules:
  - {name: default, when: {}, then: [drop]}
"""


@pytest.fixture
def env(rules_dir, rooms_env):
    (rules_dir / "suppression.yml").write_text(SUPPRESSION)
    (rules_dir / "routing.yml").write_text(ROUTING)
    return rooms_env


def posted(redis) -> list[dict]:
    return rooms.messages(redis, "#ops", 100)


def fire(redis, env, fingerprint: str, at: float, action: str = "notify", **params) -> dict:
    (signal,) = store(redis, alert(fingerprint, labels={"host": fingerprint.split("/")[0],
                                                        "service": fingerprint.split("/")[1]}))
    with freeze_time(datetime.fromtimestamp(at, timezone.utc)):
        state.record(redis, signal)
        outcome = runner.execute(redis, env, Context(signal["id"], "routing", "r", 0, action),
                                 {"room": "#ops", "repeat": "4h", **params})
    return {**signal, "outcome": outcome}


def test_repeats_in_the_thread_skip_while_inhibited_and_stop_at_the_ack(redis, env, clock):
    first = fire(redis, env, "web-01/HTTP", T0)
    assert first["outcome"].endswith("; again every 4h while it fires")
    assert list(scheduled(redis).values()) == [T0 + 4 * H]

    clock.run_at(T0 + 4 * H)
    head, again = posted(redis)
    assert again["text"].startswith("still firing (repeated every 4h, since ")
    assert again["text"].endswith("): CRITICAL web-01/HTTP: down")
    assert again["thread"] == head["id"]                       # in the alert's thread
    assert list(scheduled(redis).values()) == [T0 + 8 * H]

    fire(redis, env, "web-01/PING", T0 + 5 * H, repeat="")     # the host's PING fires: it inhibits HTTP
    clock.run_at(T0 + 8 * H)
    assert len([m for m in posted(redis) if "web-01/HTTP" in m["text"]]) == 2      # round 2: not posted
    outcomes = {k.decode(): v.decode() for k, v in redis.hgetall(brain.key_action_outcomes(first["id"])).items()}
    assert any("round 2 not posted: inhibited by web-01/PING" in v for v in outcomes.values())
    assert T0 + 12 * H in scheduled(redis).values()

    (ok,) = store(redis, alert("web-01/PING", status="resolved", labels={"host": "web-01", "service": "PING"}))
    with freeze_time(datetime.fromtimestamp(T0 + 9 * H, timezone.utc)):        # PING is back
        state.record(redis, ok)
    redis.hset(brain.key_alert("web-01/HTTP"), "acked_by", "alice")
    clock.run_at(T0 + 12 * H)
    assert len([m for m in posted(redis) if "web-01/HTTP" in m["text"]]) == 2
    assert not any(at > T0 + 12 * H for at in scheduled(redis).values())         # the ack stopped it


def test_resolution_stops_the_repeats_and_a_later_notification_takes_over(redis, env, clock):
    first = fire(redis, env, "db-1/Disk", T0)
    second = fire(redis, env, "db-1/Disk", T0 + 2 * H)           # a re-notification, posted: its own chain
    clock.run_at(T0 + 4 * H)                                       # the first chain's round: superseded
    assert [m["text"] for m in posted(redis)].count("CRITICAL db-1/Disk: down") == 2
    assert not any(m["text"].startswith("still firing") for m in posted(redis))
    clock.run_at(T0 + 6 * H)                                       # the second's
    assert [m["text"].startswith("still firing") for m in posted(redis)].count(True) == 1

    (ok,) = store(redis, alert("db-1/Disk", status="resolved"))     # (its id sorts after the firing ones')
    with freeze_time(datetime.fromtimestamp(T0 + 7 * H, timezone.utc)):
        state.record(redis, ok)
    clock.run_at(T0 + 10 * H)
    assert [m["text"].startswith("still firing") for m in posted(redis)].count(True) == 1
    assert scheduled(redis) == {}
    outcomes = {k.decode(): v.decode() for k, v in redis.hgetall(brain.key_action_outcomes(second["id"])).items()}
    assert any("stopped: resolved" in v for v in outcomes.values())
    assert first["id"] != second["id"]


def test_group_repeats_each_grouped_alert(redis, env, clock):
    grouped = fire(redis, env, "db-2/Disk", T0, action="group", by=["labels.host"], wait="1m")
    assert grouped["outcome"].endswith("; again every 4h while it fires")
    clock.run_at(T0 + 60)                                          # the group's message
    clock.run_at(T0 + 4 * H)
    texts = [m["text"] for m in posted(redis)]
    assert texts[0].startswith("[FIRING:1] host=db-2") and texts[1].startswith("still firing (repeated every 4h")


def test_a_snoozed_alert_skips_its_rounds_and_repeats_again_after_the_snooze(redis, env, clock):
    first = fire(redis, env, "web-03/HTTP", T0)
    with freeze_time(datetime.fromtimestamp(T0 + H, timezone.utc)):
        brain.put_snooze(redis, {"id": "s1", "matchers": [{"name": "host", "op": "=", "value": "web-03"}],
                                 "starts_at": T0 + H, "ends_at": T0 + 6 * H})
    clock.run_at(T0 + 4 * H)
    assert not any(m["text"].startswith("still firing") for m in posted(redis))
    outcomes = {k.decode(): v.decode() for k, v in redis.hgetall(brain.key_action_outcomes(first["id"])).items()}
    assert any("round 1 not posted: snoozed by s1" in v for v in outcomes.values())
    clock.run_at(T0 + 8 * H)                                       # the snooze ended at +6h
    assert [m["text"].startswith("still firing") for m in posted(redis)].count(True) == 1
