"""The pidfile's leftovers: what a dead `sparky up` left running is stopped by the next one, and
a pid now used by another program is left alone."""
from __future__ import annotations

import subprocess
import sys
import time

import pytest

from router.core.lifeline import Pidfile, cmdline, die_with_parent

SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_leftovers_of_a_dead_supervisor_are_stopped(tmp_path):
    child = subprocess.Popen(SLEEPER)
    try:
        pidfile = Pidfile(tmp_path)
        pidfile.path.write_text(
            '{"supervisor": {"pid": %d, "cmd": ["sparky", "up"]}, '
            '"children": {"worker": {"pid": %d, "cmd": %s}}}'
            % (dead_pid(), child.pid, str(SLEEPER).replace("'", '"')))
        assert pidfile.live_supervisor() is None
        assert pidfile.stop_leftovers(timeout=5) == {"worker": child.pid}
        assert child.wait(5) is not None
        assert not pidfile.path.exists()
    finally:
        child.kill()
        child.wait()


def test_a_pid_reused_by_another_program_is_not_touched(tmp_path):
    stranger = subprocess.Popen(["sleep", "60"])
    try:
        pidfile = Pidfile(tmp_path)
        pidfile.path.write_text('{"supervisor": {"pid": %d, "cmd": []}, '
                                '"children": {"worker": {"pid": %d, "cmd": ["/usr/bin/python3", "worker.py"]}}}'
                                % (dead_pid(), stranger.pid))
        assert pidfile.stop_leftovers(timeout=1) == {}
        assert stranger.poll() is None
    finally:
        stranger.kill()
        stranger.wait()


@pytest.mark.skipif(die_with_parent() is None, reason="PR_SET_PDEATHSIG is Linux only")
def test_a_child_started_with_die_with_parent_goes_when_its_parent_does():
    # the parent: a Python process that starts a sleeper with die_with_parent, prints its pid, waits
    parent = subprocess.Popen(
        [sys.executable, "-c",
         "import subprocess, sys, time\n"
         "from router.core.lifeline import die_with_parent\n"
         f"p = subprocess.Popen({SLEEPER!r}, preexec_fn=die_with_parent())\n"
         "print(p.pid, flush=True)\n"
         "time.sleep(60)\n"],
        stdout=subprocess.PIPE, text=True)
    child = int(parent.stdout.readline())
    assert cmdline(child) is not None
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and cmdline(child) is not None:
        time.sleep(0.05)
    assert cmdline(child) is None
