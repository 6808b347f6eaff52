"""What the benches share to measure processes on one machine: ports, HTTP, a keep-alive client,
CPU seconds per process tree from /proc, and waiting for a quiet machine (a shared 2-core box:
a run next to another job's load measures the neighbour as much as Sparky)."""
from __future__ import annotations

import http.client
import json
import os
import socket
import time
import urllib.request


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str):
    with urllib.request.urlopen(url, timeout=30) as r:
        return json.loads(r.read() or b"null")


def wait_up(url: str, seconds: float = 30) -> None:
    end = time.time() + seconds
    while time.time() < end:
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except Exception:
            time.sleep(0.1)
    raise SystemExit(f"not up: {url}")


class Client:
    """One client loop: HTTP/1.1, reusing the connection when the server keeps it open."""

    def __init__(self, port: int):
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.retry_after: str | None = None

    def post(self, path: str, body: object) -> int:
        data = json.dumps(body).encode()
        for attempt in (1, 2):
            try:
                self.conn.request("POST", path, body=data, headers={"Content-Type": "application/json"})
                response = self.conn.getresponse()
                response.read()
                self.retry_after = response.getheader("Retry-After")   # a 503's, for a retrying caller
                if response.getheader("Connection", "").lower() == "close":
                    self.conn.close()
                return response.status
            except (http.client.HTTPException, ConnectionError, OSError):
                self.conn.close()
                if attempt == 2:
                    raise
        return 0


def children_map() -> dict[int, list[int]]:
    """Every process's children, from /proc: parent pid → child pids."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(entry))
            except (OSError, IndexError, ValueError):
                pass
    return children


def cpu_seconds(pid: int, tree: bool = True) -> float:
    """CPU (user + system) of a process and (with `tree`) all its descendants, from /proc."""
    children = children_map()
    total, todo, tick = 0.0, [pid], os.sysconf("SC_CLK_TCK")
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            own, children_ = int(fields[11]) + int(fields[12]), int(fields[13]) + int(fields[14])
            total += (own + (children_ if tree else 0)) / tick
        except (OSError, IndexError, ValueError):
            pass
        if tree:
            todo.extend(children.get(p, []))
    return total


def busy_seconds() -> float:
    """CPU seconds the whole machine has spent busy (all processes), from /proc/stat."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def wait_quiet(limit: float, seconds: float) -> None:
    """Wait (up to `seconds`) for a second in which the machine is nearly idle: the box is shared,
    and a run next to another job's load measures the neighbour as much as Sparky."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        before = busy_seconds()
        time.sleep(1.0)
        if busy_seconds() - before < limit:
            return
    print(f"  (no quiet second within {seconds:.0f}s: the machine is busy, numbers will be low)")


def cpu_now(procs: dict) -> dict[str, float]:
    """CPU seconds so far per component (its processes and their children), and this client's."""
    cpu = {name: sum(cpu_seconds(p.pid) for p in ps) for name, ps in procs.items()}
    cpu["client"] = cpu_seconds(os.getpid(), tree=False)
    return cpu


def cpu_since(procs: dict, before: dict[str, float]) -> dict[str, float]:
    return {name: seconds - before[name] for name, seconds in cpu_now(procs).items()}


def print_cpu(cpu: dict[str, float], alerts: int) -> None:
    print("  CPU during the flood: " + ", ".join(f"{k} {v:.2f}s ({1e6 * v / max(alerts, 1):.0f} µs/alert)"
                                                 for k, v in cpu.items())
          + f"; all {1e6 * sum(cpu.values()) / max(alerts, 1):.0f} µs/alert")
