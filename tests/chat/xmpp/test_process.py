"""`sparky xmpp` as the real process `sparky up` starts: it delivers what workers queue, a second one
waits instead of answering commands twice, SIGTERM stops it and frees the connection, and a
refused password stops it with the reason (so `sparky up` does not restart it in a loop)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from router.chat import send as chat
from router.chat.xmpp import holder
from router.core.config import PROJECT_ROOT

pytestmark = pytest.mark.slow


def start(env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "router.cli.main", "xmpp"], env=env, cwd=PROJECT_ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def wait_online(redis, timeout: float = 20.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        record = holder.current(redis)
        if record and record["online"] and record["rooms"]:
            return record
        time.sleep(0.05)
    raise AssertionError("sparky xmpp did not get online")


def test_the_process_delivers_holds_the_connection_alone_and_stops_cleanly(redis, xmpp_env, people, room):
    alice = people("alice")
    first = start(dict(os.environ))
    second = None
    try:
        record = wait_online(redis)
        assert (record["pid"], record["rooms"]) == (first.pid, [room])
        second = start(dict(os.environ))
        time.sleep(1.0)
        assert holder.current(redis)["pid"] == first.pid and second.poll() is None   # waiting
        mark = alice.sink.mark()
        sent = chat.send(redis, xmpp_env, chat.Message(room=f"xmpp:{room}", key="p-1", text="from a worker"))
        assert alice.wait(lambda i: i.kind == "groupchat" and i["body"] == "from a worker", since=mark)
        assert sent.transport == "xmpp" and not sent.duplicate

        first.send_signal(signal.SIGTERM)
        assert first.wait(15) == 0
        assert wait_online(redis)["pid"] == second.pid                # the waiting one took over
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(15)
    assert holder.current(redis) is None


def test_a_refused_password_stops_it_with_the_reason(redis, xmpp_env):
    proc = start({**os.environ, "XMPP_PASSWORD": "wrong"})
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 1, out
    assert "the server refused sparky@localhost's password (XMPP_JID, XMPP_PASSWORD)" in out
    assert holder.current(redis) is None
