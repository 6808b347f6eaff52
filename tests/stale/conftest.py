"""Fixtures for the stale tests: the fake systems, a rules dir, the environment jobs read, a clock.

Jobs build their Config from the environment (as in a worker), so `stale_env` sets the variables
that point the real clients at the fakes. Chat goes to the built-in rooms (no SLACK_BOT_TOKEN):
a DM to alice is the room `@alice`.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest

from router.core.config import Config
from tests.actions.conftest import Clock
from tests.conftest import PAYLOADS
from tests.stale import fakes, fakes_infra

PEOPLE = """\
people:
  alice: {slack: U01ALICE, github: alice}
  bob:   {slack: U01BOB, github: bob-gh}
  carol: {slack: U01CAROL, github: carol}
  dave:  {slack: U01DAVE, github: dave}
groups:
  infra: [carol, dave]
"""

# Rules for the tests: the shape of the shipped rules/stale.yml, with short gathering waits. Every
# rule wants `status: idle`: active items match nothing, so a scan costs no action job for them.
STALE = """\
ruleset: stale
version: 1
scans:
{scans}
rules:
  - name: snoozed
    when: {{source: inventory, status: idle, snoozed: true}}
    then: [{{drop: {{reason: snoozed}}}}]
  - name: exempt-pr-labels
    when: {{source: inventory, status: idle, labels.type: pull_request,
           labels.pr_labels: {{matches: "(.*,)?(keep-open|pinned)(,.*)?"}}}}
    then: [{{drop: {{reason: exempt}}}}]
  - name: exempt-env
    when: {{source: inventory, status: idle, labels.type: chef_node, labels.env: production}}
    then: [{{drop: {{reason: "production nodes are never offered for deletion"}}}}]
  - name: pr-abandoned
    when: {{source: inventory, status: idle, labels.type: pull_request, labels.idle_days: {{gte: 30}}}}
    then:
      - nag: {{to: "{{labels.author}}", ask: close, every: {every}, wait: 1s}}
  - name: pr-needs-review
    when: {{source: inventory, status: idle, labels.type: pull_request, labels.awaiting: review,
           labels.reviewers: {{exists: true}},
           labels.idle_days: {{gte: 3}}}}
    then:
      - nag: {{to: "{{labels.reviewers}}", ask: review, every: {every}, wait: 1s}}
  - name: pr-waiting
    when: {{source: inventory, status: idle, labels.type: pull_request, labels.idle_days: {{gte: 3}}}}
    then:
      - nag: {{to: "{{labels.author}}", every: {every}, wait: 1s}}
  - name: node-silent
    when: {{source: inventory, status: idle, labels.type: chef_node}}
    then:
      - nag: {{ask: delete, every: {every}, wait: 1s, escalate_after: 7d, escalate_room: "#infra"}}
  - name: artifact-unused
    when: {{source: inventory, status: idle, labels.type: artifact, labels.idle_days: {{gte: 90}}}}
    then:
      - nag: {{ask: delete, every: {every}, wait: 1s, approvers: infra}}
