"""Chef nodes and artifacts from corpus-shaped data: idle ones found, owners nagged, digests built,
and deletions only after a person approved them (against the fake Chef server and Artifactory)."""

from __future__ import annotations

import copy
import time

from router.commands.execute import execute
from router.core import brain
from router.stale import inventory, scans
from tests.actions.conftest import scheduled
from tests.stale.conftest import (
    artifact_corpus,
    chef_corpus,
    copy_knife,
    deliver_due,
    publish,
    room,
    write_rules,
)

DAY = 86400
SCHEDULE = "0 * * * *"


def say(redis, config, user: str, text: str) -> str:
    """A chat command typed by `user` in their own built-in room."""
    signal = {
        "id": f"cmd-{time.time_ns()}",
        "source": "chat",
        "kind": "command",
        "status": "received",
        "text": text,
        "labels": {"user": user, "room": f"@{user}", "channel": "rooms"},
        "actor": user,
    }
    return execute(redis, config, signal).text


def request_id(text: str) -> str:
    return text.split("`approve ", 1)[1].split("`", 1)[0]


def test_knife_output_in_a_folder_finds_idle_nodes_and_nags_their_owners(redis, stale_env, run_jobs, clock):
    now = time.time()
    copy_knife(stale_env.data_dir / "inventory" / "chef", chef_corpus(now))
    write_rules(
        stale_env.rules_dir,
        {
            "chef-nodes": {
                "schedule": SCHEDULE,
                "path": "inventory/chef",
                "owners": {"^batch-": "bob"},
                "owner": "carol",
            }
        },
    )
    publish(redis, stale_env)
    scans.enqueue(redis, stale_env, "chef-nodes")
    run_jobs()
    deliver_due(redis, clock)

    found = {e["subject"]: e for e in inventory.items(redis, ["chef-nodes"])}
    assert {name: e["status"] for name, e in found.items()} == {
        "web-01": "active",
        "web-02": "active",
        "db-01": "active",
        "batch-03": "idle",
        "build-agent-07": "idle",
    }
    assert found["batch-03"]["labels"]["idle_days"] == "92"  # 2217 hours before the capture
    assert found["build-agent-07"]["labels"]["converged"] == "false"
    assert found["web-01"]["labels"]["fqdn"] == "web-01.acme.example"

    [bob] = room(redis, "@bob")
    assert bob["text"].startswith("node batch-03 (_default): has not checked in for 92 days. Delete it?")
    [carol] = room(redis, "@carol")
    assert carol["text"].startswith(
        "node build-agent-07 (_default): has never converged (no ohai_time). Delete it?"
    )
    # no Chef server API was asked for these: the folder said it all, and nothing is deleted unasked
    assert "approve st-" in bob["text"] and [b["text"] for b in bob["buttons"]] == [
        "Approve",
        "Deny",
        "Snooze 1w",
    ]


def test_chef_server_api_signed_owner_tags_digest_and_approved_delete(
    redis, stale_env, chef, run_jobs, clock
):
    now = time.time()
    for node in chef_corpus(now):
        chef.nodes[node["name"]] = {**node, "tags": []}
    for i in range(5):  # dave's forgotten test nodes, tagged with their owner
        chef.nodes[f"test-{i}"] = {
            "name": f"test-{i}",
            "chef_environment": "_default",
            "ohai_time": now - (10 + i) * DAY,
            "tags": ["owner:dave", "temporary"],
        }
    chef.nodes["web-01"]["ohai_time"] = now - 3 * DAY  # silent, but in production: exempt
    chef.clients.update({"test-0", "batch-03"})
    write_rules(
        stale_env.rules_dir, {"chef-api": {"type": "chef-nodes", "schedule": SCHEDULE, "owner": "carol"}}
    )
    publish(redis, stale_env)
    summary = scans.run(redis, stale_env, "chef-api")
    assert (summary["found"], summary["idle"]) == (10, 8)
    assert chef.refused == 0 and chef.count("POST", r"/organizations/acme/search/node") == 1
    run_jobs()
    deliver_due(redis, clock)

    [digest] = room(redis, "@dave")  # five nags → one digest
    assert digest["text"].startswith(
        "5 stale items are waiting for you:\n• node test-4 (_default): has not "
        "checked in for 14 days — `approve st-"
    )
    assert digest["digest"] == 5
    assert len(room(redis, "@carol")) == 2  # batch-03, build-agent-07: one each
    assert room(redis, "#infra") == []  # web-01 is production: exempt

    test4 = request_id(digest["text"])
    assert (
        say(redis, stale_env, "carol", f"approve {test4}")
        == f"Refused: only dave may decide `{test4}` (delete test-4)"
    )
    assert chef.deleted == []
    reply = say(redis, stale_env, "dave", f"approve {test4}")
    assert reply == f"dave approved `{test4}`: deleting test-4 now."
    run_jobs()
    assert chef.deleted == ["test-4"] and chef.refused == 0  # signed DELETE, verified
    assert say(redis, stale_env, "dave", f"approve {test4}").endswith("is already done by dave.")
    events = [e["event"] for e in brain.audit_entries(redis, limit=50)[0]]
    assert "stale.approved" in events and "stale.done" in events
    assert room(redis, "@dave")[-1]["text"] == f":white_check_mark: `{test4}`: node test-4 deleted"


