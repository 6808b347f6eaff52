"""Scanning open pull requests from a (fake, local) GitHub API and nagging the right people.

The scan runs as an RQ job; its signals go through reception, the rules engine and the `nag`
action on a real RQ worker; nags are delivered when RQ's scheduler would move them.
"""

from __future__ import annotations

import json
import time

import pytest

from router.core import brain
from router.core.outcomes import Permanent
from router.stale import inventory, scans
from tests.stale.conftest import deliver_due, publish, room, write_rules

DAY = 86400
REPO = "acme/web-api"


def scan_and_deliver(redis, config, run_jobs, clock) -> None:
    job_id, _run = scans.enqueue(redis, config, "github-prs")
    run_jobs()
    deliver_due(redis, clock)
    run_jobs()


def seed(github, now: float) -> None:
    github.add_pull(REPO, 1, "alice", now - 10 * DAY, reviewers=("bob-gh",), title="Add retries")
    github.add_pull(REPO, 2, "carol", now - 12 * DAY)
    github.add_review(REPO, 2, "alice", now - 8 * DAY, "CHANGES_REQUESTED")
    github.add_pull(REPO, 3, "dave", now - 2 * DAY)
    github.add_pull(REPO, 4, "alice", now - 20 * DAY, labels=("keep-open",))
    github.add_pull(REPO, 5, "dave", now - 40 * DAY)
    github.add_pull(REPO, 6, "carol", now - 9 * DAY)
    github.add_comment(REPO, 6, "ci-runner[bot]", now - 3600)  # a bot's comment is no activity
    github.add_pull(REPO, 7, "bob-gh", now - 15 * DAY)
    github.add_reaction(REPO, 7, "alice", now - 1 * DAY)  # a reaction is: still alive


def items(redis) -> dict[str, dict]:
    return {e["subject"]: e for e in inventory.items(redis, ["github-prs"])}


def test_a_scan_nags_the_right_people_once_per_interval(redis, stale_env, github, run_jobs, clock):
    now = time.time()
    seed(github, now)
    write_rules(
        stale_env.rules_dir, {"github-prs": {"schedule": "0 9 * * 1-5", "repos": [REPO], "older_than": "3d"}}
    )
    publish(redis, stale_env)

    scan_and_deliver(redis, stale_env, run_jobs, clock)

    found = items(redis)
    assert set(found) == {f"{REPO}#{n}" for n in range(1, 8)}
    assert found[f"{REPO}#3"]["status"] == "active"
    assert found[f"{REPO}#7"]["status"] == "active"  # alive: a reaction yesterday
    assert found[f"{REPO}#7"]["labels"]["last_activity_kind"] == "reaction"
    assert found[f"{REPO}#6"]["status"] == "idle"  # the bot's comment did not count
    assert found[f"{REPO}#6"]["labels"]["last_activity_kind"] == "opened"
    assert found[f"{REPO}#1"]["labels"]["awaiting"] == "review"
    assert found[f"{REPO}#2"]["labels"]["awaiting"] == "author"

    bob, carol, dave = room(redis, "@bob"), room(redis, "@carol"), room(redis, "@dave")
    assert [m["text"] for m in bob] == [
        f"{REPO}#1 “Add retries” by alice: no activity for 10 days (last: opened by alice). "
        "Please review it, or say what it is waiting for."
    ]
    assert sorted(m["text"].split(" ")[0] for m in carol) == [f"{REPO}#2", f"{REPO}#6"]
    assert len(dave) == 1 and dave[0]["text"].startswith(f"{REPO}#5 ") and "approve st-" in dave[0]["text"]
    assert room(redis, "@alice") == []  # #4 is exempt by its label
    assert github.closed == []  # nothing closed without approval

    # A second scan within the interval nags nobody (the rate limit is in the brain, per item and owner).
    scan_and_deliver(redis, stale_env, run_jobs, clock)
    assert (len(room(redis, "@bob")), len(room(redis, "@carol")), len(room(redis, "@dave"))) == (1, 2, 1)
    assert redis.ttl(brain.key_nag_sent(f"{REPO}#1", "bob")) > DAY - 60


def test_a_review_resets_the_clock(redis, stale_env, github, run_jobs, clock):
    now = time.time()
    github.add_pull(REPO, 1, "alice", now - 10 * DAY, reviewers=("bob-gh",))
    github.add_pull(REPO, 2, "carol", now - 12 * DAY)
    write_rules(
        stale_env.rules_dir,
        {"github-prs": {"schedule": "0 9 * * 1-5", "repos": [REPO], "older_than": "3d"}},
        every="2s",
    )
    publish(redis, stale_env)
    scan_and_deliver(redis, stale_env, run_jobs, clock)
    assert (len(room(redis, "@bob")), len(room(redis, "@carol"))) == (1, 1)

    github.add_review(REPO, 1, "bob-gh", time.time(), "APPROVED")
    time.sleep(2.1)  # the nag interval is over
    scan_and_deliver(redis, stale_env, run_jobs, clock)

    entry = items(redis)[f"{REPO}#1"]
    assert entry["status"] == "active" and entry["labels"]["idle_days"] == "0"
    assert len(room(redis, "@bob")) == 1  # reviewed: not nagged again
    assert len(room(redis, "@carol")) == 2  # untouched: nagged again


