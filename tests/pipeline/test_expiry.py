"""Alerts pushed by Prometheus to /api/v2/alerts live and die as in Alertmanager (issue 11 §3).

Prometheus re-sends every firing alert each evaluation interval with `endsAt` a few intervals
ahead, and stops when the alert goes (or Prometheus dies). Through real HTTP, the shipped rules, a
real RQ worker and RQ's scheduler (which runs the expiry sweep reception scheduled) and the
built-in rooms; the clock is pinned with freezegun and moved by hand, so minutes pass in
milliseconds.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from freezegun import freeze_time

from router.alerts import state as alert_state
from router.chat import rooms
from router.core import brain
from router.core.times import iso
from router.jobs.queues import QUEUES
from router.pipeline import expiry
from sources.alertmanager import fingerprint

T0 = datetime(2026, 3, 3, 14, 0, 0, tzinfo=timezone.utc)   # a Tuesday, pinned: today is not an input
# (`@oncall` in the shipped routing is posted as whoever rules/oncall.yml puts on call: carol, that week)
ALWAYS = {"alertname": "AlwaysFiring", "instance": "web-01", "severity": "critical"}
DISK = {"alertname": "DiskFilling", "instance": "db-01", "host": "db-01", "severity": "warning"}


@pytest.fixture(autouse=True)
def built_in_rooms(monkeypatch):
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    monkeypatch.delenv("SPARKY_RESOLVE_TIMEOUT", raising=False)


def at(seconds: float):
    return freeze_time(T0 + timedelta(seconds=seconds))


def prometheus(labels: dict, starts: float | str | None = -60.0, ends: float | None = None, **annotations) -> dict:
    """One postable alert as Prometheus sends it (times relative to T0; a str is sent as is)."""
    alert = {"labels": labels, "annotations": {"summary": f"{labels['alertname']} on {labels['instance']}",
                                               **annotations}, "generatorURL": "http://prometheus:9090/graph"}
    if starts is not None:
        alert["startsAt"] = starts if isinstance(starts, str) else iso(T0 + timedelta(seconds=starts))
    if ends is not None:
        alert["endsAt"] = iso(T0 + timedelta(seconds=ends))
    return alert


def push(client, *alerts: dict) -> dict:
    response = client.post("/api/v2/alerts", data=json.dumps(list(alerts)), headers={"Content-Type": "application/json"})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def work(redis, run_jobs, seconds: float, maintenance: bool = False) -> None:
    """At T0 + seconds: RQ's scheduler moving what is due (as it does every second in a worker),
    and every queued job run; with `maintenance`, a worker's maintenance run first."""
    from rq import Queue
    from rq.scheduler import RQScheduler

    import worker

    with at(seconds):
        if maintenance:
            worker.WORKER_CLASSES["simple"](list(QUEUES), connection=redis).run_maintenance_tasks()
        scheduler = RQScheduler([Queue(q, connection=redis) for q in QUEUES], connection=redis)
        scheduler.acquire_locks()
        try:
            scheduler.enqueue_scheduled_jobs()
        finally:
            scheduler.release_locks()
        run_jobs()


def ops(redis) -> list[str]:
    return [m["text"] for m in rooms.messages(redis, "#ops", limit=100)]


def state(redis, labels: dict) -> dict:
    return alert_state.state(redis, fingerprint(labels))


def test_an_alert_whose_ends_at_passes_without_a_resend_is_resolved_in_its_thread(client, redis, run_jobs):
    with at(0):
        push(client, prometheus(ALWAYS, ends=240))                 # endsAt = 4 evaluation intervals ahead
    work(redis, run_jobs, 0)
    firing_message, = rooms.messages(redis, "#ops")
    assert firing_message["text"] == "@carol :red_circle: AlwaysFiring on web-01"

    work(redis, run_jobs, 239)                                     # not yet: endsAt is still ahead
    assert ops(redis) == ["@carol :red_circle: AlwaysFiring on web-01"]
    assert alert_state.is_firing(state(redis, ALWAYS))

    work(redis, run_jobs, 241)                                     # Prometheus went quiet: endsAt passed
    firing_message, resolved = rooms.messages(redis, "#ops")
    assert resolved["text"] == ":white_check_mark: AlwaysFiring on web-01"
    assert resolved["thread"] == firing_message["id"]              # a real resolved signal: rules ran
    after = state(redis, ALWAYS)
    assert after["status"] == "resolved" and after["resolved_at"] == iso(T0 + timedelta(seconds=240))
    assert redis.zcard(brain.key_alert_expiry()) == 0
    signal = brain.load_signal(redis, after["signal"])
    assert (signal["source"], signal["status"], signal["actor"]) == ("alertmanager", "resolved", "sparky")

    work(redis, run_jobs, 400)                                     # resolved once, not again
    assert len(ops(redis)) == 2


