"""A client that posts bodies each at its due time and retries 503s after their Retry-After,
adding threads (each with its own keep-alive connection) when it falls behind its pace. Used by
bench/storm_bench.py (paced) and bench/scaleout_bench.py (all due at once: a flood).
"""
from __future__ import annotations

import threading
import time

from e2e_bench import Client

LATE = 0.25      # seconds a POST may start late before the client adds a thread


def due_times(posts: int, seconds: float) -> list[float]:
    """Offsets from the start at which each POST is due: evenly over `seconds` (all at 0 if 0)."""
    return [k * seconds / posts for k in range(posts)] if seconds > 0 else [0.0] * posts


def retry_wait(header: str | None, cap: float | None) -> float:
    """Seconds to wait before retrying a 503: its Retry-After (1 s if none or not a number of
    seconds), or `cap` if that is sooner."""
    try:
        wait = float(header) if header is not None else 1.0
    except ValueError:
        wait = 1.0
    return min(wait, cap) if cap is not None else wait


class Poster:
    """Posts the bodies, each at its due time, retrying 503s; grows its threads to keep the pace."""

    def __init__(self, port: int, bodies: list, due: list[float], retry_cap: float | None,
                 max_clients: int, path: str = "/api/v2/alerts", first: int = 2):
        self.port, self.bodies, self.due, self.retry_cap, self.path = port, bodies, due, retry_cap, path
        self.max_clients, self.first = max_clients, first
        self.lock = threading.Lock()
        self.next = 0
        self.threads: list[threading.Thread] = []
        self.busy = 0
        self.accepted = self.alerts = self.refused = self.failed = 0
        self.max_late = 0.0
        self.start = self.last_accept = 0.0

    def run(self) -> "Poster":
        self.start = time.time()
        for _ in range(min(self.first, self.max_clients)):
            self._spawn()
        while True:   # the threads list grows while they run
            with self.lock:
                waiting = [t for t in self.threads if t.is_alive()]
            if not waiting:
                return self
            waiting[0].join(0.5)

    def _spawn(self) -> None:
        thread = threading.Thread(target=self._loop, daemon=True)
        with self.lock:
            self.threads.append(thread)
        thread.start()

    def _loop(self) -> None:
        client = Client(self.port)
        while True:
            with self.lock:
                k = self.next
                self.next += 1
            if k >= len(self.bodies):
                return
            pause = self.start + self.due[k] - time.time()
            if pause > 0:
                time.sleep(pause)
            late = time.time() - self.start - self.due[k]
            with self.lock:
                self.max_late = max(self.max_late, late)
                self.busy += 1
                grow = late > LATE and self.busy >= len(self.threads) and len(self.threads) < self.max_clients
            if grow:
                self._spawn()
            self._post(client, self.bodies[k])
            with self.lock:
                self.busy -= 1

    def _post(self, client: Client, body: list) -> None:
        while True:
            try:
                status = client.post(self.path, body)
            except OSError:
                status = 0
            if 200 <= status < 300:
                with self.lock:
                    self.accepted += 1
                    self.alerts += len(body)
                    self.last_accept = time.time()
                return
            with self.lock:
                if status == 503:
                    self.refused += 1
                else:
                    self.failed += 1
            if self.failed > 100:
                return      # something else is wrong: do not spin
            time.sleep(retry_wait(client.retry_after if status == 503 else None, self.retry_cap))

    def report(self, name: str) -> str:
        return (f"{name}: {self.accepted} POSTs, {self.alerts} alerts accepted in "
                f"{self.last_accept - self.start:.1f}s; {self.refused} 503s retried, {self.failed} other failures; "
                f"{len(self.threads)} client threads, a POST at most {self.max_late:.2f}s late")
