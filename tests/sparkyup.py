"""`sparky up` in a subprocess, and plain-HTTP helpers, for the tests that run the real thing
(tests/test_end_to_end.py, tests/cli/test_slow_clients.py, tests/cli/test_supervisor.py,
tests/test_chaos.py)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path


def http(method: str, url: str, body: bytes | None = None, headers: dict | None = None,
         timeout: float = 10):
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except (urllib.error.URLError, ConnectionError, OSError):
            pass
        time.sleep(interval)
    raise AssertionError("timed out waiting")


def clean_env(**extra: str) -> dict:
    """This process's environment without Sparky's variables, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPARKY_", "SLACK_", "GITHUB_", "XMPP_"))}
    env.update(extra)
    return env


def launch(data_dir, port, **extra: str) -> subprocess.Popen:
    """`sparky up` started, not waited for; its output (stdout and stderr) in a file beside the
    data dir, not a pipe: a pipe nobody reads fills up and blocks every process that logs."""
    env = clean_env(SPARKY_DATA_DIR=str(data_dir), SPARKY_PORT=str(port), **extra)
    log = Path(data_dir).parent / f"sparky-up-{port}-{time.monotonic_ns()}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "router.cli.main", "up"], env=env,
                                stdout=out, stderr=subprocess.STDOUT, text=True)
    proc.log = log
    return proc


def output(proc, timeout: float = 60) -> str:
    """Wait for `proc` to exit; what it printed."""
    proc.wait(timeout)
    return proc.log.read_text(errors="replace")


def start(data_dir, port, **extra: str):
    """`sparky up` until /readyz says 200: (process, base URL)."""
    proc = launch(data_dir, port, **extra)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: http("GET", f"{base}/readyz")[0] == 200, timeout=60)
    except AssertionError:
        out = stop(proc)
        raise AssertionError(f"sparky up never became ready; /readyz and its output:\n{out}") from None
    return proc, base


def stop(proc) -> str:
    """Ctrl-C, as a user stops it; its output."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
    try:
        return output(proc, timeout=45)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError(f"sparky up did not stop within 45 s of Ctrl-C; its output:\n"
                             f"{output(proc, 10)}") from None


def end_killed_and_restarted(killed, second) -> None:
    """After a test that kill -9s `sparky up` and starts a second one: make sure the first is gone,
    and stop the second as a user would, which must exit cleanly."""
    if killed.poll() is None:
        killed.kill()
    killed.wait(10)
    if second is not None:
        out = stop(second)
        assert second.returncode == 0, out


def descendants(pid: int) -> set[int]:
    """Every live process below `pid` (children, their children...), read from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found
