"""Fixtures for the deploy tests: a rules dir, the fake Jenkins and GitHub, the environment a worker
reads, and `Deploys`, which talks to Sparky the way people and systems do — commands through
`POST /api/rooms/<room>/messages`, Slack buttons through /slack/interactions, CI, pushes, alerts
and Jenkins notifications through their hooks — then runs the queued jobs on a real RQ worker."""
from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from urllib.parse import quote, urlencode

import pytest
import time_machine

from router.chat import rooms
from router.core import brain
from router.core.config import Config
from router.deploys import records as reqs
from tests.commands.conftest import ResponseURL, signed, use_rules
from tests.conftest import SLACK_SECRET
from tests.deploys import fakes

SHA = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"
SHA2 = "fedcba9876543210fedcba9876543210fedcba98"
UI_SHA = "0123456789abcdef0123456789abcdef01234567"

# Every deploy test starts here unless it travels elsewhere: a Wednesday morning in Berlin, outside
# the weekend freeze below and inside any business hours. The shipped rules refuse production
# deploys at weekends and at year end; a test must not pass or fail with the day it runs.
WORKDAY = dt.datetime(2026, 12, 9, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))

PEOPLE = """\
people:
  alice: {slack: U01ALICE, tz: Europe/Berlin}
  bob:   {slack: U01BOB}
  carol: {slack: U01CAROL, tz: America/New_York}
  dave:  {slack: U01DAVE}
  erin:  {slack: U01ERIN}
groups:
  deployers: [alice, bob, carol, erin]
  admins: [erin]
  interns: [dave]
"""

PERMISSIONS = """\
permissions:
  - command: [help, deploys, next, how, approve, deny, bypass, why]
    allow: ["*"]
  - command: [deploy, lock, unlock]
    allow: [deployers, interns]
  - command: deploy              # interns may not deploy to production at all
    allow: [deployers]
    args: {env: production}
"""

ROUTING = """\
ruleset: routing
rules:
  - name: chat-commands
    when: {kind: command}
    then: [{drop: {reason: chat}}]
  - name: deploy-requests
    when: {source: sparky, kind: deploy}
    then: [{drop: {reason: handled by the deploy ruleset}}]
  - name: everything-else
    when: {}
    then: [{drop: {reason: noise}}]
"""

# The shipped rules' shape, with a weekend freeze and no business hours (tested on their own).
DEPLOY = """\
ruleset: deploy
apps:
  web-api:
    repo: acme/web-api
    branch: main
    environments: [staging, production]
    deploy: {jenkins: {job: deploy-web-api, params: {ENV: "{env}", SHA: "{sha}", REQUESTED_BY: "{requester}"}}}
    required_contexts: [ci/jenkins]
    timeout: 10m
    release_steps: [merge the release PR, deploy to staging, deploy to production]
  web-ui:
    repo: acme/web-ui
    environments: [staging, production]
    deploy: {github: {environment: "{env}"}}
calendar:
  timezone: Europe/Berlin
  releases: ["2026-12-01 14:00", "2027-01-12 14:00"]
  freeze:
    - {cron: "0 18 * * fri", duration: 63h, reason: weekend, environments: [production]}
bypass:
  allow: [admins]
rules:
  - name: env-locked
    when: {kind: deploy, status: requested, labels.locked: {exists: true}}
    then: [{deploy: {refuse: "{labels.env} is locked by {labels.locked}"}}]
  - name: one-deploy-at-a-time
    when: {kind: deploy, status: requested, labels.running: {exists: true}}
    then: [{deploy: {refuse: "{labels.running} is deploying {labels.app} to {labels.env} right now"}}]
  - name: freeze
    when: {kind: deploy, status: requested, labels.freeze: {exists: true}}
    then: [{deploy: {refuse: "deploy freeze ({labels.freeze}) until {labels.freeze_until}"}}]
  - name: ci-red
    when: {kind: deploy, status: requested, labels.ci: red}
    then: [{deploy: {refuse: "CI is red for {labels.short_sha}: {labels.ci_failing}"}}]
  - name: production-critical-alerts
    when: {kind: deploy, status: requested, labels.env: production, labels.critical_alerts: {gt: 0}}
    then: [{deploy: {refuse: "{labels.critical_alerts} critical alert(s) firing for {labels.app}: {labels.alerts}"}}]
  - name: ci-not-finished
    when: {kind: deploy, status: requested, labels.ci: [pending, unknown]}
    then: [{deploy: {wait: "CI to pass on {labels.short_sha}"}}]
  - name: production
    when: {kind: deploy, status: requested, labels.env: production}
    then: [{deploy: {approvals: 2, approvers: deployers, expire: 4h}}]
  - name: staging
    when: {kind: deploy, status: requested, labels.env: staging}
    then: [{deploy: {allow: [deployers]}}]
"""


