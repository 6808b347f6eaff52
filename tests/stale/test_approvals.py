"""Nothing is closed unless a rule asks for it AND a person approves it in chat; then the real
(fake, local) GitHub API is called once, and it is audited."""

from __future__ import annotations

import time

from router.core import brain
from router.stale import approvals, scans
from tests.stale.conftest import deliver_due, publish, room, write_rules
from tests.stale.test_chef_artifacts import request_id, say

DAY = 86400
REPO = "acme/web-api"


def abandoned_pr(redis, stale_env, github, run_jobs, clock) -> str:
    github.add_pull(REPO, 5, "dave", time.time() - 40 * DAY, title="Old experiment")
    write_rules(stale_env.rules_dir, {"github-prs": {"schedule": "0 9 * * 1-5", "repos": [REPO]}})
    publish(redis, stale_env)
    scans.enqueue(redis, stale_env, "github-prs")
    run_jobs()
    deliver_due(redis, clock)
    [nag] = room(redis, "@dave")
    assert nag["text"].startswith(
        f"{REPO}#5 “Old experiment” by dave: no activity for 40 days (last: opened by "
        "dave). Close it?\nApprove with `approve st-"
    )
    return request_id(nag["text"])


def test_a_pull_request_is_closed_only_after_its_owner_approves(redis, stale_env, github, run_jobs, clock):
    rid = abandoned_pr(redis, stale_env, github, run_jobs, clock)
    assert github.closed == [] and github.count("PATCH", r".*") == 0

    assert (
        say(redis, stale_env, "bob", f"approve {rid}")
        == f"Refused: only dave may decide `{rid}` (close {REPO}#5)"
    )
    assert (
        say(redis, stale_env, "dave", "approve")
        == f"Waiting for your decision:\n`{rid}` close {REPO}#5: {approvals.get(redis, rid)['summary']}"
    )
    run_jobs()
    assert github.closed == []  # asking and refusing closed nothing

    assert say(redis, stale_env, "dave", f"approve {rid}") == f"dave approved `{rid}`: closing {REPO}#5 now."
    run_jobs()
    assert github.closed == [(REPO, 5)]
    note = github.comments[(REPO, 5)][-1]["body"]
    assert note == f"Closed by Sparky: no activity for 40 days; approved by dave in chat ({rid})."
    assert room(redis, "@dave")[-1]["text"] == f":white_check_mark: `{rid}`: {REPO}#5 is closed"

    request = approvals.get(redis, rid)
    assert (request["state"], request["decided_by"], request["outcome"]) == (
        "done",
        "dave",
        f"{REPO}#5 is closed",
    )
    audit = {e["event"]: e for e in brain.audit_entries(redis, limit=100)[0]}
    assert (
        audit["stale.requested"]["request"] == rid
        and audit["stale.requested"]["rule"] == "stale/pr-abandoned/0"
    )
    assert audit["stale.approved"]["who"] == "dave"
    assert audit["stale.done"]["outcome"] == f"{REPO}#5 is closed"

    assert (
        say(redis, stale_env, "dave", f"approve {rid}")
        == f"`{rid}` (close {REPO}#5) is already done by dave."
    )
    run_jobs()
    assert github.count("PATCH", rf"/repos/{REPO}/pulls/5") == 1  # once, whatever is said twice


def test_a_denied_or_expired_request_does_nothing(redis, stale_env, github, run_jobs, clock):
    rid = abandoned_pr(redis, stale_env, github, run_jobs, clock)
    assert (
        say(redis, stale_env, "dave", f"deny {rid} because the spike is still useful")
        == f"dave denied `{rid}`: {REPO}#5 stays (the spike is still useful)."
    )
    assert (
        say(redis, stale_env, "dave", f"approve {rid}")
        == f"`{rid}` (close {REPO}#5) is already denied by dave."
    )
    run_jobs()
    assert github.closed == [] and approvals.get(redis, rid)["state"] == "denied"

    # the next nag asks anew; a request nobody answers in time expires
    signal = brain.load_signal(redis, approvals.get(redis, rid)["signal"])
    again = approvals.propose(redis, signal, "close", "dave", ["dave"], "stale/pr-abandoned/0")
    assert again["id"] != rid
    late = approvals.decide(
        redis, stale_env, again["id"], True, "dave", now=time.time() + approvals.EXPIRES + 1
    )
    assert (late.ok, late.text) == (
        False,
        f"`{again['id']}` (close {REPO}#5) expired: it will be asked again "
        "if the item is still idle at the next nag.",
    )
    assert (
        approvals.requests(redis, "expired", now=time.time() + approvals.EXPIRES + 1)[0]["id"] == again["id"]
    )
    assert (
        say(redis, stale_env, "dave", "deny st-zzzzzz")
        == "No request `st-zzzzzz` is known (requests are kept 30 days)."
    )
    unknown = say(redis, stale_env, "dave", "deny xx-123")
    assert unknown.startswith("`xx-123` is not a request id (ids start with ")
    assert github.closed == []


def test_stale_lists_items_by_owner_with_nag_state(redis, stale_env, github, run_jobs, clock):
    rid = abandoned_pr(redis, stale_env, github, run_jobs, clock)
    github.add_pull(REPO, 6, "alice", time.time() - 8 * DAY, reviewers=("dave",))
    scans.run(redis, stale_env, "github-prs")
    mine = say(redis, stale_env, "dave", "stale me").splitlines()
    assert mine[0] == "2 stale items for dave:"
    assert mine[1].startswith(f"• {REPO}#5 “Old experiment” by dave: no activity for 40 days") and mine[
        1
    ].endswith(f"nagged 1× (last {time.strftime('%Y-%m-%d', time.gmtime())}), `approve {rid}` pending")
    assert mine[2].startswith(f"• {REPO}#6 ") and mine[2].endswith("— you are a requested reviewer")
    assert (
        say(redis, stale_env, "alice", "stale bob")
        == "Nothing stale for bob: the last scans found no idle items."
    )
    everyone = say(redis, stale_env, "alice", "stale")
    assert everyone.startswith("2 stale items:") and "owner dave" in everyone and "owner alice" in everyone
    run_jobs()
