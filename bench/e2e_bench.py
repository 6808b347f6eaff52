"""End to end against Prometheus Alertmanager: N distinct critical alerts, posted one or --batch
per POST, each becoming one message at a local sink; then Sparky's POST → message latency at a
steady rate.

`--batch 1,64` (the default) floods both with each shape in the same run: 1 alert per POST, and 64
per POST (Prometheus' maximum batch towards an Alertmanager), alternating Alertmanager and Sparky
round by round, and prints the ratio per shape.

Alertmanager (Debian package `prometheus-alertmanager`) runs with group_by ['...'] and
group_wait 0s, so every alert is its own notification, posted by its webhook receiver to the
sink. Sparky runs as `sparky up` runs it: granian (2 processes, 256 threads; `--server gunicorn`
for the 2 sync workers it ran before) + `python worker.py`
processes + its Redis (append-only file on); its rules send every critical alert to a chat
room with `notify`, and Slack is the sink (SLACK_API_URL, SPARKY_SLACK_RATE=0: chat to a fake
Slack with the rate off, SPEC §4). Both get the same alerts from the same client loop.

Prints alerts/s for both and the ratio, loss, CPU per alert per process (Alertmanager, web,
workers, Redis, sink, client: user + system time from /proc, which a loaded machine disturbs much
less than wall time), and Sparky's p50/p99 latency from POST to message at --rate alerts/s.

usage: python bench/e2e_bench.py [--n 5000] [--batch 1,64] [--rounds 1] [--workers 2] [--rate 200]
                                 [--seconds 10] [--route chat|webhook] [--floor] [--skip-alertmanager]
                                 [--server granian|gunicorn] [--profile FILE]
"""
from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from harness import (  # noqa: E402  (re-exported: the other benches import them from here too)
    Client,
    busy_seconds,
    cpu_now,
    cpu_since,
    free_port,
    get,
    print_cpu,
    wait_quiet,
    wait_up,
)

from router.core.embedded import EmbeddedRedis  # noqa: E402

RULES = """\
ruleset: routing
version: 1
rules:
  - name: critical
    when: {kind: alert, severity: critical}
    then:
      - %s
  - name: everything-else
    when: {}
    then:
      - drop: {reason: "not critical"}
"""
# Alertmanager as the floods run it: every alert its own notification, at once, by webhook to the sink.
AM_CONFIG = """route:
  receiver: sink
  group_by: ['...']
  group_wait: 0s
  group_interval: 5m
  repeat_interval: 4h
receivers:
  - name: sink
    webhook_configs:
      - url: http://127.0.0.1:%d/hook
        send_resolved: false
"""
ROUTES = {"chat": 'notify: {room: "#bench"}', "webhook": 'webhook: {url: "http://127.0.0.1:%d/hook"}'}


def alert(phase: str, j: int) -> dict:
    return {"labels": {"alertname": "DiskFull", "instance": f"{phase}-web{j}.example",
                       "severity": "critical"},
            "annotations": {"summary": f"disk full on web{j} seq={j}"}}


def flood(client: Client, path: str, phase: str, n: int, sink: str, batch: int = 1,
          timeout: float = 180) -> tuple[float, int]:
    """Post n alerts, `batch` per POST; returns (seconds until the sink has them all, delivered)."""
    t0 = time.time()
    refused = 0
    for start in range(0, n, batch):
        status = client.post(path, [alert(phase, j) for j in range(start, min(n, start + batch))])
        if status >= 300:
            refused += 1
    posted = time.time() - t0
    got = 0
    while time.time() - t0 < timeout:
        got = get(f"{sink}/_stats")["alerts"]
        if got >= n:
            break
        time.sleep(0.02)
    elapsed = time.time() - t0
    print(f"  {phase}: posted {n} ({batch} per POST) in {posted:.2f}s ({refused} POSTs refused), "
          f"delivered {got} in {elapsed:.2f}s")
    return elapsed, got


def paced(client: Client, path: str, phase: str, rate: float, seconds: float, sink: str) -> list[float]:
    """Post at `rate` alerts/s for `seconds`; returns POST→message latencies in seconds."""
    n = int(rate * seconds)
    sent: dict[str, float] = {}
    start = time.time()
    for j in range(n):
        due = start + j / rate
        pause = due - time.time()
        if pause > 0:
            time.sleep(pause)
        sent[str(j)] = time.time()
        client.post(path, [alert(phase, j)])
    deadline = time.time() + 60
    arrivals = {}
    while time.time() < deadline:
        arrivals = get(f"{sink}/_arrivals")
        if len(arrivals) >= n:
            break
        time.sleep(0.1)
    missing = n - sum(1 for k in sent if k in arrivals)
    if missing:
        print(f"  {phase}: {missing} of {n} never arrived")
    return sorted(arrivals[k] - t for k, t in sent.items() if k in arrivals)


