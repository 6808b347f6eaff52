"""Slow clients do not stop intake: with 50 sockets dripping their headers or bodies one byte
every 2 s into `sparky up`'s web server, hooks and /healthz still answer within 1 s and every
accepted signal is evaluated. (gunicorn's sync workers, what `sparky up` ran before, answered
nothing with 4 such sockets open: bench/RESULTS.md.)"""
from __future__ import annotations

import http.client
import json
import time

import pytest

from tests.conftest import free_port
from tests.slowloris import SlowClients
from tests.sparkyup import http as request
from tests.sparkyup import start, stop, wait_for

pytestmark = pytest.mark.slow


def timed(port: int, method: str, path: str, body: bytes | None = None) -> tuple[float, int, dict]:
    """One request on a new connection that must answer within 1 s: (seconds, status, JSON)."""
    began = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1.0)
    try:
        conn.request(method, path, body, {"Content-Type": "application/json"} if body else {})
        response = conn.getresponse()
        answer = json.loads(response.read() or b"null")
    finally:
        conn.close()
    return time.monotonic() - began, response.status, answer


def test_fifty_slow_sockets_leave_hooks_answering_within_a_second(tmp_path):
    port = free_port()
    proc, base = start(tmp_path / "var", port)
    accepted, slowest = [], 0.0
    try:
        with SlowClients(port, 50, interval=2.0) as slow:
            time.sleep(2.5)                       # every socket has dripped at least once
            for i in range(40):
                seconds, status, answer = timed(port, "POST", "/hooks/generic",
                                                json.dumps({"subject": f"slow-{i}"}).encode())
                assert status == 202, answer
                accepted += answer["signals"]
                slowest = max(slowest, seconds)
                seconds, status, _ = timed(port, "GET", "/healthz")
                assert status == 200
                slowest = max(slowest, seconds)
                time.sleep(0.1)
            assert len(slow.socks) == 50
        print(f"slowest answer with 50 slow sockets open: {slowest:.3f} s; {slow.reopened} reopened")
        assert len(accepted) == 40 and len(set(accepted)) == 40
        # nothing accepted is lost: the worker evaluates every one
        for sid in accepted:
            wait_for(lambda: request("GET", f"{base}/api/signals/{sid}/decision")[0] == 200, timeout=60)
    finally:
        out = stop(proc)
    assert proc.returncode == 0, out
