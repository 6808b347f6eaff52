"""`mute_during:` on notify, group and escalate: nothing is posted while a named time interval of
the rules in force holds (on a pinned clock), and the outcome says which."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from freezegun import freeze_time

from actions import escalate
from router.chat import rooms
from router.jobs import runner
from router.jobs.context import Context
from tests.actions.conftest import alert, store

ROUTING = """\
ruleset: routing
time_intervals:
  - name: nights
    time_intervals:
      - times: [{start_time: "22:00", end_time: "24:00"}, {start_time: "00:00", end_time: "07:00"}]
        location: Europe/Berlin
rules:
  - {name: default, when: {}, then: [drop]}
"""
NIGHT = datetime(2026, 3, 29, 21, 30, tzinfo=timezone.utc)      # 23:30 CEST
DAY = datetime(2026, 3, 30, 8, 0, tzinfo=timezone.utc)          # 10:00 CEST


@pytest.fixture
def env(rules_dir, rooms_env):
    (rules_dir / "routing.yml").write_text(ROUTING)
    return rooms_env


def test_notify_is_muted_at_night_and_posts_by_day(redis, env):
    night, day = store(redis, alert("web-01/HTTP"), alert("web-02/HTTP"))
    params = {"room": "#ops", "mute_during": ["nights"]}
    with freeze_time(NIGHT):
        outcome = runner.execute(redis, env, Context(night["id"], "routing", "r", 0, "notify"), params)
    assert outcome == "muted: time interval nights holds (mute_during); not posted to #ops"
    assert rooms.messages(redis, "#ops", 10) == []
    with freeze_time(DAY):
        runner.execute(redis, env, Context(day["id"], "routing", "r", 0, "notify"), params)
    assert [m["text"] for m in rooms.messages(redis, "#ops", 10)] == ["CRITICAL web-02/HTTP: down"]


def test_group_does_not_count_a_muted_alert(redis, env):
    (signal,) = store(redis, alert("db-1/Disk"))
    with freeze_time(NIGHT):
        outcome = runner.execute(redis, env, Context(signal["id"], "routing", "g", 0, "group"),
                                 {"room": "#ops", "by": ["labels.host"], "mute_during": "nights"})
    assert outcome.startswith("muted: time interval nights holds")


def test_an_escalation_round_at_night_is_not_posted(redis, env):
    from router.alerts import state
    from router.core import brain
    from router.oncall import escalation

    (signal,) = store(redis, alert("web-01/HTTP"))
    state.record(redis, signal)
    ctx = Context(signal["id"], "routing", "e", 0, "escalate")
    with freeze_time(NIGHT):
        escalate.escalate(signal, redis, env, after="15m", mention="@oncall", room="#ops", mute_during=["nights"],
                          ctx=ctx)
        run_id = brain.digest(ctx.key, 16)
        outcome = escalation.step_with(redis, env, "web-01/HTTP", run_id, 1, 1)
    assert "muted: time interval nights holds" in outcome
    assert rooms.messages(redis, "#ops", 10) == []

    (day_signal,) = store(redis, alert("web-02/HTTP"))
    state.record(redis, day_signal)
    day_ctx = Context(day_signal["id"], "routing", "e", 0, "escalate")
    with freeze_time(DAY):
        escalate.escalate(day_signal, redis, env, after="15m", mention="@oncall", room="#ops",
                          mute_during=["nights"], ctx=day_ctx)
        outcome = escalation.step_with(redis, env, "web-02/HTTP", brain.digest(day_ctx.key, 16), 1, 1)
    assert outcome.startswith("escalated to @oncall")
