"""Real `python worker.py` processes delivering to the fake Slack: the happy path, and kill -9 in
the middle of a burst (every message arrives, none twice)."""
from __future__ import annotations

import os
import signal as signals
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from router.core import brain
from router.jobs import runner
from tests.actions.conftest import alert, nagios_signal, store
from tests.fakeslack import TOKEN

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def start_worker(redis_url, fake_slack, rules_dir, log: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPARKY_", "SLACK_"))}
    env.update(SPARKY_REDIS_URL=redis_url, SLACK_BOT_TOKEN=TOKEN, SLACK_API_URL=fake_slack.url,
               SPARKY_SLACK_RATE="0", SPARKY_RULES_DIR=str(rules_dir))
    # Its own process group: kill -9 takes the worker and RQ's scheduler process it forked.
    with open(log, "a") as out:
        return subprocess.Popen([sys.executable, str(ROOT / "worker.py")], env=env, cwd=ROOT,
                                start_new_session=True, stdout=out, stderr=subprocess.STDOUT)


def stop(proc: subprocess.Popen, sig=signals.SIGTERM) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, sig)
    proc.wait(20)


def wait_for(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    raise AssertionError("timed out")


def test_worker_process_posts_the_alert_and_threads_its_recovery(redis, redis_url, fake_slack, rules_dir,
                                                                 tmp_path):
    problem, recovery = store(redis, nagios_signal("slack_nagios_pl.service_problem.form"),
                              nagios_signal("env_dump.nagios_prefix.service_recovery.form"))
    worker = start_worker(redis_url, fake_slack, rules_dir, tmp_path / "worker.log")
    try:
        runner.enqueue_actions(redis, [(problem["id"], "routing", "ops", 0, "notify",
                                        {"room": "#ops", "mention": "@alice"})])
        wait_for(lambda: len(fake_slack.posts()) == 1)
        runner.enqueue_actions(redis, [(recovery["id"], "routing", "ops", 0, "notify", {"room": "#ops"})])
        wait_for(lambda: len(fake_slack.posts()) == 2)
        # it leads the stale scans (rq's CronScheduler logs its birth when it takes the lead)
        wait_for(lambda: "registering birth" in (tmp_path / "worker.log").read_text())
    finally:
        stop(worker)
    # ... and on SIGTERM hands the lead back rather than leaving it to expire
    assert redis.get(brain.key_scan_cron_leader()) != f"sparky-scans:{socket.gethostname()}:{worker.pid}".encode()
    firing, resolved = fake_slack.post_calls()
    assert firing["body"]["channel"] == "#ops"
    assert firing["body"]["text"] == \
        "<@U01ALICE> CRITICAL web-01/HTTP: CRITICAL - Socket timeout after 10 seconds"
    assert [b["type"] for b in firing["body"]["blocks"]] == ["section", "context", "actions"]
    assert resolved["body"]["thread_ts"] == fake_slack.posts()[0]["ts"]
    assert runner.outcomes(redis, recovery["id"])[0]["state"] == "done"


def test_kill_9_in_a_burst_of_500_loses_nothing_and_repeats_nothing(redis, redis_url, fake_slack, rules_dir,
                                                                   tmp_path):
    log = tmp_path / "worker.log"
    signals_ = store(redis, *[alert(f"host-{i:03d}/Disk") for i in range(500)])
    runner.enqueue_actions(redis, [(s["id"], "routing", "burst", 0, "notify", {"room": "#ops"})
                                   for s in signals_])
    worker = start_worker(redis_url, fake_slack, rules_dir, log)
    try:
        wait_for(lambda: len(fake_slack.post_calls()) >= 120)
        os.killpg(worker.pid, signals.SIGKILL)
        worker.wait(10)
        killed_at = len(fake_slack.post_calls())
        assert killed_at < 500, "the burst finished before the kill; nothing was tested"
        worker = start_worker(redis_url, fake_slack, rules_dir, log)
        wait_for(lambda: len(fake_slack.posts()) >= 500, timeout=60)
        time.sleep(1.0)                                          # anything late would show up now
    finally:
        stop(worker)
    keys = [p["metadata"]["event_payload"]["key"] for p in fake_slack.posts()]
    assert len(keys) == 500 and len(set(keys)) == 500
    assert set(keys) == {f"{s['id']}/routing/burst/0" for s in signals_}
    assert all(o["state"] == "done" for s in signals_ for o in runner.outcomes(redis, s["id"]))
    # the restarted worker took back what the dead one held (at least its scheduler's locks)
    assert "recovered after a crash" in log.read_text()