def pct(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


def run_alertmanager(args, tmp: Path, sink_port: int, sink: str, phase: str = "am", batch: int = 1) -> float | None:
    binary = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
    if not binary:
        print("alertmanager: not installed (apt-get install prometheus-alertmanager); skipped")
        return None
    port = free_port()
    (tmp / "am.yml").write_text(AM_CONFIG % sink_port)
    proc = subprocess.Popen([binary, f"--config.file={tmp}/am.yml", f"--storage.path={tmp}/am-data-{phase}",
                             f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address=",
                             "--log.level=warn"], stderr=subprocess.DEVNULL)
    try:
        wait_up(f"http://127.0.0.1:{port}/-/ready")
        get(f"{sink}/_reset")
        wait_quiet(0.15, args.wait_quiet)
        procs = {"alertmanager": [proc], "sink": [args.sink_proc]}
        cpu0 = cpu_now(procs)
        elapsed, got = flood(Client(port), "/api/v2/alerts", phase, args.n, sink, batch)
        cpu = cpu_since(procs, cpu0)
        rate = got / elapsed
        print(f"alertmanager: {got}/{args.n} alerts delivered in {elapsed:.2f}s: {rate:.0f} alerts/s")
        print_cpu(cpu, got)
        args.cpu.setdefault(("alertmanager", batch), []).append({k: v / max(got, 1) for k, v in cpu.items()})
        return rate
    finally:
        proc.terminate()
        proc.wait(10)


@contextlib.contextmanager
def sparky_running(args, tmp: Path, sink_port: int, sink: str, rules_text: str | None = None,
                   extra_env: dict[str, str] | None = None):
    """Sparky as `sparky up` runs it, for the length of the block: yields (port, processes).
    `rules_text`: its routing.yml (default: RULES with --route); `extra_env`: more settings.
    Sets `args.redis_url`, for a benchmark that reads the brain (the backlog) while it runs."""
    redis = EmbeddedRedis(tmp / "redis", appendonly=True, port=free_port()).start()
    args.redis_url = redis.url
    rules = tmp / "rules"
    rules.mkdir()
    if rules_text is None:
        route = ROUTES[args.route] % sink_port if args.route == "webhook" else ROUTES[args.route]
        rules_text = RULES % route
    (rules / "routing.yml").write_text(rules_text)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPARKY_", "SLACK_", "GITHUB_"))}
    env.update(SPARKY_REDIS_URL=redis.url, SPARKY_RULES_DIR=str(rules), SPARKY_DATA_DIR=str(tmp / "var"),
               SLACK_BOT_TOKEN="xoxb-bench-token", SLACK_API_URL=f"{sink}/api/", SPARKY_SLACK_RATE="0")
    env.update(extra_env or {})
    python = sys.executable
    if args.server == "granian":    # as `sparky up` runs it (router/cli/up.py, docs/production.md)
        from router.cli.up import web_server
        command = web_server(port, args.web_workers, 256)
    else:
        command = [str(Path(python).parent / "gunicorn"), "-w", str(args.web_workers), "-b",
                   f"127.0.0.1:{port}", "--log-level", "warning", "wsgi:app"]
    web = subprocess.Popen(command, cwd=ROOT, env=env, stderr=subprocess.DEVNULL)
    workers = []
    for i in range(args.workers):
        cmd = [python, "worker.py"]
        if args.profile and i == 0:
            cmd = [python, str(HERE / "profile_worker.py"), args.profile]
        workers.append(subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL))
    procs = {f"web ({args.server})": [web], "workers": workers, "redis": [redis.process], "sink": [args.sink_proc]}
    try:
        wait_up(f"http://127.0.0.1:{port}/readyz")
        time.sleep(1.0)  # workers up
        yield port, procs
    finally:
        for proc in [web, *workers]:
            proc.send_signal(signal.SIGTERM)
        for proc in [web, *workers]:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
        redis.stop()


def flood_sparky(args, port: int, procs: dict, sink: str, phase: str, batch: int = 1) -> float:
    """One flood of N alerts into the running Sparky, `batch` per POST; returns alerts/s delivered."""
    get(f"{sink}/_reset")
    wait_quiet(0.15, args.wait_quiet)
    client = Client(port)
    cpu0 = cpu_now(procs)
    busy0 = busy_seconds()
    elapsed, got = flood(client, "/api/v2/alerts", phase, args.n, sink, batch)
    cpu = cpu_since(procs, cpu0)
    foreign = busy_seconds() - busy0 - sum(cpu.values())
    rate = got / elapsed
    print(f"sparky: {got}/{args.n} alerts delivered in {elapsed:.2f}s: {rate:.0f} alerts/s")
    print_cpu(cpu, got)
    args.cpu.setdefault(("sparky", batch), []).append({k: v / max(got, 1) for k, v in cpu.items()})
    print(f"  other processes on this machine meanwhile: {foreign:.2f} CPU-s "
          f"({foreign / elapsed:.2f} cores of {os.cpu_count()}; >0.15 means the run was disturbed)")
    letters = get(f"http://127.0.0.1:{port}/api/dead-letters")["count"]
    print(f"  dead letters: {letters}")
    return rate


