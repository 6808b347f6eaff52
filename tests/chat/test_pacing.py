"""SPARKY_SLACK_RATE: messages to one channel are spread out (queued, never dropped), across
worker processes because the pace lives in Redis; built-in rooms are not paced."""
from __future__ import annotations

import time

from router.chat import pacing as ratelimit
from router.jobs import runner
from tests.actions.conftest import alert, scheduled, store


def test_five_messages_at_one_per_second_are_spread_over_four_seconds(redis, run_jobs, clock, fake_slack,
                                                                        slack_env, monkeypatch):
    monkeypatch.setenv("SPARKY_SLACK_RATE", "1")
    signals = store(redis, *[alert(f"web-0{i}/HTTP") for i in range(5)])
    runner.enqueue_actions(redis, [(s["id"], "routing", "ops", 0, "notify", {"room": "#ops"})
                                   for s in signals])
    start = time.time()
    assert run_jobs() == 1                               # one job for the five (runner.BATCH)
    assert len(fake_slack.posts()) == 1                  # the first goes at once
    due = sorted(scheduled(redis).values())              # the others wait for their slots
    assert len(due) == 4
    slots = sorted(ratelimit.reserved(redis, "#ops").values())
    assert [round(b - a, 3) for a, b in zip(slots, slots[1:])] == [1.0, 1.0, 1.0]
    assert slots[0] - start <= 1.5 and slots[-1] - start >= 4
    assert all(d >= s for d, s in zip(due, slots))       # never before its slot
    assert due[-1] - due[0] >= 3

    for at in due:
        clock.run_at(at)
    posts = fake_slack.posts()
    assert len(posts) == 5 and not scheduled(redis)
    assert sorted(p["text"] for p in posts) == sorted(s["summary"] for s in signals)
    assert ratelimit.reserved(redis, "#ops") == {}


def test_other_channels_and_rate_zero_are_not_held_back(redis, run_jobs, fake_slack, slack_env, monkeypatch):
    monkeypatch.setenv("SPARKY_SLACK_RATE", "1")
    signals = store(redis, *[alert(f"web-0{i}/HTTP") for i in range(3)])
    runner.enqueue_actions(redis, [(s["id"], "routing", "ops", 0, "notify", {"room": f"#team-{i}"})
                                   for i, s in enumerate(signals)])
    run_jobs()
    assert len(fake_slack.posts()) == 3 and not scheduled(redis)

    monkeypatch.setenv("SPARKY_SLACK_RATE", "0")
    runner.enqueue_actions(redis, [(s["id"], "routing", "ops", 1, "notify", {"room": "#team-0"})
                                   for s in signals])
    run_jobs()
    assert len(fake_slack.posts()) == 6 and not scheduled(redis)


def test_the_pace_is_shared_by_every_caller(redis):
    """Two workers asking at the same instant get different slots (the script is atomic)."""
    now = 1_800_000_000.0
    first = ratelimit.acquire(redis, "#ops", "a", 2, {"state": "sending"}, now=now)
    second = ratelimit.acquire(redis, "#ops", "b", 2, {"state": "sending"}, now=now)
    again = ratelimit.acquire(redis, "#ops", "b", 2, {"state": "sending"}, now=now + 0.1)
    assert first == ("go", None)
    assert second == ("wait", now + 0.5) and again == ("wait", now + 0.5)   # its slot is kept for it
    assert ratelimit.acquire(redis, "#ops", "b", 2, {"state": "sending"}, now=now + 0.5) == ("go", None)
    assert ratelimit.acquire(redis, "#ops", "b", 2, {}, now=now + 0.6)[0] == "sending"