"""


def write_rules(rules_dir: Path, scans: dict, every: str = "1d") -> None:
    lines = "\n".join(f"  {name}: {json.dumps(spec)}" for name, spec in scans.items())
    (rules_dir / "stale.yml").write_text(STALE.format(scans=lines, every=every))


@pytest.fixture
def github():
    fake = fakes.FakeGitHub().start()
    yield fake
    fake.stop()


@pytest.fixture
def chef_key():
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    return key, pem


@pytest.fixture
def chef(chef_key):
    fake = fakes_infra.FakeChef(chef_key[0].public_key()).start()
    yield fake
    fake.stop()


@pytest.fixture
def artifactory():
    fake = fakes_infra.FakeArtifactory().start()
    yield fake
    fake.stop()


@pytest.fixture
def rules_dir(tmp_path):
    path = tmp_path / "rules"
    path.mkdir()
    (path / "people.yml").write_text(PEOPLE)
    return path


@pytest.fixture
def stale_env(monkeypatch, redis, redis_url, rules_dir, tmp_path, github, chef, chef_key, artifactory):
    """The environment a worker would have, pointing at the fakes; returns (config, rules_dir)."""
    key_file = tmp_path / "sparky.pem"
    key_file.write_bytes(chef_key[1])
    env = {
        "SPARKY_REDIS_URL": redis_url,
        "SPARKY_RULES_DIR": str(rules_dir),
        "SPARKY_RULES_POLL": "0",
        "SPARKY_DATA_DIR": str(tmp_path / "data"),
        "GITHUB_API_URL": github.url,
        "GITHUB_TOKEN": fakes.GITHUB_TOKEN,
        "CHEF_SERVER_URL": chef.url,
        "CHEF_CLIENT_NAME": fakes.CHEF_CLIENT,
        "CHEF_CLIENT_KEY": str(key_file),
        "ARTIFACTORY_URL": artifactory.url,
        "ARTIFACTORY_TOKEN": fakes.ARTIFACTORY_TOKEN,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    return Config.from_env()


@pytest.fixture
def clock(redis, run_jobs):
    return Clock(redis, run_jobs)


def publish(redis, config: Config) -> None:
    """Make the rules dir the version in force (what a reload does)."""
    from router.engine import store

    result = store.reload(redis, config.rules_dir, by="test", engine=False)  # no child-process engine build
    assert result.ok, [str(p) for p in result.problems]


def deliver_due(redis, clock, horizon: float = 5.0) -> int:
    """Run the scheduled nag deliveries (and what they queue) as RQ's scheduler would, `horizon` s ahead."""
    from tests.actions.conftest import scheduled

    ran = 0
    while True:
        due = [at for at in scheduled(redis).values() if at <= time.time() + horizon]
        if not due:
            return ran
        ran += clock.run_at(max(due) + 0.5)


def room(redis, name: str) -> list[dict]:
    from router.chat import rooms

    return rooms.messages(redis, name, limit=1000)


def chef_corpus(now: float) -> list[dict]:
    """tests/payloads/inventory/chef/knife_status.json with its times moved so web-01 is 14 minutes
    old today, as when the file was captured (the gaps between nodes are kept)."""
    nodes = json.loads((PAYLOADS / "inventory" / "chef" / "knife_status.json").read_text())
    newest = max(n["ohai_time"] for n in nodes if n.get("ohai_time"))
    shift = now - 14 * 60 - newest
    for node in nodes:
        if node.get("ohai_time"):
            node["ohai_time"] += shift
    return nodes


def artifact_corpus(now: float) -> list[dict]:
    """tests/payloads/inventory/artifactory/aql_items_not_downloaded_since.json's rows, times moved so
    the first was downloaded 30 days ago (the captured gap to the second, ~8 months, is kept)."""
    rows = json.loads(
        (PAYLOADS / "inventory" / "artifactory" / "aql_items_not_downloaded_since.json").read_text()
    )
    rows = rows["results"]

    def parse(text: str) -> float:
        import datetime as dt

        return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()

    shift = now - 30 * 86400 - parse(rows[0]["stats"][0]["downloaded"])
    for row in rows:
        for key in ("created", "modified", "updated"):
            row[key] = fakes.iso(parse(row[key]) + shift)
        for stat in row["stats"]:
            stat["downloaded"] = fakes.iso(parse(stat["downloaded"]) + shift)
    return rows


def copy_knife(dest: Path, nodes: list[dict]) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "knife_status.json").write_text(json.dumps(nodes))
    shutil.copy(PAYLOADS / "inventory" / "chef" / "knife_status.txt", dest / "knife_status.txt")
    # Its "14 minutes ago" is read against the file's mtime, which the OS stamps from the real
    # clock; the suite may run moved in time (tests/timetravel.py): stamp it with the test's now.
    now = time.time()
    os.utime(dest / "knife_status.txt", (now, now))
