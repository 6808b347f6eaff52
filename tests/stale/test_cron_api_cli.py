"""Scans on their schedules (rq's CronScheduler, one leader among workers), on demand over HTTP
(`POST /api/scans/<name>`) and from a terminal (`sparky scan`, `sparky stale`)."""

from __future__ import annotations

import time
from datetime import datetime, timezone

from click.testing import CliRunner
from freezegun import freeze_time
from rq import Queue
from rq.cron import CronScheduler

from router.stale import cron, inventory, scans
from tests.stale.conftest import publish, write_rules

DAY = 86400
REPO = "acme/web-api"
SCAN = {"github-prs": {"schedule": "*/5 * * * *", "repos": [REPO], "older_than": "3d"}}


def queued_scans(redis) -> list:
    return [
        j for j in Queue(scans.SCANS_QUEUE, connection=redis).get_jobs() if j.func_name.endswith("run_scan")
    ]


def test_the_cron_scheduler_enqueues_due_scans_once_across_workers(redis, stale_env, github, run_jobs):
    github.add_pull(REPO, 1, "alice", time.time() - 10 * DAY)
    write_rules(stale_env.rules_dir, SCAN)
    publish(redis, stale_env)
    first, second = cron.ScanCron(redis, stale_env), cron.ScanCron(redis, stale_env)
    second.name += "-other-worker"
    assert first.tick() == [] and second.tick() == []  # nothing due yet; first leads
    assert first.leading and not second.leading
    assert [s.name for s in CronScheduler.all(redis)] == [first.name]
    due = first.scheduler.get_jobs()[0].next_enqueue_time.timestamp()
    with freeze_time(datetime.fromtimestamp(due + 1, timezone.utc)):
        assert first.tick() == ["stale-scan:github-prs"]
        assert second.tick() == []
    [job] = queued_scans(redis)
    assert (
        job.kwargs == {"trigger": "cron", "schedule": "*/5 * * * *"} and job.timeout == scans.DEFAULT_TIMEOUT
    )
    run_jobs()
    summary = inventory.summaries(redis)["github-prs"]
    slot = datetime.fromtimestamp(due, timezone.utc).strftime("%Y-%m-%dT%H:%M")
    assert (summary["run"], summary["trigger"], summary["found"]) == (f"cron-{slot}", "cron", 1)

    # the leader goes; the other takes over, and the slot it missed runs (as a duplicate, done once)
    first.stop()
    with freeze_time(datetime.fromtimestamp(due + 2, timezone.utc)):
        second.tick()
    assert second.leading
    run_jobs()
    assert inventory.summaries(redis)["github-prs"]["run"] == f"cron-{slot}"

    # a new schedule in stale.yml is followed without a restart
    write_rules(stale_env.rules_dir, {"github-prs": {**SCAN["github-prs"], "schedule": "0 3 * * *"}})
    publish(redis, stale_env)
    second.tick()
    assert [j.cron for j in second.scheduler.get_jobs()] == ["0 3 * * *"]
    second.stop()


def test_post_api_scans_queues_a_run_and_get_lists_them(redis, stale_env, github, client, run_jobs):
    github.add_pull(REPO, 1, "alice", time.time() - 10 * DAY)
    write_rules(stale_env.rules_dir, SCAN)
    publish(redis, stale_env)
    answer = client.post("/api/scans/github-prs")
    assert (
        answer.status_code == 202
        and answer.json["scan"] == "github-prs"
        and answer.json["run"].startswith("api-")
    )
    missing = client.post("/api/scans/nodes")
    assert missing.status_code == 404
    assert missing.json["error"] == 'no scan "nodes" in the rules in force (scans: github-prs)'
    run_jobs()
    listed = client.get("/api/scans").json["scans"]
    assert listed[0]["name"] == "github-prs" and listed[0]["last_run"]["found"] == 1
    assert listed[0]["next_run"].endswith("Z")
    stale = client.get("/api/stale?owner=alice").json
    assert stale["count"] == 1 and stale["items"][0]["subject"] == f"{REPO}#1"
    assert client.get("/api/stale/requests").json == {"requests": [], "count": 0}
    assert client.get("/api/stale/requests?state=later").status_code == 400


def test_sparky_scan_and_stale_from_a_terminal(redis, stale_env, github, run_jobs):
    from router.cli.main import main

    github.add_pull(REPO, 1, "alice", time.time() - 10 * DAY, title="Add retries")
    write_rules(stale_env.rules_dir, SCAN)
    publish(redis, stale_env)
    runner = CliRunner()
    ran = runner.invoke(main, ["scan", "github-prs"])
    assert ran.exit_code == 0, ran.output
    assert ran.output.startswith("github-prs: 1 found, 1 idle, 1 signals accepted in ")
    listed = runner.invoke(main, ["stale", "alice"])
    assert listed.output.startswith(
        f"1 stale item for alice:\n• {REPO}#1 “Add retries” by alice: no activity for 10 days"
    )
    unknown = runner.invoke(main, ["scan", "nodes"])
    assert unknown.exit_code == 1 and 'no scan "nodes"' in unknown.output
    queued = runner.invoke(main, ["scan", "--queue"])
    assert queued.output.startswith("github-prs: queued as job ")
    run_jobs()
    assert "github-prs" in runner.invoke(main, ["scan", "--list"]).output


def test_a_failed_sparky_scan_says_why_and_exits_non_zero(redis, stale_env, github, monkeypatch):
    from router.cli.main import main

    write_rules(stale_env.rules_dir, SCAN)
    publish(redis, stale_env)
    monkeypatch.setenv("GITHUB_TOKEN", "not-the-token")         # GitHub answers 401
    failed = CliRunner().invoke(main, ["scan", "github-prs"])
    assert failed.exit_code == 1, failed.output
    assert failed.output.startswith("github-prs: failed: github: GET /repos/acme/web-api/pulls"), failed.output