@pytest.fixture
def jenkins():
    fake = fakes.FakeJenkins()
    yield fake
    fake.stop()


@pytest.fixture
def github():
    fake = fakes.FakeGitHub()
    fake.heads.update({("acme/web-api", "main"): SHA, ("acme/web-api", "v1.4.2"): SHA2,
                       ("acme/web-ui", "main"): UI_SHA})
    yield fake
    fake.stop()


@pytest.fixture
def rules_dir(tmp_path):
    path = tmp_path / "rules"
    path.mkdir()
    for name, text in {"people.yml": PEOPLE, "permissions.yml": PERMISSIONS, "routing.yml": ROUTING,
                       "deploy.yml": DEPLOY}.items():
        (path / name).write_text(text)
    return path


@pytest.fixture
def env(monkeypatch, redis, redis_url, rules_dir, jenkins, github):
    """What a worker reads: the brain, the rules dir, the fakes; built-in rooms (no Slack token).
    The clock starts at WORKDAY and ticks (the API and dashboard deploy tests take this fixture too)."""
    for name in ("SLACK_BOT_TOKEN", "SPARKY_ADMIN_TOKEN", "SPARKY_HOOK_TOKENS", "GITHUB_WEBHOOK_SECRET"):
        monkeypatch.delenv(name, raising=False)
    for name, value in {"SPARKY_REDIS_URL": redis_url, "SPARKY_RULES_DIR": str(rules_dir), "SPARKY_RULES_POLL": "0",
                        "SLACK_SIGNING_SECRET": SLACK_SECRET, "JENKINS_URL": jenkins.url + "/",
                        "JENKINS_USER": fakes.JENKINS_USER, "JENKINS_TOKEN": fakes.JENKINS_TOKEN,
                        "GITHUB_API_URL": github.url, "GITHUB_TOKEN": fakes.GITHUB_TOKEN}.items():
        monkeypatch.setenv(name, value)
    use_rules(redis, rules_dir)
    with time_machine.travel(WORKDAY, tick=True):
        yield Config.from_env()


@pytest.fixture
def config(env, tmp_path):
    return env.with_(data_dir=tmp_path / "var")


@pytest.fixture
def response_url():
    fake = ResponseURL()
    yield fake
    fake.close()


