"""The chaos suite: real `sparky up` trees on loopback, real HTTP, and the failures an operator
meets — kill -9 of a worker mid-burst, a hot reload of the rules under traffic, a Redis restart,
backpressure with the workers stopped, kill -9 of the whole tree and a restart.

Each burst is a set of critical alerts, one subject each, posted by a few client threads that
retry (as Alertmanager does) until the alert is answered 2xx. Every signal answered 2xx must be
evaluated and posted, by the shipped routing rules, to the built-in #ops room: none lost. A
subject taken in twice (a request the server took in whose answer was lost, then retried) or
posted twice is a duplicate: reported (printed), and allowed — the sender had no idempotency key.
"""
from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from router.core.config import DEFAULT_RULES_DIR
from router.core.embedded import EmbeddedRedis
from router.core.lifeline import Pidfile, cmdline
from tests.conftest import free_port
from tests.sparkyup import descendants, end_killed_and_restarted, launch, start, stop, wait_for
from tests.sparkyup import http as request

pytestmark = pytest.mark.slow


class Burst:
    """`count` alerts `<tag>-<n>` posted by `clients` threads to /hooks/generic, each retried
    until answered 2xx or `patience` seconds pass. `when(n)` waits until n were accepted."""

    def __init__(self, port: int, tag: str, count: int = 80, clients: int = 4, patience: float = 60.0,
                 pace: float = 0.0):
        self.port, self.tag, self.count, self.patience, self.pace = port, tag, count, patience, pace
        self.accepted: dict[str, list[str]] = {}   # subject → signal ids it was accepted as
        self.answers: Counter = Counter()           # status code (or error name) → how many
        self.last_refusal = ""                      # the body of the last non-2xx answer, for the report
        self.lock = threading.Lock()
        self.progress = threading.Condition(self.lock)
        self.threads = [threading.Thread(target=self._client, args=(k, clients), daemon=True)
                        for k in range(clients)]

    def start(self) -> "Burst":
        for thread in self.threads:
            thread.start()
        return self

    def _post(self, subject: str) -> tuple[str, list[str]]:
        body = json.dumps({"kind": "alert", "status": "firing", "severity": "critical", "subject": subject,
                           "fingerprint": subject, "summary": f"{subject} is down"})
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        try:
            conn.request("POST", "/hooks/generic", body, {"Content-Type": "application/json"})
            response = conn.getresponse()
            raw = response.read()
            if response.status >= 300:
                self.last_refusal = raw.decode(errors="replace")[:300]
                return str(response.status), []
            return str(response.status), (json.loads(raw or b"null") or {}).get("signals", [])
        except (OSError, http.client.HTTPException, ValueError) as exc:
            return type(exc).__name__, []
        finally:
            conn.close()

    def _client(self, k: int, clients: int) -> None:
        for n in range(k, self.count, clients):
            subject = f"{self.tag}-{n}"
            deadline = time.monotonic() + self.patience
            while time.monotonic() < deadline:
                status, ids = self._post(subject)
                with self.lock:
                    self.answers[status] += 1
                    if status.startswith("2"):
                        self.accepted.setdefault(subject, []).extend(ids)
                        self.progress.notify_all()
                if status.startswith("2"):
                    break
                time.sleep(0.2)
            time.sleep(self.pace)

    def when(self, accepted: int, timeout: float = 60.0) -> None:
        with self.lock:
            assert self.progress.wait_for(lambda: len(self.accepted) >= accepted, timeout), (
                f"{self.tag}: only {len(self.accepted)} accepted; answers {dict(self.answers)}")

    def join(self) -> None:
        for thread in self.threads:
            thread.join(self.patience + 30)

    def ids(self) -> set[str]:
        return {sid for ids in self.accepted.values() for sid in ids}


def ops_messages(base: str) -> list[dict]:
    status, answer = request("GET", f"{base}/api/rooms/%23ops/messages?limit=1000")
    if status == 404:                      # nothing posted yet
        return []
    assert status == 200, answer
    return answer["messages"]


def verify(base: str, burst: Burst, timeout: float = 90.0) -> list[dict]:
    """Every accepted signal evaluated and posted to #ops; duplicates printed. The posts."""
    burst.join()
    if len(burst.accepted) != burst.count:
        import urllib.request
        text = urllib.request.urlopen(f"{base}/metrics", timeout=5).read().decode()
        print("\n".join(line for line in text.splitlines() if ("pending" in line or "queue" in line)
                        and not line.startswith("#")))
        print(request("GET", f"{base}/readyz"))
    assert len(burst.accepted) == burst.count, (
        f"{burst.tag}: {burst.count - len(burst.accepted)} alerts never accepted; answers {dict(burst.answers)}; "
        f"the last refusal: {burst.last_refusal}")
    wanted = burst.ids()

    def all_posted():
        posted = [m for m in ops_messages(base) if m.get("signal") in wanted]
        return posted if {m["signal"] for m in posted} == wanted else None

    try:
        posts = wait_for(all_posted, timeout=timeout, interval=0.5)
    except AssertionError:
        seen = {m.get("signal") for m in ops_messages(base)}
        lost = sorted(s for s, ids in burst.accepted.items() if not set(ids) & seen)
        raise AssertionError(f"{burst.tag}: LOST {len(lost)} accepted alerts: {lost[:20]}") from None
    for sid in wanted:
        status, decision = request("GET", f"{base}/api/signals/{sid}/decision")
        assert status == 200, (sid, decision)
    taken_twice = {s: ids for s, ids in burst.accepted.items() if len(ids) > 1}
    posted_twice = {s: n for s, n in Counter(m["signal"] for m in posts).items() if n > 1}
    print(f"\n{burst.tag}: {len(burst.accepted)} alerts accepted as {len(wanted)} signals, all posted; "
          f"answers {dict(burst.answers)}; duplicates: taken in twice {taken_twice or 'none'}, "
          f"posted twice {posted_twice or 'none'}")
    assert not posted_twice                 # one post per signal: the rooms' delivery keys
    return posts


