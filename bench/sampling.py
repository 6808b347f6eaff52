"""Peak memory of processes while a benchmark runs: every SAMPLE s, the VmRSS of each process of
each component (a process and its children, from /proc), the largest value kept per process;
and, with it, a probe of the system (Sparky's backlog) with its time.
"""
from __future__ import annotations

import contextlib
import threading
import time
from pathlib import Path

from harness import children_map

SAMPLE = 0.2     # seconds between samples


def tree(pid: int, children: dict[int, list[int]]) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def short_name(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
    except OSError:
        return "?"
    words = [Path(a).name for a in argv[:3] if not a.startswith("-")]
    return " ".join(words[:2]) or "?"


class Poller:
    """A thread calling `sample()` every `interval` seconds, from `with` to its end."""

    interval = SAMPLE

    def __enter__(self):
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join()

    def _loop(self) -> None:
        while not self.stop.is_set():
            self.sample()
            self.stop.wait(self.interval)

    def sample(self) -> None:
        raise NotImplementedError


class Sampler(Poller):
    """Every SAMPLE s: each process's VmRSS (per component, its children included; the peak of each
    kept), and `probe()` (the backlog) with its time."""

    def __init__(self, procs: dict[str, list], probe=None):
        self.procs, self.probe = procs, probe
        self.peak: dict[tuple[str, int], float] = {}
        self.names: dict[int, str] = {}
        self.tree_peak: dict[str, float] = {}
        self.probes: list[tuple[float, object]] = []

    def sample(self) -> None:
        children = children_map()
        for name, ps in self.procs.items():
            total = 0.0
            for top in ps:
                for pid in tree(top.pid, children):
                    mb = rss_mb(pid)
                    total += mb
                    if mb > self.peak.get((name, pid), 0):
                        self.peak[(name, pid)] = mb
                        self.names.setdefault(pid, short_name(pid))
            self.tree_peak[name] = max(self.tree_peak.get(name, 0.0), total)
        if self.probe:
            with contextlib.suppress(Exception):
                self.probes.append((time.time(), self.probe()))

    def print_rss(self) -> None:
        for name in self.procs:
            each = sorted(((pid, mb) for (n, pid), mb in self.peak.items() if n == name), key=lambda x: -x[1])
            print(f"  peak RSS {name}: " + ", ".join(
                f"{self.names.get(pid, '?')} [{pid}] {mb:.0f} MB" for pid, mb in each)
                + f"; all together at most {self.tree_peak.get(name, 0):.0f} MB")

    def largest(self, names: tuple[str, ...]) -> float:
        return max((mb for (n, _), mb in self.peak.items() if n in names), default=0.0)
