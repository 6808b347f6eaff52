"""Which web server keeps Sparky answering while slow clients hold sockets open.

Starts Sparky's app (wsgi:app, against a private embedded Redis, no worker) under each server in
turn, with the same number of processes, and for DURATION seconds sends requests from CLIENTS
threads — alternately GET /healthz and POST /hooks/generic (one signal), a new connection each,
1 s timeout — first with no slow socket open, then with SLOW slow sockets open (tests/slowloris.py:
half drip their headers, half their body, one byte every 2 s). Prints requests answered, timed out
or refused, requests/s, and the ratio to gunicorn sync (what `sparky up` ran before) of the same run.

usage: python bench/server_bench.py [--duration 5] [--slow 50] [--clients 4] [--workers 2] [--threads 256]
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from router.core.embedded import EmbeddedRedis  # noqa: E402
from tests.slowloris import SlowClients  # noqa: E402

BIN = Path(sys.executable).parent


def servers(port: int, workers: int, threads: int) -> dict[str, list[str]]:
    bind = ["-b", f"127.0.0.1:{port}", "--log-level", "warning"]
    return {
        "gunicorn sync": [str(BIN / "gunicorn"), "-w", str(workers), *bind, "wsgi:app"],
        "gunicorn gthread": [str(BIN / "gunicorn"), "-w", str(workers), "-k", "gthread",
                             "--threads", str(threads), *bind, "wsgi:app"],
        "granian": [str(BIN / "granian"), "--interface", "wsgi", "--workers", str(workers),
                    "--blocking-threads", str(threads), "--host", "127.0.0.1", "--port", str(port),
                    "--log-level", "warning", "--no-ws", "wsgi:app"],
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(proc: subprocess.Popen, port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"server on {port} did not answer /healthz")


def one_request(port: int, i: int) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1.0)
    try:
        if i % 2:
            conn.request("GET", "/healthz")
        else:
            body = json.dumps({"subject": f"bench-{i}", "summary": "server bench"})
            conn.request("POST", "/hooks/generic", body, {"Content-Type": "application/json"})
        return conn.getresponse().status in (200, 202)
    except OSError:          # timeout, refused, reset
        return False
    finally:
        conn.close()


def load(port: int, duration: float, clients: int) -> tuple[int, int]:
    ok = failed = 0
    lock = threading.Lock()
    deadline = time.monotonic() + duration

    def client(k: int) -> None:
        nonlocal ok, failed
        i = k
        while time.monotonic() < deadline:
            good = one_request(port, i)
            i += clients
            with lock:
                if good:
                    ok += 1
                else:
                    failed += 1

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return ok, failed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--slow", type=int, default=50)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    # granian's own default for WSGI with 2 workers (backlog 1024 / workers / 2); a slow body holds
    # one of these threads (measured: 8 per worker and 50 slow sockets answer nothing)
    parser.add_argument("--threads", type=int, default=256, help="gthread threads / granian blocking threads")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sparky-server-bench-") as tmp:
        redis = EmbeddedRedis(Path(tmp) / "var", appendonly=False).start()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SPARKY_", "SLACK_", "GITHUB_"))}
        env.update(SPARKY_REDIS_URL=redis.url, SPARKY_DATA_DIR=str(Path(tmp) / "var"),
                   SPARKY_STARTUP_WARNINGS="off", SPARKY_MAX_BACKLOG="1000000")
        results: dict[str, dict[str, tuple[int, int]]] = {}
        try:
            for name, command in servers(0, args.workers, args.threads).items():
                port = free_port()
                command = servers(port, args.workers, args.threads)[name]
                proc = subprocess.Popen(command, env=env, cwd=ROOT)
                try:
                    wait_listening(proc, port)
                    results[name] = {"none": load(port, args.duration, args.clients)}
                    with SlowClients(port, args.slow):
                        time.sleep(1)           # the slow sockets are taken in
                        results[name]["slow"] = load(port, args.duration, args.clients)
                finally:
                    proc.terminate()
                    try:
                        proc.wait(15)
                    except subprocess.TimeoutExpired:
                        proc.kill()
                        proc.wait()
        finally:
            redis.stop()
    base = results["gunicorn sync"]
    print(f"\n{args.duration:.0f} s per phase, {args.clients} client threads (new connection per request, "
          f"1 s timeout), {args.workers} processes, {args.threads} threads where the server has them")
    print(f"{'server':<18} {'slow sockets':>12} {'answered':>9} {'failed':>7} {'req/s':>7} {'vs sync':>8}")
    for name, phases in results.items():
        for phase, (ok, failed) in phases.items():
            ref = base[phase][0]
            ratio = f"{ok / ref:.2f}x" if ref else ("inf" if ok else "-")
            slow = 0 if phase == "none" else args.slow
            print(f"{name:<18} {slow:>12} {ok:>9} {failed:>7} {ok / args.duration:>7.0f} {ratio:>8}")


if __name__ == "__main__":
    main()