def child_pid(data_dir: Path, name: str) -> int:
    return Pidfile(data_dir).read()["children"][name]["pid"]


def worker_pids(data_dir: Path) -> list[int]:
    """Every worker.py `sparky up` runs (SPARKY_WORKERS: "worker", "worker-2", ...)."""
    return [c["pid"] for name, c in Pidfile(data_dir).read()["children"].items() if name.startswith("worker")]


def test_worker_kill_reload_redis_restart_and_backpressure_lose_nothing(tmp_path):
    rules = tmp_path / "rules"
    shutil.copytree(DEFAULT_RULES_DIR, rules)
    redis = EmbeddedRedis(tmp_path / "redis", port=free_port()).start()
    data_dir, port = tmp_path / "var", free_port()
    proc = None
    try:
        proc, base = start(data_dir, port, SPARKY_REDIS_URL=redis.url, SPARKY_RULES_DIR=str(rules),
                           SPARKY_MAX_BACKLOG="100", SPARKY_READY_WORKER_AGE="40",
                           SPARKY_READY_PENDING_AGE="4", SPARKY_WEB_WORKERS="1")

        # 1. kill -9 of the worker mid-burst: sparky up starts another, which takes the rest
        burst = Burst(port, "worker-kill").start()
        burst.when(20)
        worker = child_pid(data_dir, "worker")
        os.kill(worker, signal.SIGKILL)
        verify(base, burst)
        assert child_pid(data_dir, "worker") != worker

        # 2. a hot reload of the rules under traffic: each signal decided by one version or the other
        burst = Burst(port, "reload", count=120, pace=0.05).start()      # ~2 s of traffic
        burst.when(20)
        wait_for(lambda: any("reload-" in m["text"] for m in ops_messages(base)))   # v1 is posting
        version = request("GET", f"{base}/readyz")[1]["rules_version"]
        routing = rules / "routing.yml"
        routing.write_text(routing.read_text().replace(':red_circle: {summary}', ':red_circle: v2 {summary}'))
        wait_for(lambda: request("GET", f"{base}/readyz")[1].get("rules_version") not in (None, version))
        after = Burst(port, "reload-after", count=20).start()             # received under v2
        posts = verify(base, burst) + verify(base, after)
        texts = Counter("v2" if ":red_circle: v2 " in m["text"] else "v1" for m in posts)
        print(f"reload: posted by version {dict(texts)}")
        assert texts["v1"] > 0 and texts["v2"] >= 20

        # 3. Redis restarts (SIGTERM: it writes its append-only file) under traffic
        burst = Burst(port, "redis-restart", count=120, pace=0.05).start()
        burst.when(20)
        redis.stop()
        time.sleep(1.5)
        redis.start()
        verify(base, burst)

        # 4. backpressure with the workers stopped: 503 + Retry-After at the bound, /readyz says why,
        # Sparky's own alert reaches #ops without a worker; nothing accepted is lost once they run
        workers = worker_pids(data_dir)
        worker = workers[0]
        for pid in workers:
            os.kill(pid, signal.SIGSTOP)
        try:
            # reception reads the backlog at most once a second: a burst slower than that meets the bound
            burst = Burst(port, "stopped-worker", count=200, patience=120, pace=0.05).start()
            try:
                wait_for(lambda: burst.answers["503"] > 0, timeout=60)
            except AssertionError:
                import subprocess
                tree = subprocess.run(["ps", "-o", "pid,ppid,stat,args", "--ppid", str(proc.pid)],
                                      capture_output=True, text=True).stdout
                raise AssertionError(f"no 503: answers {dict(burst.answers)}, stopped {workers}, "
                                     f"readyz {request('GET', f'{base}/readyz')}\n{tree}") from None
            ready = wait_for(lambda: (lambda a: a if a[0] == 503 and "BacklogStale" in a[1].get("stale", {})
                                      else None)(request("GET", f"{base}/readyz")), timeout=30)
            print(f"stopped worker: /readyz {ready}")
            alert = wait_for(lambda: [m for m in ops_messages(base) if "Sparky:" in m["text"]], timeout=30)
            print(f"stopped worker: self-alert posted without a worker: {alert[0]['text']!r}")
        finally:
            for pid in workers:
                os.kill(pid, signal.SIGCONT)
        verify(base, burst, timeout=120)
        wait_for(lambda: request("GET", f"{base}/readyz")[0] == 200, timeout=60)
    finally:
        try:
            if proc is not None:
                out = stop(proc)
                assert proc.returncode == 0, out
        finally:
            redis.stop()


def test_kill_9_of_the_whole_tree_and_a_restart_lose_nothing(tmp_path):
    data_dir, port = tmp_path / "var", free_port()
    proc, base = start(data_dir, port, SPARKY_WEB_WORKERS="1")
    second = None
    try:
        burst = Burst(port, "tree-kill", patience=90).start()
        burst.when(25)
        tree = descendants(proc.pid) | {proc.pid}
        for pid in tree:                                  # everything at once, Redis included
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        proc.wait(10)
        wait_for(lambda: all(cmdline(pid) is None for pid in tree), timeout=15)
        second = launch(data_dir, port, SPARKY_WEB_WORKERS="1")   # the clients keep retrying meanwhile
        wait_for(lambda: request("GET", f"{base}/readyz", timeout=2)[0] == 200, timeout=60)
        verify(base, burst)
    finally:
        end_killed_and_restarted(proc, second)
