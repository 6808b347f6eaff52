"""Fixtures for the chat commands: a rules dir with people, permissions and guardrails, the
environment a worker reads, signed Slack requests, a fake `response_url`, alerts in the brain."""
from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlencode

import pytest

from router.alerts import state as alert_state
from router.core import brain
from router.core.config import Config
from router.core.signal import Signal
from tests.conftest import SLACK_SECRET

PEOPLE = """\
people:
  alice: {slack: U01ALICE, github: alice, tz: Europe/Berlin}
  bob:   {slack: U01BOB, github: bob-gh}
  carol: {slack: U01CAROL, tz: America/New_York}
  dave:  {slack: U01DAVE}
groups:
  oncall: [alice, bob]
  leads: [carol]
  staff: [oncall, leads, dave]
"""

PERMISSIONS = """\
permissions:
  - command: [help, alerts, why, snoozes]
    allow: ["*"]
  - command: ack
    allow: [staff]
  - command: [snooze, unsnooze]
    allow: [oncall, carol]
  - command: snooze
    allow: [oncall]
    rooms: ["#ops"]
    args: {env: production}
  - command: unsnooze
    allow: [oncall]
    args: {env: production}
"""

SUPPRESSION = """\
ruleset: suppression
guardrails:
  snooze:
    max_duration: {default: 7d, production: 24h}
    reason_required: [production]
    max_matches: 3
    require_label: true
rules:
  - name: snoozed
    when: {kind: alert, snoozed: true, status: {not: resolved}}
    then:
      - drop: {reason: snoozed}
  - name: acked-repeats
    when: {kind: alert, acked: true, status: firing}
    then:
      - drop: {reason: acknowledged}
"""

ROUTING = """\
ruleset: routing
rules:
  - name: chat-commands
    when: {kind: command}
    then:
      - drop: {reason: handled by the chat layer}
  - name: alerts-to-ops
    when: {kind: alert, status: [firing, flapping]}
    then:
      - notify: {room: "#ops"}
  - name: resolved
    when: {kind: alert, status: resolved}
    then:
      - notify: {room: "#ops"}
  - name: everything-else
    when: {}
    then:
      - drop: {reason: noise}
"""


def write_rules(path: Path, **files: str) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    defaults = {"people.yml": PEOPLE, "permissions.yml": PERMISSIONS, "suppression.yml": SUPPRESSION,
                "routing.yml": ROUTING}
    for name, text in {**defaults, **{k.replace("_", ".", 1): v for k, v in files.items()}}.items():
        if text is None:
            (path / name).unlink(missing_ok=True)
        else:
            (path / name).write_text(text)
    return path


_loaded: dict = {}


def use_rules(redis, path: Path) -> str:
    """Publish a rules dir as the version in force, as `sparky rules reload` would (checked in
    process, once per content: the full check runs in a child process and costs ~0.4 s a time)."""
    from router.engine import store
    from router.engine.loader import read_dir
    from router.engine.rules import load, version_of

    files = read_dir(path)
    version = version_of(files)
    if version not in _loaded:
        rules, problems = load(files, str(path))
        assert rules is not None, problems
        _loaded[version] = rules
    store.publish(redis, _loaded[version], by="test")
    return version


@pytest.fixture
def rules_dir(tmp_path):
    return write_rules(tmp_path / "rules")


@pytest.fixture
def env(monkeypatch, redis, redis_url, rules_dir):
    """What a worker reads: brain, rules dir; built-in rooms (no Slack token)."""
    for name in ("SLACK_BOT_TOKEN", "SPARKY_ADMIN_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SPARKY_REDIS_URL", redis_url)
    monkeypatch.setenv("SPARKY_RULES_DIR", str(rules_dir))
    monkeypatch.setenv("SPARKY_RULES_POLL", "0")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SLACK_SECRET)
    use_rules(redis, rules_dir)
    return Config.from_env()


class Clock:
    """The app's injectable clock (Config(clock=...)): Slack signatures are checked against it."""

    def __init__(self, now: float | None = None):
        self.now = now if now is not None else time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def slack_clock():
    return Clock()


@pytest.fixture
def config(redis_url, tmp_path, rules_dir, env, slack_clock):
    return Config(redis_url=redis_url, data_dir=tmp_path / "var", rules_dir=rules_dir, rules_poll=0,
                  slack_signing_secret=SLACK_SECRET, clock=slack_clock)


def signed(body: bytes, content_type: str, at: float, secret: str = SLACK_SECRET) -> dict:
    """Headers of a request signed with Slack's v0 scheme at time `at`."""
    timestamp = str(int(at))
    digest = hmac.new(secret.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    return {"Content-Type": content_type, "X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": f"v0={digest}"}


class ResponseURL:
    """A local stand-in for Slack's response_url: records every JSON body posted to it."""

    def __init__(self):
        self.bodies: list[dict] = []
        self.status = 200
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                outer.bodies.append(json.loads(self.rfile.read(length) or b"{}"))
                self.send_response(outer.status)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"ok" if outer.status == 200 else b"expired_url")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/commands/T1/1/secret"

    def texts(self) -> list[str]:
        return [b["text"] for b in self.bodies]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def response_url():
    fake = ResponseURL()
    yield fake
    fake.close()


def slash_form(text: str, user: str = "U01ALICE", channel: str = "C04OPS", channel_name: str = "ops",
               response_url: str = "") -> bytes:
    return urlencode({"token": "x", "team_id": "T1", "channel_id": channel, "channel_name": channel_name,
                      "user_id": user, "user_name": user.lower(), "command": "/sparky", "text": text,
                      "response_url": response_url, "trigger_id": "1.2.3"}).encode()


def fire(redis, fingerprint: str = "web-01/HTTP", status: str = "firing", env: str = "", **labels) -> Signal:
    """An alert signal stored and folded into the alert state, as the evaluation does."""
    host = fingerprint.split("/")[0]
    labels = {"host": host, "service": fingerprint.split("/")[-1], **({"env": env} if env else {}), **labels}
    signal = Signal(source="nagios", kind="alert", status=status, severity="critical", subject=fingerprint,
                    fingerprint=fingerprint, labels=labels, summary=f"CRITICAL {fingerprint}: connection refused")
    pipe = redis.pipeline()
    brain.store_signals(pipe, [signal.to_dict()], 3600)
    pipe.execute()
    alert_state.record(redis, signal.to_dict())
    return signal


def chat(text: str, user: str = "alice", room: str = "#ops", channel: str = "cli") -> dict:
    from router.commands.channels import chat_signal

    return chat_signal(channel, text, room, user).to_dict()