def run_floor(args, tmp: Path) -> float:
    """The same client loop against a bare Flask endpoint on the same gunicorn: what any
    Flask-on-gunicorn receiver could take from this client, before doing any work at all."""
    (tmp / "floor_app.py").write_text(FLOOR_APP)
    port = free_port()
    python = sys.executable
    proc = subprocess.Popen([str(Path(python).parent / "gunicorn"), "-w", str(args.web_workers), "-b",
                             f"127.0.0.1:{port}", "--log-level", "warning", "floor_app:app"], cwd=tmp,
                            stderr=subprocess.DEVNULL)
    try:
        wait_up(f"http://127.0.0.1:{port}/ready")
        wait_quiet(0.15, args.wait_quiet)
        client = Client(port)
        start = time.time()
        for j in range(args.n):
            client.post("/api/v2/alerts", [alert("floor", j)])
        rate = args.n / (time.time() - start)
        print(f"floor (bare Flask on gunicorn, same client): {rate:.0f} requests/s")
        return rate
    finally:
        proc.terminate()
        proc.wait(10)


FLOOR_APP = """from flask import Flask, jsonify, request
app = Flask(__name__)

@app.get("/ready")
def ready():
    return "ok"

@app.post("/api/v2/alerts")
def alerts():
    request.get_data()
    return jsonify(accepted=1)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--batch", default="1,64",
                        help="alerts per POST, one flood of each (comma-separated; Prometheus sends at most 64)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="floods of each, alternating Alertmanager and Sparky; the median ratio is the result")
    parser.add_argument("--workers", type=int, default=2, help="python worker.py processes")
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--server", choices=("granian", "gunicorn"), default="granian",
                        help="Sparky's web server: granian as `sparky up` runs it, or gunicorn sync (before)")
    parser.add_argument("--rate", type=float, default=200, help="alerts/s for the latency run")
    parser.add_argument("--seconds", type=float, default=10, help="length of the latency run")
    parser.add_argument("--skip-alertmanager", action="store_true")
    parser.add_argument("--floor", action="store_true",
                        help="also measure a bare Flask endpoint on the same gunicorn with the same client")
    parser.add_argument("--wait-quiet", type=float, default=60,
                        help="seconds to wait for an idle machine before each run (0: do not wait)")
    parser.add_argument("--profile", help="run the first worker under cProfile, writing this file")
    parser.add_argument("--route", choices=sorted(ROUTES), default="chat",
                        help="chat: notify to Slack (the sink), rate off; webhook: the webhook action")
    args = parser.parse_args()
    args.batches = [int(b) for b in args.batch.split(",")]
    args.cpu = {}   # (system, batch) -> [{component: CPU seconds per alert}] per round

    tmp = Path(tempfile.mkdtemp(prefix="sparky-e2e-"))
    sink_port = free_port()
    sink = f"http://127.0.0.1:{sink_port}"
    sink_proc = subprocess.Popen([sys.executable, str(HERE / "sink.py"), str(sink_port)])
    args.sink_proc = sink_proc
    try:
        wait_up(f"{sink}/_stats")
        ratios: dict[int, list[float]] = {b: [] for b in args.batches}
        with sparky_running(args, tmp, sink_port, sink) as (port, procs):
            for r in range(1, args.rounds + 1):
                for b in args.batches:
                    print(f"-- round {r}, {b} alert(s) per POST")
                    am = None if args.skip_alertmanager else \
                        run_alertmanager(args, tmp, sink_port, sink, f"am{r}b{b}", b)
                    sparky = flood_sparky(args, port, procs, sink, f"sparky{r}b{b}", b)
                    if am:
                        ratios[b].append(sparky / am)
                        print(f"ratio sparky / alertmanager ({b} per POST): {sparky / am:.2f}")
            if args.floor:
                run_floor(args, tmp)
            get(f"{sink}/_reset")
            wait_quiet(0.15, args.wait_quiet)
            latencies = paced(Client(port), "/api/v2/alerts", "steady", args.rate, args.seconds, sink)
        print("-- summary")
        for b in args.batches:
            if ratios[b]:
                print(f"{b} alert(s) per POST: median ratio sparky / alertmanager over {len(ratios[b])} "
                      f"round(s): {statistics.median(ratios[b]):.2f} "
                      f"(rounds: {', '.join(f'{x:.2f}' for x in ratios[b])})")
            for system in ("alertmanager", "sparky"):
                rounds = args.cpu.get((system, b))
                if rounds:
                    parts = {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}
                    print(f"  {system} median CPU per alert: " + ", ".join(
                        f"{k} {1e6 * v:.0f} µs" for k, v in parts.items()) + f"; all {1e6 * sum(parts.values()):.0f} µs")
        print(f"sparky latency POST → message at {args.rate:.0f} alerts/s for {args.seconds:.0f}s: "
              f"p50 {1000 * pct(latencies, 0.5):.0f} ms, p99 {1000 * pct(latencies, 0.99):.0f} ms, "
              f"max {1000 * (latencies[-1] if latencies else float('nan')):.0f} ms "
              f"({len(latencies)} messages)")
        if latencies:
            print(f"  mean {1000 * statistics.mean(latencies):.0f} ms")
    finally:
        sink_proc.terminate()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
