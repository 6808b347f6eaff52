"""A `python worker.py` process outlives a Redis outage that breaks RQ's loop (worker.py
`work_once`): the brain dies while a job runs, the job's bookkeeping fails, RQ's loop quits —
and the process starts a fresh loop once Redis is back, instead of exiting for a supervisor."""
from __future__ import annotations

import os
import signal as signals
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from redis import Redis

from router.jobs import runner
from tests.actions.conftest import alert, store
from tests.fakehttp import JsonServer
from tests.sentinels import Process, wait_until

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


class SlowReceiver(JsonServer):
    """Answers webhooks; the first one only when `release` is set, so a job is mid-flight."""

    def __init__(self):
        super().__init__()
        self.release = threading.Event()
        self.seen: list[str] = []

    def handle(self, method, path, query, body, headers):
        self.seen.append(path)
        if len(self.seen) == 1:
            self.lock.release()            # let the test read `seen` while this one waits
            try:
                self.release.wait(30)
            finally:
                self.lock.acquire()
        return 200, {}, {"ok": True}


def redis_server(home: Path, port: int) -> Process:
    return Process(home, port, ["--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes",
                                "--appendfsync", "always", "--logfile", "redis.log", "--daemonize", "no"])


def test_the_worker_process_survives_a_brain_outage_mid_job(tmp_path, rules_dir):
    from tests.conftest import free_port

    port = free_port()
    server = redis_server(tmp_path / "redis", port).start()
    wait_until(server.alive, 10, "redis")
    conn = Redis(port=port)
    receiver = SlowReceiver().start()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPARKY_", "SLACK_"))}
    env.update(SPARKY_REDIS_URL=f"redis://127.0.0.1:{port}/0", SPARKY_RULES_DIR=str(rules_dir))
    log = tmp_path / "worker.log"
    with open(log, "a") as out:
        worker = subprocess.Popen([sys.executable, str(ROOT / "worker.py")], env=env, cwd=ROOT,
                                  start_new_session=True, stdout=out, stderr=subprocess.STDOUT)
    try:
        first, second = store(conn, alert("web-01/HTTP"), alert("web-02/HTTP"))
        runner.enqueue_actions(conn, [(first["id"], "routing", "hook", 0, "webhook", {"url": f"{receiver.url}/a"})])
        wait_until(lambda: receiver.seen, 30, "the first webhook to be in flight")
        server.kill()                                        # the brain dies under a running job
        receiver.release.set()                               # the job ends; its bookkeeping cannot
        wait_until(lambda: "starts again" in log.read_text(), 30, "the worker loop to end on the outage")
        assert worker.poll() is None, log.read_text()[-3000:]
        time.sleep(1.0)
        server.start()                                       # the same port, its append-only file
        wait_until(server.alive, 10, "redis back")
        runner.enqueue_actions(conn, [(second["id"], "routing", "hook", 0, "webhook", {"url": f"{receiver.url}/b"})])
        wait_until(lambda: "/b" in receiver.seen, 60, "a job after the outage")
        assert worker.poll() is None, "the worker process exited instead of starting a fresh loop"
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signals.SIGTERM)
            try:
                worker.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signals.SIGKILL)
        server.kill()
        receiver.stop()
    # the job cut off by the outage was put back and ran again (at least once, one key), or was done
    assert receiver.seen.count("/a") in (1, 2), receiver.seen
