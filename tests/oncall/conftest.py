"""A rules dir with schedules, escalation policies and heartbeats over the commands' people and
permissions; the environment a worker reads; built-in rooms."""
from __future__ import annotations

import pytest

from router.core.config import Config
from tests.commands.conftest import PERMISSIONS, write_rules
from tests.commands.conftest import use_rules as use_rules  # noqa: F401  (re-exported for the tests)
from tests.conftest import SLACK_SECRET

ONCALL = """\
ruleset: oncall
schedules:
  ops:
    zone: Europe/Berlin
    layers:
      primary: {members: [alice, bob], start: 2026-01-05, handoff: "09:00", length: weekly}
      secondary: {members: [carol, dave], start: 2026-01-05, handoff: "09:00", length: weekly}
  db:
    zone: America/New_York
    layers:
      primary: {members: [carol], start: 2026-01-01, handoff: "10:00", length: daily}
escalations:
  ops-critical:
    - notify: {oncall: ops/primary}
    - wait: 10m
    - notify: {oncall: ops/secondary}
    - wait: 10m
    - notify: {group: leads}
    - repeat: 1
rules:
  - name: escalate-db
    when: {kind: alert, status: firing, labels.team: db}
    then:
      - escalate: {policy: ops-critical, room: "#ops"}
    continue: true
  - name: page
    when: {kind: alert, status: firing}
    then:
      - notify: {room: "#ops", mention: "@oncall", template: "{summary} (db: {oncall:db})"}
  - name: heartbeats
    when: {kind: heartbeat}
    then:
      - notify: {room: "#ops", mention: "{oncall:primary}", template: "{summary}"}
tests:
  - signal: {kind: alert, status: firing}
    expect: [page]
  - signal: {kind: alert, status: firing, labels: {team: db}}
    expect: [escalate-db, page]
  - signal: {source: sparky, kind: heartbeat, status: missing}
    expect: [heartbeats]
heartbeats:
  - name: watchdog
    description: Alertmanager's Watchdog
    when: {source: alertmanager, labels.alertname: Watchdog}
    every: 1m
  - name: nightly-web-api
    description: the nightly build of web-api
    when: {source: jenkins, kind: build, status: success, labels.job: web-api/nightly}
    by: "06:00"
    zone: Europe/Berlin
    grace: 5m
"""

ONCALL_PERMISSIONS = PERMISSIONS + """\
  - command: [oncall, escalate, timeline, approve, deny]
    allow: ["*"]
  - command: resolve
    allow: [oncall]
  - command: oncall
    allow: [oncall]
    args: {action: override}
"""


@pytest.fixture
def rules_dir(tmp_path):
    return write_rules(tmp_path / "rules", oncall_yml=ONCALL, permissions_yml=ONCALL_PERMISSIONS,
                       routing_yml=None)


@pytest.fixture
def env(monkeypatch, redis, redis_url, rules_dir):
    for name in ("SLACK_BOT_TOKEN", "SPARKY_ADMIN_TOKEN", "SPARKY_HOOK_TOKENS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SPARKY_REDIS_URL", redis_url)
    monkeypatch.setenv("SPARKY_RULES_DIR", str(rules_dir))
    monkeypatch.setenv("SPARKY_RULES_POLL", "0")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SLACK_SECRET)
    use_rules(redis, rules_dir)
    return Config.from_env()


@pytest.fixture
def config(env, tmp_path):
    return env.with_(data_dir=tmp_path / "var")