def test_the_scan_cache_spares_requests_and_bots_are_configurable(redis, stale_env, github, run_jobs):
    now = time.time()
    github.add_pull(REPO, 1, "alice", now - 10 * DAY)
    github.add_comment(REPO, 1, "release-robot", now - 1 * DAY)  # a bot account without [bot]
    write_rules(
        stale_env.rules_dir,
        {
            "github-prs": {
                "schedule": "0 9 * * 1-5",
                "repos": [REPO],
                "older_than": "3d",
                "bots": ["release-robot"],
            }
        },
    )
    publish(redis, stale_env)
    first = scans.run(redis, stale_env, "github-prs")
    assert (first["found"], first["idle"]) == (1, 1)
    calls = github.count("GET", r"/repos/acme/web-api/pulls/1/reviews")
    second = scans.run(redis, stale_env, "github-prs")
    assert second["idle"] == 1
    # reviews/commits/comments are cached until updated_at moves; reactions are asked each time
    assert github.count("GET", r"/repos/acme/web-api/pulls/1/reviews") == calls == 1
    assert github.count("GET", r"/repos/acme/web-api/issues/1/reactions") == 2
    run_jobs()


def test_a_retried_run_is_not_evaluated_twice_and_a_failure_is_recorded(redis, stale_env, github, run_jobs):
    now = time.time()
    github.add_pull(REPO, 1, "alice", now - 10 * DAY)
    write_rules(stale_env.rules_dir, {"github-prs": {"schedule": "0 9 * * 1-5", "repos": [REPO]}})
    publish(redis, stale_env)
    first = scans.run(redis, stale_env, "github-prs", run_id="cron-2026-11-25T09:00", holder="job-1")
    assert (first["accepted"], first["duplicates"]) == (1, 0)
    # RQ runs the same job again (its worker died after the hand-over): the item is a duplicate
    again = scans.run(redis, stale_env, "github-prs", run_id="cron-2026-11-25T09:00", holder="job-1")
    assert (again["accepted"], again["duplicates"]) == (0, 1)
    # a second scheduler's copy of the same cron slot does nothing
    other = scans.run(redis, stale_env, "github-prs", run_id="cron-2026-11-25T09:00", holder="job-2")
    assert other == {"scan": "github-prs", "run": "cron-2026-11-25T09:00", "duplicate": True}

    write_rules(
        stale_env.rules_dir, {"github-prs": {"schedule": "0 9 * * 1-5", "repos": [REPO, "acme/gone"]}}
    )
    publish(redis, stale_env)
    with pytest.raises(Permanent) as failed:
        scans.run(redis, stale_env, "github-prs")
    assert str(failed.value) == "github: GET /repos/acme/gone/pulls: 404 Not Found"
    summary = inventory.summaries(redis)["github-prs"]
    assert summary["error"] == "github: GET /repos/acme/gone/pulls: 404 Not Found"
    assert summary["found"] == 1  # the last good run's figures stay
    assert len(inventory.items(redis, ["github-prs"])) == 1  # and its inventory
    run_jobs()


def test_inventory_signals_carry_owner_age_and_last_activity(redis, stale_env, github, run_jobs):
    now = time.time()
    github.add_pull(REPO, 9, "alice", now - 5 * DAY, reviewers=("bob-gh", "carol"), labels=("bug", "ui"))
    write_rules(
        stale_env.rules_dir, {"github-prs": {"schedule": "0 9 * * 1-5", "repos": [REPO], "older_than": "7d"}}
    )
    publish(redis, stale_env)
    scans.run(redis, stale_env, "github-prs")
    signal = brain.recent_signals(redis, source="inventory", limit=1)[0]
    assert {k: signal[k] for k in ("source", "kind", "status", "subject", "fingerprint", "actor")} == {
        "source": "inventory",
        "kind": "resource",
        "status": "active",
        "subject": f"{REPO}#9",
        "fingerprint": f"{REPO}#9",
        "actor": "alice",
    }
    labels = signal["labels"]
    assert {
        k: labels[k]
        for k in (
            "type",
            "scan",
            "owner",
            "age_days",
            "idle_days",
            "author",
            "reviewers",
            "pr_labels",
            "draft",
            "awaiting",
            "last_activity_kind",
        )
    } == {
        "type": "pull_request",
        "scan": "github-prs",
        "owner": "alice",
        "age_days": "5",
        "idle_days": "5",
        "author": "alice",
        "reviewers": "bob-gh,carol",
        "pr_labels": "bug,ui",
        "draft": "false",
        "awaiting": "",
        "last_activity_kind": "update",
    }  # active: GitHub's updated_at is enough
    assert json.loads(json.dumps(labels["last_activity"])).endswith("Z")
    run_jobs()
