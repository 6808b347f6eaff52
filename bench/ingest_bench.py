"""Ingest throughput: Sparky's /hooks/nagios against a bare Flask endpoint, same server, same run.

Both apps run under gunicorn (2 sync workers, as `sparky up` runs them) and receive the same
~1 KB form-encoded Nagios PROBLEM from the same client: N processes each holding one keep-alive
connection, posting in a loop for DURATION seconds. The bare endpoint reads the body and answers
202 — the floor for "Flask on gunicorn on this machine". Sparky verifies the token, parses,
de-duplicates, stores the signal and queues its evaluation in Redis before answering.

usage: python bench/ingest_bench.py [--duration 10] [--clients 8] [--rounds 3]
"""
from __future__ import annotations

import argparse
import http.client
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from router.core.embedded import EmbeddedRedis  # noqa: E402

TOKEN = "bench-token"
BARE_APP = textwrap.dedent("""
    from flask import Flask, request, jsonify
    app = Flask(__name__)

    @app.post("/hooks/nagios")
    def hook():
        request.get_data()
        return jsonify(accepted=1), 202
""")


def nagios_body(i: int) -> bytes:
    macros = {
        "NOTIFICATIONTYPE": "PROBLEM", "HOSTNAME": f"web-{i % 500:03d}", "HOSTADDRESS": "10.20.30.41",
        "HOSTSTATE": "UP", "SERVICEDESC": "HTTP", "SERVICESTATE": "CRITICAL", "SERVICESTATETYPE": "HARD",
        "SERVICEOUTPUT": "CRITICAL - Socket timeout after 10 seconds",
        "LONGSERVICEOUTPUT": "connect to 10.20.30.41 port 443 timed out\\nretries: 3\\nlast good response 90s ago",
        "NOTIFICATIONRECIPIENTS": "slack", "CONTACTGROUPNAMES": "admins", "TOTALSERVICESOK": "311",
        "SERVICEATTEMPT": "3", "MAXSERVICEATTEMPTS": "3", "TIMET": str(1772546709 + i),
        "LONGDATETIME": "Tue Mar 3 14:05:09 UTC 2026", "SERVICEDURATION": "0d 0h 1m 30s",
        "SERVICECHECKCOMMAND": "check_http!-H web-01.acme.example -u /healthz -t 10",
        "HOSTGROUPNAMES": "web-servers,linux-servers", "CONTACTNAME": "slack", "CONTACTEMAIL": "",
        "SERVICEPERFDATA": "time=10.011s;;;0.000000 size=0B;;;0", "HOSTALIAS": "web-01.acme.example",
        "SERVICENOTIFICATIONID": str(100000 + i), "NOTIFICATIONNUMBER": "1", "SERVICEEVENTID": "20931",
        "SERVICEPROBLEMID": "10422", "SERVICEGROUPNAMES": "web-api", "HOSTOUTPUT": "PING OK - Packet loss = 0%",
        "ADMINEMAIL": "nagios-admin@acme.example", "SERVICELATENCY": "0.002", "SERVICEEXECUTIONTIME": "10.011",
    }
    return urlencode(macros).encode()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_up(port: int, timeout: float = 20) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"server on {port} did not start")


def client_loop(port: int, duration: float, offset: int, out) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port)
    headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Sparky-Token": TOKEN}
    done = errors = 0
    i = offset
    end = time.time() + duration
    while time.time() < end:
        conn.request("POST", "/hooks/nagios", body=nagios_body(i), headers=headers)
        response = conn.getresponse()
        response.read()
        if response.status == 202:
            done += 1
        else:
            errors += 1
        i += 1
    out.put((done, errors))


def load(port: int, clients: int, duration: float, offset: int) -> tuple[float, int]:
    out = multiprocessing.Queue()
    procs = [multiprocessing.Process(target=client_loop, args=(port, duration, offset + c * 10_000_000, out))
             for c in range(clients)]
    for p in procs:
        p.start()
    results = [out.get() for _ in procs]
    for p in procs:
        p.join()
    done = sum(r[0] for r in results)
    return done / duration, sum(r[1] for r in results)


def gunicorn(app: str, port: int, env: dict, cwd: Path) -> subprocess.Popen:
    cmd = [str(Path(sys.executable).parent / "gunicorn"), "-w", "2", "-b", f"127.0.0.1:{port}",
           "--log-level", "warning", app]
    return subprocess.Popen(cmd, env=env, cwd=cwd)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(f"body: {len(nagios_body(0))} bytes form-encoded Nagios PROBLEM; gunicorn -w 2 (sync); "
          f"{args.clients} keep-alive clients; {args.rounds} rounds x {args.duration:.0f}s, interleaved")

    tmp = Path(tempfile.mkdtemp(prefix="sparky-bench-"))
    (tmp / "bare_app.py").write_text(BARE_APP)
    redis = EmbeddedRedis(tmp / "redis", appendonly=True, port=free_port()).start()
    env = {**os.environ, "SPARKY_REDIS_URL": redis.url, "SPARKY_HOOK_TOKENS": TOKEN,
           "SPARKY_MAX_BACKLOG": "0", "PYTHONPATH": str(ROOT)}
    bare_port, sparky_port = free_port(), free_port()
    procs = [gunicorn("bare_app:app", bare_port, env, tmp), gunicorn("wsgi:app", sparky_port, env, ROOT)]
    try:
        wait_up(bare_port)
        wait_up(sparky_port)
        bare, sparky = [], []
        for r in range(args.rounds):
            rate, err = load(bare_port, args.clients, args.duration, r * 1_000_000_000)
            bare.append(rate)
            rate2, err2 = load(sparky_port, args.clients, args.duration, r * 1_000_000_000)
            sparky.append(rate2)
            print(f"round {r + 1}: bare Flask {rate:,.0f} req/s ({err} errors), "
                  f"Sparky {rate2:,.0f} req/s ({err2} errors), ratio {rate2 / rate:.2f}")
        b, s = statistics.median(bare), statistics.median(sparky)
        print(f"median: bare Flask {b:,.0f} req/s, Sparky /hooks/nagios {s:,.0f} req/s, "
              f"ratio Sparky/bare {s / b:.2f}")
    finally:
        for p in procs:
            p.terminate()
            p.wait()
        redis.stop()


if __name__ == "__main__":
    main()