def test_without_ends_at_it_resolves_resolve_timeout_after_the_last_resend(client, redis, run_jobs):
    with at(0):
        push(client, prometheus(ALWAYS))                           # no endsAt: SPARKY_RESOLVE_TIMEOUT (5m)
    work(redis, run_jobs, 0)
    with at(240):
        push(client, prometheus(ALWAYS))                           # a resend, 4 minutes later
    work(redis, run_jobs, 301)                                     # 5m after the first: still alive
    assert ops(redis) == ["@carol :red_circle: AlwaysFiring on web-01"]
    assert state(redis, ALWAYS)["last_seen"] == iso(T0 + timedelta(seconds=240))

    work(redis, run_jobs, 539)
    assert len(ops(redis)) == 1
    work(redis, run_jobs, 541)                                     # 5m after the last resend
    assert ops(redis) == ["@carol :red_circle: AlwaysFiring on web-01", ":white_check_mark: AlwaysFiring on web-01"]


def test_the_resolve_timeout_is_configurable(config, redis, run_jobs, monkeypatch):
    from router.app import create_app

    monkeypatch.setenv("SPARKY_RESOLVE_TIMEOUT", "90s")           # the worker's
    client = create_app(config.with_(resolve_timeout=90)).test_client()
    with at(0):
        push(client, prometheus(ALWAYS))
    work(redis, run_jobs, 89)
    assert len(ops(redis)) == 1
    work(redis, run_jobs, 91)
    assert len(ops(redis)) == 2


def test_resends_refresh_last_seen_and_ends_at_and_are_not_evaluated_again(client, redis, run_jobs):
    first = None
    for minute in range(4):                                        # Prometheus, every evaluation interval
        with at(60 * minute):
            answer = push(client, prometheus(ALWAYS, ends=60 * minute + 240))
        first = first or answer["signals"][0]
        if minute:
            assert answer["duplicate"] is True and answer["duplicate_of"] == [first]
        work(redis, run_jobs, 60 * minute)
    assert ops(redis) == ["@carol :red_circle: AlwaysFiring on web-01"]
    now = state(redis, ALWAYS)
    assert now["last_seen"] == iso(T0 + timedelta(seconds=180))
    assert now["firing_since"] == iso(T0 - timedelta(seconds=60))
    assert float(now["expires"]) == (T0 + timedelta(seconds=420)).timestamp()   # the last endsAt
    work(redis, run_jobs, 419)
    assert len(ops(redis)) == 1                                    # the first endsAt (240) passed long ago


def test_a_prometheus_restart_with_new_starts_at_does_not_page_again(client, redis, run_jobs):
    with at(0):
        push(client, prometheus(ALWAYS, starts=-600, ends=240))
    work(redis, run_jobs, 0)
    with at(120):                                                  # restarted: every alert has a new startsAt
        answer = push(client, prometheus(ALWAYS, starts=90, ends=360))
    assert answer["accepted"] == 1                                 # a new delivery key, so a new signal ...
    work(redis, run_jobs, 120)
    assert ops(redis) == ["@carol :red_circle: AlwaysFiring on web-01"]   # ... but not a new page
    decision = client.get(f"/api/signals/{answer['signals'][0]}/decision").get_json()
    assert decision["actions"] == [] and "already firing" in decision["resend"]
    now = state(redis, ALWAYS)
    assert now["firing_since"] == iso(T0 - timedelta(seconds=600)) and now["last_seen"] == iso(T0 + timedelta(seconds=120))
    work(redis, run_jobs, 300)                                     # the new endsAt (360) keeps it alive
    assert len(ops(redis)) == 1


def test_a_real_resolution_after_sparky_resolved_it_is_not_announced_twice(client, redis, run_jobs):
    with at(0):
        push(client, prometheus(ALWAYS, ends=240))
    work(redis, run_jobs, 0)
    work(redis, run_jobs, 241)                                     # resolved by expiry
    with at(300):                                                  # Prometheus comes back: resolved at 230
        push(client, prometheus(ALWAYS, ends=230))
    work(redis, run_jobs, 300)
    assert ops(redis) == ["@carol :red_circle: AlwaysFiring on web-01", ":white_check_mark: AlwaysFiring on web-01"]


def test_an_alert_resent_after_sparky_resolved_it_fires_again(client, redis, run_jobs):
    with at(0):
        push(client, prometheus(ALWAYS, ends=240))
    work(redis, run_jobs, 0)
    work(redis, run_jobs, 241)
    with at(300):                                                  # still firing after all (same startsAt)
        answer = push(client, prometheus(ALWAYS, ends=540))
    assert answer["accepted"] == 1                                 # not a duplicate of the first delivery
    work(redis, run_jobs, 300)
    assert ops(redis)[-1] == "@carol :red_circle: AlwaysFiring on web-01" and len(ops(redis)) == 3
    assert alert_state.is_firing(state(redis, ALWAYS))


