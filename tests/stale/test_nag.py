"""The `nag` action: snoozes honoured (at evaluation and at delivery), escalation when ignored,
nags to a room when nobody owns the item, and Slack DMs to people.yml's Slack ids."""

from __future__ import annotations

import json
import time

from router.core import brain
from router.stale import scans
from tests.fakeslack import TOKEN, FakeSlack
from tests.stale.conftest import deliver_due, publish, room, write_rules
from tests.stale.test_chef_artifacts import say

DAY = 86400
REPO = "acme/web-api"
SCAN = {"github-prs": {"schedule": "0 9 * * 1-5", "repos": [REPO], "older_than": "3d"}}


def decision_rules(redis, fingerprint: str) -> list[str]:
    signal = next(
        s
        for s in brain.recent_signals(redis, source="inventory", limit=100)
        if s["fingerprint"] == fingerprint
    )
    decision = json.loads(redis.get(brain.key_decision(signal["id"])))
    return [m["rule"] for m in decision["rulesets"]["stale"]["matched"]]


def test_a_snoozed_item_is_not_nagged(redis, stale_env, github, run_jobs, clock):
    now = time.time()
    github.add_pull(REPO, 1, "alice", now - 10 * DAY)
    github.add_pull(REPO, 2, "carol", now - 10 * DAY)
    write_rules(stale_env.rules_dir, SCAN)
    publish(redis, stale_env)
    # the chat layer's own `snooze` command, on the item's fingerprint: "still needed for a week"
    reply = say(redis, stale_env, "alice", f"snooze fingerprint={REPO}#1 for 1w because still needed")
    assert reply.startswith("Snoozed ")
    scans.enqueue(redis, stale_env, "github-prs")
    run_jobs()
    deliver_due(redis, clock)
    assert decision_rules(redis, f"{REPO}#1") == ["snoozed"]  # the engine's `snoozed` field
    assert room(redis, "@alice") == [] and len(room(redis, "@carol")) == 1


def test_a_snooze_made_while_the_nag_waits_stops_it(redis, stale_env, github, run_jobs, clock):
    github.add_pull(REPO, 2, "carol", time.time() - 10 * DAY)
    write_rules(stale_env.rules_dir, SCAN)
    publish(redis, stale_env)
    scans.enqueue(redis, stale_env, "github-prs")
    run_jobs()  # nag queued, delivery due in 1 s
    say(redis, stale_env, "carol", f"snooze fingerprint={REPO}#2 for 1d because on it")
    deliver_due(redis, clock)
    assert room(redis, "@carol") == []
    assert not redis.exists(brain.key_nag_sent(f"{REPO}#2", "carol"))  # not counted as nagged either


ESCALATING = """\
ruleset: stale
scans:
  chef-nodes: {{schedule: "0 * * * *", path: nodes, owner: "{owner}"}}
rules:
  - name: node-silent
    when: {{source: inventory, status: idle, labels.type: chef_node}}
    then:
      - nag: {{ask: remind, every: 1s, wait: 1s,
              escalate_after: 1s, escalate_room: "#infra", escalate_mention: "@infra"}}
"""


def test_an_ignored_nag_escalates_to_the_room_and_nobodys_item_goes_to_the_room(
    redis, stale_env, run_jobs, clock
):
    folder = stale_env.data_dir / "nodes"
    folder.mkdir(parents=True)
    (folder / "status.json").write_text(
        json.dumps([{"name": "old-1", "chef_environment": "_default", "ohai_time": time.time() - 5 * DAY}])
    )
    (stale_env.rules_dir / "stale.yml").write_text(ESCALATING.format(owner="bob"))
    publish(redis, stale_env)
    for _ in range(2):
        scans.run(redis, stale_env, "chef-nodes")
        run_jobs()
        deliver_due(redis, clock)
        time.sleep(1.1)  # `every` and `escalate_after` pass
    assert len(room(redis, "@bob")) == 2
    [escalation] = room(redis, "#infra")
    assert escalation["text"].startswith(
        "@infra Stale and ignored (1):\n• node old-1 (_default): has not checked in "
        "for 5 days — owner bob, nagged 2×"
    )

    # an item nobody owns: the rule's escalation room is where it is said
    (stale_env.rules_dir / "stale.yml").write_text(ESCALATING.format(owner=""))
    publish(redis, stale_env)
    (folder / "status.json").write_text(
        json.dumps([{"name": "orphan-2", "ohai_time": time.time() - 3 * DAY}])
    )
    scans.run(redis, stale_env, "chef-nodes")
    run_jobs()
    deliver_due(redis, clock)
    assert (
        room(redis, "#infra")[-1]["text"] == "node orphan-2 (): has not checked in for 3 days. Still needed? "
        "Snooze it if so."
    )


def test_nags_go_to_slack_as_direct_messages(redis, stale_env, github, run_jobs, clock, monkeypatch):
    slack = FakeSlack().start()
    try:
        for name, value in {
            "SLACK_BOT_TOKEN": TOKEN,
            "SLACK_API_URL": slack.url,
            "SPARKY_SLACK_RATE": "0",
        }.items():
            monkeypatch.setenv(name, value)
        github.add_pull(REPO, 1, "alice", time.time() - 10 * DAY, reviewers=("bob-gh",))
        write_rules(stale_env.rules_dir, SCAN)
        publish(redis, stale_env)
        scans.enqueue(redis, stale_env, "github-prs")
        run_jobs()
        deliver_due(redis, clock)
        [post] = slack.posts()
        assert post["channel"] == "U01BOB"  # bob's DM, by his people.yml Slack id
        assert post["text"].startswith(f"{REPO}#1 ")
    finally:
        slack.stop()