class Deploys:
    """Sparky as people and systems meet it, plus a look at the brain."""

    def __init__(self, client, redis, run_jobs, response_url):
        self.client, self.redis, self.run_jobs, self.response_url = client, redis, run_jobs, response_url

    # -- people ------------------------------------------------------------------------------------

    def say(self, user: str, text: str, room: str = "#deploys") -> str:
        """A command typed in a built-in room; returns Sparky's reply to it."""
        answer = self.client.post(f"/api/rooms/{quote(room, safe='')}/messages", json={"user": user, "text": text})
        assert answer.status_code == 202, answer.json
        self.run_jobs()
        (sid,) = answer.json["signals"]
        replies = [m for m in rooms.messages(self.redis, room, 500) if m.get("reply_to") == sid]
        assert len(replies) == 1, replies
        return replies[0]["text"]

    def click(self, user_id: str, value: str, channel: str = "C05DEPLOYS") -> str:
        """A Slack button click (block_actions); returns the reply sent to its response_url."""
        action_id = "sparky_deploy_approve" if value.startswith("approve") else "sparky_deploy_deny"
        payload = {"type": "block_actions", "user": {"id": user_id, "username": user_id.lower()},
                   "channel": {"id": channel, "name": "deploys"}, "response_url": self.response_url.url,
                   "container": {"type": "message", "message_ts": "1.2", "channel_id": channel},
                   "actions": [{"type": "button", "action_id": action_id, "value": value, "action_ts": "1.3"}]}
        body = urlencode({"payload": json.dumps(payload)}).encode()
        form = "application/x-www-form-urlencoded"
        answer = self.client.post("/slack/interactions", data=body, headers=signed(body, form, time.time()))
        assert answer.status_code == 200
        self.run_jobs()
        return self.response_url.bodies[-1]["text"]

    def said(self, room: str = "#deploys") -> list[str]:
        """What Sparky posted about deploys in a room (not command replies), oldest first."""
        return [m["text"] for m in rooms.messages(self.redis, room, 500) if m.get("deploy")]

    def buttons(self, room: str = "#deploys") -> list[list[str]]:
        return [[b["value"] for b in m.get("buttons", [])] for m in rooms.messages(self.redis, room, 500)
                if m.get("deploy")]

    # -- systems ---------------------------------------------------------------------------------------

    def hook(self, path: str, body: dict, **headers: str) -> None:
        answer = self.client.post(path, data=json.dumps(body), headers={"Content-Type": "application/json", **headers})
        assert answer.status_code == 202, answer.json
        self.run_jobs()

    def ci(self, sha: str, state: str = "success", context: str = "ci/jenkins", repo: str = "acme/web-api") -> None:
        self.hook("/hooks/github", {"state": state, "context": context, "sha": sha, "repository": {"full_name": repo},
                                    "branches": [{"name": "main"}], "target_url": f"https://ci.example/{sha[:7]}"},
                  **{"X-GitHub-Event": "status", "X-GitHub-Delivery": str(uuid.uuid4())})

    def push(self, sha: str, branch: str = "main", repo: str = "acme/web-api") -> None:
        self.hook("/hooks/github", {"ref": f"refs/heads/{branch}", "after": sha, "repository": {"full_name": repo},
                                    "commits": [{"id": sha}], "head_commit": {"message": "fix", "id": sha}},
                  **{"X-GitHub-Event": "push", "X-GitHub-Delivery": str(uuid.uuid4())})

    def alert(self, app: str, status: str = "firing", severity: str = "critical", name: str = "HighErrorRate") -> None:
        labels = {"alertname": name, "app": app, "severity": severity}
        self.hook("/hooks/alertmanager", {
            "version": "4", "status": status, "receiver": "sparky", "groupLabels": {}, "commonLabels": labels,
            "commonAnnotations": {}, "externalURL": "http://am", "groupKey": "{}", "truncatedAlerts": 0,
            "alerts": [{"status": status, "labels": labels, "annotations": {"summary": f"{name} on {app}"},
                        "startsAt": "2026-03-01T10:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
                        "generatorURL": "http://prom", "fingerprint": f"fp-{app}-{name}"}]})

    def jenkins(self, job: str, build: int, phase: str, status: str = "") -> None:
        body = {"name": job, "url": f"job/{job}/", "build": {
            "full_url": f"https://jenkins.example/job/{job}/{build}/", "number": build, "phase": phase,
            "url": f"job/{job}/{build}/", "scm": {}, "log": "", **({"status": status} if status else {})}}
        self.hook("/hooks/jenkins", body)

    def deployment_status(self, repo: str, env: str, sha: str, state: str) -> None:
        self.hook("/hooks/github", {
            "action": "created", "deployment_status": {"id": 1, "state": state, "environment": env,
                                                       "target_url": "https://deploys.example/1"},
            "deployment": {"id": 9000, "sha": sha, "ref": "main", "environment": env},
            "repository": {"full_name": repo}, "sender": {"login": "github-actions[bot]"}},
            **{"X-GitHub-Event": "deployment_status", "X-GitHub-Delivery": str(uuid.uuid4())})

    def run_scheduled_at(self, at: float) -> None:
        """Move RQ's scheduled jobs due by `at` (epoch seconds) to their queue and run them, at that time."""
        from datetime import datetime, timezone

        from freezegun import freeze_time
        from rq import Queue
        from rq.scheduler import RQScheduler

        from router.jobs.queues import QUEUES

        with freeze_time(datetime.fromtimestamp(at, timezone.utc)):
            scheduler = RQScheduler([Queue(q, connection=self.redis) for q in QUEUES], connection=self.redis)
            scheduler.acquire_locks()
            try:
                scheduler.enqueue_scheduled_jobs()
            finally:
                scheduler.release_locks()
            self.run_jobs()

    # -- the brain ---------------------------------------------------------------------------------------

    def request(self, request_id: str) -> dict:
        return reqs.get(self.redis, request_id)

    def latest(self) -> dict:
        return reqs.recent(self.redis, 1)[0]

    def audit(self, prefix: str = "deploy.") -> list[dict]:
        entries, _ = brain.audit_entries(self.redis, 500)
        return [e for e in reversed(entries) if e["event"].startswith(prefix)]


@pytest.fixture
def sparky(client, redis, env, run_jobs, response_url):
    return Deploys(client, redis, run_jobs, response_url)