@pytest.mark.parametrize("starts", ["0001-01-01T00:00:00Z", None])
def test_a_zero_or_missing_starts_at_means_now(client, redis, run_jobs, starts):
    """`amtool alert add` sends Go's zero time: not "firing since year 1"."""
    with at(0):
        signal_id = push(client, prometheus(ALWAYS, starts=starts))["signals"][0]
    work(redis, run_jobs, 0)
    assert brain.load_signal(redis, signal_id)["occurred_at"] == iso(T0)
    assert state(redis, ALWAYS)["firing_since"] == iso(T0)
    from router.commands.alerts import age
    assert age(state(redis, ALWAYS)["firing_since"], (T0 + timedelta(minutes=3)).timestamp()) == "3m"


def test_a_grouped_firing_message_never_follows_its_own_resolution(client, redis, run_jobs):
    """Warnings are grouped for 1m (rules/routing.yml); one resolves within that minute."""
    other = {**DISK, "alertname": "InodesFilling"}
    with at(0):
        push(client, prometheus(DISK, ends=240), prometheus(other, ends=240))
    work(redis, run_jobs, 0)
    assert ops(redis) == []                                        # waiting for the group's minute
    with at(10):
        push(client, prometheus(DISK, ends=5))                     # DiskFilling resolved at 5s
    work(redis, run_jobs, 10)
    assert ops(redis) == [":white_check_mark: DiskFilling on db-01"]
    work(redis, run_jobs, 61)                                      # the group's flush
    resolved, grouped = rooms.messages(redis, "#ops")
    assert grouped["text"] == "[FIRING:1] host=db-01\n• :warning: InodesFilling on db-01"
    assert grouped["context"] == "1 alerts grouped; 1 resolved since, not shown"


def test_a_group_whose_alerts_all_resolved_posts_nothing(client, redis, run_jobs):
    with at(0):
        push(client, prometheus(DISK, ends=240))
    work(redis, run_jobs, 0)
    with at(10):
        push(client, prometheus(DISK, ends=5))
    work(redis, run_jobs, 61)
    assert ops(redis) == [":white_check_mark: DiskFilling on db-01"]


def test_the_sweep_runs_twice_and_resolves_once(client, redis, run_jobs):
    with at(0):
        push(client, prometheus(ALWAYS, ends=240))
    work(redis, run_jobs, 0)
    due_at = (T0 + timedelta(seconds=241)).timestamp()
    from router.core.config import Config
    first = expiry.sweep_with(redis, Config(), now=due_at)
    assert len(first) == 1
    redis.zadd(brain.key_alert_expiry(), {fingerprint(ALWAYS): (T0 + timedelta(seconds=240)).timestamp()})
    assert expiry.sweep_with(redis, Config(), now=due_at) == []    # its delivery key: a duplicate
    work(redis, run_jobs, 242)
    assert len(ops(redis)) == 2


@pytest.mark.parametrize("value, seconds", [("", 300), ("5m", 300), ("300", 300), ("90s", 90), ("1h", 3600)])
def test_resolve_timeout_reads_seconds_or_alertmanager_durations(value, seconds):
    from router.core.config import Config

    assert Config.from_env({"SPARKY_RESOLVE_TIMEOUT": value}).resolve_timeout == seconds


@pytest.mark.parametrize("value", ["soon", "0", "-5m", "5d"])
def test_a_bad_resolve_timeout_is_refused_naming_the_variable(value):
    from router.core.config import Config, ConfigError

    with pytest.raises(ConfigError) as refused:
        Config.from_env({"SPARKY_RESOLVE_TIMEOUT": value})
    assert str(refused.value) == f"SPARKY_RESOLVE_TIMEOUT must be a duration such as 300, 90s or 5m, got {value!r}"


def test_a_lost_sweep_is_scheduled_again_by_a_workers_maintenance(client, redis, run_jobs):
    with at(0):
        push(client, prometheus(ALWAYS, ends=240))
    work(redis, run_jobs, 0)
    from tests.actions.conftest import scheduled
    assert list(scheduled(redis).values()) == [(T0 + timedelta(seconds=240)).timestamp()]
    redis.delete(*[f"rq:scheduled:{q}" for q in QUEUES])          # the scheduled sweep is lost ...
    work(redis, run_jobs, 300)
    assert len(ops(redis)) == 1
    redis.delete(brain.key_expiry_sweep())                        # ... and its flag ran out
    work(redis, run_jobs, 400, maintenance=True)
    assert ops(redis)[-1] == ":white_check_mark: AlwaysFiring on web-01"


def test_an_earlier_expiry_gets_its_own_sweep(client, redis, run_jobs):
    with at(0):
        push(client, prometheus(ALWAYS, ends=600))
        push(client, prometheus(DISK, ends=120))                  # due before the sweep at 600
    work(redis, run_jobs, 0)
    work(redis, run_jobs, 119)
    assert [t.split("\n")[0] for t in ops(redis)] == ["@carol :red_circle: AlwaysFiring on web-01",
                                                      "[FIRING:1] host=db-01"]
    work(redis, run_jobs, 121)
    assert ops(redis)[-1] == ":white_check_mark: DiskFilling on db-01"
    assert alert_state.is_firing(state(redis, ALWAYS))
    work(redis, run_jobs, 601)
    assert ops(redis)[-1] == ":white_check_mark: AlwaysFiring on web-01"
