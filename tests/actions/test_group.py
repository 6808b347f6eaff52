"""group: a flood becomes a handful of messages whose counts add up, built on RQ's scheduler.

Time is simulated: alerts arrive at chosen instants (freezegun) and the flush jobs run when RQ's
scheduler would move them (tests/actions/conftest.py Clock), so 100 s of flood take no 100 s.
"""
from __future__ import annotations

import re
import time
from datetime import datetime, timezone

from freezegun import freeze_time

from router.chat import rooms
from router.core import brain
from router.jobs import runner
from router.jobs.context import Context
from tests.actions.conftest import alert, scheduled, store

PARAMS = {"room": "#ops", "by": ["labels.alertname"], "wait": "30s"}


def counts_in(messages: list[dict]) -> list[int]:
    return [int(m["count"]) for m in messages]


def test_a_flood_of_5000_alerts_becomes_a_few_messages_that_count_them_all(redis, clock, rooms_env):
    disk = {"alertname": "DiskFull"}
    signals = store(redis, *[alert(f"db-{i:04d}/Disk", labels=disk) for i in range(5000)])
    start = time.time()
    with freeze_time(datetime.fromtimestamp(start, timezone.utc)) as frozen:
        for i, signal in enumerate(signals):
            now = start + i * 0.02                                  # 50 alerts/s for 100 s
            for due in sorted(d for d in scheduled(redis).values() if d <= now) if i % 50 == 0 else []:
                clock.run_at(due)
            frozen.move_to(datetime.fromtimestamp(now, timezone.utc))
            ctx = Context(signal["id"], "routing", "disk", 0, "group")
            outcome = runner.execute(redis, rooms_env, ctx, PARAMS)
            assert outcome.startswith("grouped into [alertname=DiskFull]")
            if i % 1000 == 999:                                     # a re-run job counts nothing
                assert runner.execute(redis, rooms_env, ctx, PARAMS).startswith("duplicate")
    while scheduled(redis):
        clock.run_at(max(scheduled(redis).values()))

    messages = rooms.messages(redis, "#ops", limit=100)
    # group_wait 30s, group_interval 5m: one message after 30s, the rest of the 100s flood 5m later
    # (the flush runs within the second after it is due, as RQ's scheduler polls once a second)
    assert len(messages) == 2 and 1500 <= counts_in(messages)[0] <= 1600
    assert sum(counts_in(messages)) == 5000
    first = messages[0]
    assert re.match(r"^\[FIRING:\d+\] alertname=DiskFull\n• CRITICAL db-\d{4}/Disk: down\n", first["text"])
    assert first["text"].endswith(f"… and {first['count'] - brain.GROUP_SAMPLE_CAP} more")
    # the first message went out `wait` after the first alert; the next no sooner than 5m after it
    assert first["context"] == f"{first['count']} alerts grouped"
    assert redis.zcard(brain.key_groups()) == 0


def test_groups_are_per_by_value_and_per_rule(redis, run_jobs, clock, rooms_env):
    disk, down = {"alertname": "DiskFull"}, {"alertname": "Down"}
    signals = store(redis, alert("a/1", labels=disk), alert("b/1", labels=disk), alert("c/1", labels=down),
                    alert("d/1", status="resolved", labels=disk))
    runner.enqueue_actions(redis, [(s["id"], "routing", "r", 0, "group", PARAMS) for s in signals]
                           + [(signals[0]["id"], "routing", "other-rule", 0, "group", PARAMS)])
    run_jobs()
    assert rooms.messages(redis, "#ops") == []                    # nothing before `wait`
    due = scheduled(redis)
    assert len(due) == 3                                          # DiskFull, Down, and the other rule's
    clock.run_at(max(due.values()))
    texts = sorted(m["text"].splitlines()[0] for m in rooms.messages(redis, "#ops"))
    assert texts == ["[FIRING:1] alertname=DiskFull",               # the other rule's group
                     "[FIRING:1] alertname=Down", "[FIRING:2, RESOLVED:1] alertname=DiskFull"]


def test_a_flush_that_dies_after_taking_the_window_posts_it_on_retry(redis, run_jobs, clock, rooms_env):
    from actions import group

    signal, = store(redis, alert(labels={"alertname": "X"}))
    runner.execute(redis, rooms_env, Context(signal["id"], "routing", "r", 0, "group"), PARAMS)
    (job_id, due), = scheduled(redis).items()
    gid = job_id.split("-")[1]
    at = redis.hget(brain.key_group(gid, "state"), "flush_at").decode()
    keys = group._keys(gid)
    # the window is taken into its snapshot, then the process dies before posting
    assert redis.eval(group.TAKE, 8, keys["counts"], keys["sample"], keys["state"], keys["snap-counts"],
                      keys["snap-sample"], brain.key_groups(), keys["firing"], keys["snap-firing"],
                      time.time(), gid, at)
    clock.run_at(due)                                             # the scheduled flush finds the snapshot
    message, = rooms.messages(redis, "#ops")
    assert message["count"] == 1
    clock.run_at(due)
    assert len(rooms.messages(redis, "#ops")) == 1


def test_interval_sets_a_busy_groups_pace(redis, clock, rooms_env):
    signals = store(redis, *[alert(f"db-{i:03d}/Disk", labels={"alertname": "DiskFull"}) for i in range(600)])
    params = {**PARAMS, "wait": "10s", "interval": "20s"}
    start = time.time()
    with freeze_time(datetime.fromtimestamp(start, timezone.utc)) as frozen:
        for i, signal in enumerate(signals):
            now = start + i * 0.1                                   # 10 alerts/s for 60 s
            for due in sorted(d for d in scheduled(redis).values() if d <= now) if i % 10 == 0 else []:
                clock.run_at(due)
            frozen.move_to(datetime.fromtimestamp(now, timezone.utc))
            runner.execute(redis, rooms_env, Context(signal["id"], "routing", "disk", 0, "group"), params)
    while scheduled(redis):
        clock.run_at(max(scheduled(redis).values()))
    messages = rooms.messages(redis, "#ops", limit=100)
    # the first 10 s after the first alert, then one per 20 s while alerts keep coming (at ~10, 30, 50
    # and 70 s), where the default 5m interval would have sent the first and, 5 minutes later, the rest
    assert len(messages) == 4
    assert sum(counts_in(messages)) == 600
