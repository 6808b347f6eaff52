"""A lost supervisor: `kill -9` of `sparky up` used to leave Redis, the web server and the worker
running unsupervised (a worker that died next was never restarted), and a second `sparky up`
refused to start over them. Now the whole tree goes with it, and the next one starts."""
from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from router.core.lifeline import Pidfile, cmdline
from tests.conftest import free_port
from tests.sparkyup import descendants, end_killed_and_restarted, http, launch, output, start

pytestmark = pytest.mark.slow


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process tree from /proc")
def test_kill_9_of_sparky_up_takes_its_children_and_the_next_one_starts(tmp_path):
    data_dir, port = tmp_path / "var", free_port()
    proc, base = start(data_dir, port, SPARKY_WEB_WORKERS="1")
    second = None
    try:
        tree = descendants(proc.pid)
        recorded = Pidfile(data_dir).read()
        assert recorded["supervisor"]["pid"] == proc.pid
        assert set(recorded["children"]) == {"web", "worker", "redis"}
        assert {c["pid"] for c in recorded["children"].values()} <= tree
        assert len(tree) >= 4          # redis, granian and its worker, the worker (+ its scheduler)
        # while it runs, another on the same data dir is refused, naming it
        other = launch(data_dir, free_port())
        out = output(other)
        assert other.returncode == 1, out
        assert f"another `sparky up` (pid {proc.pid}) runs on {data_dir.resolve()}" in out

        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and any(cmdline(pid) is not None for pid in tree):
            time.sleep(0.1)
        left = {pid: cmdline(pid) for pid in tree if cmdline(pid) is not None}
        assert not left, f"still running after kill -9 of sparky up: {left}"

        second, base = start(data_dir, port, SPARKY_WEB_WORKERS="1")           # neither refused nor confused by the pidfile
        assert http("GET", f"{base}/healthz")[0] == 200
    finally:
        end_killed_and_restarted(proc, second)
    assert not Pidfile(data_dir).path.exists()         # a clean stop removes it