def test_unused_artifacts_by_aql_digest_once_a_day_and_delete_after_approval(
    redis, stale_env, artifactory, run_jobs, clock
):
    now = time.time()
    rows = artifact_corpus(now)  # web-api 1.1.0 (used 30 days ago), legacy-batch
    for version in ("0.9.0", "0.9.1", "0.9.2", "0.8.0"):  # older builds of legacy-batch, same shape
        row = copy.deepcopy(rows[1])
        row["path"] = f"com/acme/legacy-batch/{version}"
        row["name"] = f"legacy-batch-{version}.jar"
        rows.append(row)
    artifactory.items.extend(rows)
    write_rules(
        stale_env.rules_dir,
        {
            "artifacts": {
                "schedule": SCHEDULE,
                "repos": ["libs-release-local"],
                "older_than": "90d",
                "owner": "carol",
            }
        },
    )
    publish(redis, stale_env)
    summary = scans.run(redis, stale_env, "artifacts")
    assert (summary["found"], summary["idle"]) == (5, 5)  # AQL left out web-api 1.1.0
    assert '"$before":"90d"' in artifactory.queries[0] and ".offset(0).limit(1000)" in artifactory.queries[0]
    run_jobs()
    deliver_due(redis, clock)
    [digest] = room(redis, "@carol")
    assert (
        digest["digest"] == 5
        and "libs-release-local/com/acme/legacy-batch/0.9.3/legacy-batch-0.9.3.jar" in digest["text"]
    )

    # more unused artifacts the same day: they wait for tomorrow's digest (one digest per owner per day)
    for version in ("0.7.0", "0.7.1", "0.7.2", "0.7.3"):
        row = copy.deepcopy(rows[1])
        row["path"], row["name"] = f"com/acme/legacy-batch/{version}", f"legacy-batch-{version}.jar"
        artifactory.items.append(row)
    scans.run(redis, stale_env, "artifacts")
    run_jobs()
    deliver_due(redis, clock)
    assert len(room(redis, "@carol")) == 1
    tomorrow = (int(now // DAY) + 1) * DAY
    assert any(tomorrow <= at <= tomorrow + 120 for at in scheduled(redis).values())
    clock.run_at(tomorrow + 90)
    assert room(redis, "@carol")[-1]["digest"] == 4

    # delete one: the rule names the infra group as approvers, so dave (not the owner) may
    target = "libs-release-local/com/acme/legacy-batch/0.9.3/legacy-batch-0.9.3.jar"
    line = next(li for li in digest["text"].splitlines() if target in li)
    rid = request_id(line)
    assert (
        say(redis, stale_env, "dave", f"deny {rid} still used by the Q4 audit")
        == f"dave denied `{rid}`: {target} stays (still used by the Q4 audit)."
    )
    assert artifactory.deleted == []
    other = request_id(next(li for li in digest["text"].splitlines() if "0.9.0" in li))
    assert say(redis, stale_env, "bob", f"approve {other}").startswith("Refused: only infra may decide")
    assert say(redis, stale_env, "dave", f"approve {other}").startswith(f"dave approved `{other}`")
    run_jobs()
    assert artifactory.deleted == ["libs-release-local/com/acme/legacy-batch/0.9.0/legacy-batch-0.9.0.jar"]
