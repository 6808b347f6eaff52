"""Children that die with their supervisor, and the pidfile that finds them when they did not.

`sparky up` starts Redis, the web server, a worker; if it is killed with SIGKILL it cannot stop
them, and they went on running unsupervised: a worker that died next was never restarted while
the web tier kept answering 202. Two guards:

- On Linux each child asks the kernel for SIGTERM when its parent dies (prctl PR_SET_PDEATHSIG),
  so they stop as if `sparky up` had stopped them (Redis flushes its append-only file, the
  worker finishes its job).
- A pidfile in the data dir names the supervisor and its children, with their command lines; the
  next `sparky up` finds a dead supervisor's children still alive (another OS, or a child that
  ignored the signal) and stops them before starting its own, instead of refusing to start.
"""
from __future__ import annotations

import ctypes
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Callable

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def die_with_parent(sig: int = signal.SIGTERM) -> Callable[[], None] | None:
    """A `preexec_fn` for subprocess.Popen: the child gets `sig` when the process that started
    it exits. None where the kernel has no such thing (not Linux)."""
    if not sys.platform.startswith("linux"):
        return None
    parent = os.getpid()
    libc = ctypes.CDLL(None, use_errno=True)

    def _preexec() -> None:
        libc.prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0)
        if os.getppid() != parent:     # the parent died between fork and prctl
            os.kill(os.getpid(), sig)

    return _preexec


def forks_die_with_this_process(sig: int = signal.SIGTERM) -> None:
    """Every process this one forks from now on gets `sig` when this one exits (Linux; else
    nothing). For processes a library forks out of our hands: RQ's scheduler, forked by the
    worker, outlived a worker killed with SIGKILL and went on holding the scheduler lock."""
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    os.register_at_fork(after_in_child=lambda: libc.prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0))


def cmdline(pid: int) -> list[str] | None:
    """The command line of a live process, None if there is none (or it is a zombie)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return _alive_elsewhere(pid)
    return raw.rstrip(b"\0").decode(errors="replace").split("\0") if raw else None


def _alive_elsewhere(pid: int) -> list[str] | None:
    """Without /proc (not Linux): alive or not, command line unknown (an empty list)."""
    if Path("/proc/self").exists():
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    return []


def _program(cmd: list[str]) -> str:
    return os.path.basename(cmd[0].split()[0]) if cmd and cmd[0].strip() else ""


def _same(pid: int, recorded: list[str]) -> bool:
    """Whether `pid` still runs the program that was recorded (not a stranger that reused the
    pid). The program only: redis-server rewrites the rest of its command line."""
    now = cmdline(pid)
    if now is None:
        return False
    return now == [] or now == recorded or (bool(recorded) and _program(now) == _program(recorded))


class Pidfile:
    """`<data dir>/sparky-up.pid`: {"supervisor": {pid, cmd}, "children": {name: {pid, cmd}}}."""

    def __init__(self, data_dir: Path):
        self.path = Path(data_dir) / "sparky-up.pid"

    def read(self) -> dict:
        try:
            return json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}

    def write(self, children: dict[str, tuple[int, list[str]]]) -> None:
        record = {"supervisor": {"pid": os.getpid(), "cmd": cmdline(os.getpid()) or []},
                  "children": {name: {"pid": pid, "cmd": cmd} for name, (pid, cmd) in children.items()}}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(record))
        os.replace(tmp, self.path)       # a reader never sees half a file

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)

    def live_supervisor(self) -> int | None:
        """The pid of the recorded supervisor if it still runs, else None."""
        sup = self.read().get("supervisor") or {}
        pid = sup.get("pid")
        if pid and pid != os.getpid() and _same(pid, sup.get("cmd") or []):
            return pid
        return None

    def leftovers(self) -> dict[str, int]:
        """Children of a dead supervisor that still run: name → pid."""
        record = self.read()
        return {name: child["pid"] for name, child in (record.get("children") or {}).items()
                if child.get("pid") and _same(child["pid"], child.get("cmd") or [])}

    def stop_leftovers(self, timeout: float = 10.0) -> dict[str, int]:
        """SIGTERM the leftovers, SIGKILL those still there after `timeout`; what was stopped."""
        found = self.leftovers()
        for pid in found.values():
            _signal(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and any(cmdline(pid) is not None for pid in found.values()):
            time.sleep(0.1)
        for pid in found.values():
            if cmdline(pid) is not None:
                _signal(pid, signal.SIGKILL)
        self.remove()
        return found


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass
