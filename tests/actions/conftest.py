"""Fixtures for the actions: a fake Slack, Slack or built-in-rooms configuration, stored signals,
and a clock that moves RQ's scheduled jobs forward without sleeping."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from freezegun import freeze_time
from rq import Queue
from rq.scheduler import RQScheduler

from router.core import brain
from router.core.config import Config
from router.core.signal import Signal, signal_from_dict
from router.jobs.queues import ACTIONS_QUEUE, QUEUES
from sources import nagios
from sources.common import decode_form
from tests.conftest import PAYLOADS
from tests.fakeslack import TOKEN, FakeSlack

PEOPLE = """\
people:
  alice: {slack: U01ALICE, github: alice-gh}
  bob: {slack: U01BOB}
groups:
  oncall: [alice, bob]
"""


@pytest.fixture
def fake_slack():
    fake = FakeSlack().start()
    yield fake
    fake.stop()


@pytest.fixture
def rules_dir(tmp_path):
    path = tmp_path / "rules"
    path.mkdir()
    (path / "people.yml").write_text(PEOPLE)
    return path


@pytest.fixture
def slack_env(monkeypatch, fake_slack, redis_url, rules_dir):
    """Jobs read their config from the environment, as in a worker: Slack at the fake, rate off."""
    for name, value in {"SLACK_BOT_TOKEN": TOKEN, "SLACK_API_URL": fake_slack.url, "SPARKY_SLACK_RATE": "0",
                        "SPARKY_SLACK_TIMEOUT": "2", "SPARKY_RULES_DIR": str(rules_dir),
                        "SPARKY_REDIS_URL": redis_url}.items():
        monkeypatch.setenv(name, value)
    return Config.from_env()


@pytest.fixture
def rooms_env(monkeypatch, redis_url, rules_dir):
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    monkeypatch.setenv("SPARKY_RULES_DIR", str(rules_dir))
    monkeypatch.setenv("SPARKY_REDIS_URL", redis_url)
    return Config.from_env()


def store(redis, *signals: Signal | dict) -> list[dict]:
    """Put signals in the brain, as reception does; returns them as dicts."""
    stored = [s.to_dict() if isinstance(s, Signal) else signal_from_dict(s).to_dict() for s in signals]
    pipe = redis.pipeline()
    brain.store_signals(pipe, stored, 3600)
    pipe.execute()
    return stored


def nagios_signal(name: str) -> Signal:
    """The signal the Nagios adapter makes of a captured notification in tests/payloads/nagios."""
    raw = (PAYLOADS / "nagios" / name).read_bytes()
    payload = decode_form(raw) if name.endswith(".form") else json.loads(raw)
    return nagios.parse(payload, {})[0]


def alert(fingerprint: str = "web-01/HTTP", status: str = "firing", **fields) -> Signal:
    labels = fields.pop("labels", {"host": fingerprint.split("/")[0]})
    return Signal(source="nagios", kind="alert", status=status, severity=fields.pop("severity", "critical"),
                  subject=fingerprint, fingerprint=fingerprint, labels=labels,
                  summary=fields.pop("summary", f"CRITICAL {fingerprint}: down"), **fields)


def scheduled(redis, queue: str = ACTIONS_QUEUE) -> dict[str, float]:
    """Jobs waiting on RQ's scheduler: id → due epoch second."""
    from rq.registry import ScheduledJobRegistry

    key = ScheduledJobRegistry(queue, connection=redis).key
    return {j.decode(): s for j, s in redis.zrange(key, 0, -1, withscores=True)}


class Clock:
    """Runs due scheduled jobs at a chosen time: RQ's own scheduler and worker under freezegun."""

    def __init__(self, redis, run_jobs):
        self.redis, self.run_jobs = redis, run_jobs

    def run_at(self, at: float, allow_failures: bool = False) -> int:
        with freeze_time(datetime.fromtimestamp(at, timezone.utc)):
            scheduler = RQScheduler([Queue(q, connection=self.redis) for q in QUEUES], connection=self.redis)
            scheduler.acquire_locks()
            try:
                scheduler.enqueue_scheduled_jobs()
            finally:
                scheduler.release_locks()
            return self.run_jobs(allow_failures=allow_failures)


@pytest.fixture
def clock(redis, run_jobs):
    return Clock(redis, run_jobs)
