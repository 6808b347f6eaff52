"""Redis commands per alert on Sparky's path, by stage and by command name: a load-independent
measure of per-alert work (a loaded machine moves wall-clock rates 2-4x; command counts do not move).

One POST of --batch alerts (Alertmanager's shape, 64 = Prometheus' largest batch) to
/api/v2/alerts, in process (Flask test client, the real app), against a private Redis; then the
evaluation queue and the actions queue drained by an in-process RQ SimpleWorker, as `worker.py`
runs them; each action delivered for real to a local sink (bench/sink.py) — `--route webhook`
(the `webhook` action) or `--route chat` (`notify` through slack_sdk to the sink standing in for
Slack, its rate off). Stages:

    reception   the POST (the web process)
    evaluation  the drain job: claim, alert state, brain facts, engine, decisions + action jobs
    delivery    the action jobs: idempotency check, the delivery, outcome records

Counted per stage from Redis's own INFO commandstats (commands run inside Lua scripts and
MULTI included; INFO itself excluded), and client round trips (redis-py sends: a pipeline is
one). A burst worker's own start and stop (registration, its keys) is measured with empty
queues first and subtracted from the worker stages. Also printed: the RQ jobs each stage ran, and
this process's CPU time per alert per stage (Redis's own excluded; noisy on a loaded machine).

usage: python bench/redis_commands.py [--batch 64] [--posts 3] [--route webhook|chat] [--top 25]
                                     [--where] [--profile FILE]
"""
from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

from e2e_bench import ROUTES, RULES  # noqa: E402  the same rules and routes as the end-to-end bench
from redis.connection import Connection  # noqa: E402

from router.core import connections  # noqa: E402
from router.core.embedded import EmbeddedRedis  # noqa: E402

SENDS = Counter()
WHERE = Counter()   # --where: round trips by the Sparky function that made them
_send = Connection.send_packed_command


def _counting_send(self, command, check_health=True):
    SENDS["n"] += 1
    if WHERE is not None and SENDS["where"]:
        import traceback
        frames = [f for f in traceback.extract_stack()[:-1] if "/router/" in f.filename or "/actions/" in f.filename]
        if frames:
            WHERE[f"{Path(frames[-1].filename).name}:{frames[-1].name}:{frames[-1].lineno}"] += 1
    return _send(self, command, check_health)


Connection.send_packed_command = _counting_send


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def commandstats(conn) -> Counter:
    stats = conn.info("commandstats")
    return Counter({name.removeprefix("cmdstat_"): row["calls"] for name, row in stats.items()
                    if name != "cmdstat_info"})


class Stage:
    """Commands (server side) and round trips (client side) of what runs inside the block."""

    def __init__(self, conn):
        self.conn = conn

    def __enter__(self):
        self.before, self.sends = commandstats(self.conn), SENDS["n"]
        self.cpu = time.process_time()
        return self

    def __exit__(self, *exc):
        self.cpu = time.process_time() - self.cpu
        self.commands = commandstats(self.conn) - self.before
        self.commands["info"] = 0
        self.round_trips = SENDS["n"] - self.sends - 1   # the INFO of __exit__
        return False


def alert(j: int) -> dict:
    return {"labels": {"alertname": "DiskFull", "instance": f"web{j}.example", "severity": "critical"},
            "annotations": {"summary": f"disk full on web{j} seq={j}"}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64, help="alerts per POST")
    parser.add_argument("--posts", type=int, default=3, help="POSTs measured (after one to warm up)")
    parser.add_argument("--route", choices=sorted(ROUTES), default="webhook")
    parser.add_argument("--top", type=int, default=25, help="command names shown per stage")
    parser.add_argument("--where", action="store_true", help="also show round trips by the code making them")
    parser.add_argument("--profile", help="cProfile (CPU time) the measured POSTs and jobs into this file")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="sparky-rcmd-"))
    server = EmbeddedRedis(tmp / "redis", appendonly=False, port=free_port()).start()
    sink_port = free_port()
    sink = subprocess.Popen([sys.executable, str(HERE / "sink.py"), str(sink_port)])
    try:
        rules = tmp / "rules"
        rules.mkdir()
        (rules / "routing.yml").write_text(RULES % (ROUTES[args.route] % sink_port if args.route == "webhook"
                                                    else ROUTES[args.route]))
        for name in [k for k in os.environ if k.startswith(("SPARKY_", "SLACK_", "GITHUB_"))]:
            del os.environ[name]
        os.environ.update(SPARKY_REDIS_URL=server.url, SPARKY_RULES_DIR=str(rules), SPARKY_DATA_DIR=str(tmp / "var"),
                          SLACK_BOT_TOKEN="xoxb-bench-token", SLACK_API_URL=f"http://127.0.0.1:{sink_port}/api/",
                          SPARKY_SLACK_RATE="0")
        for _ in range(50):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{sink_port}/_stats", timeout=1)
                break
            except OSError:
                time.sleep(0.1)

        from rq import SimpleWorker

        from router.app import create_app
        from router.assembly import assemble
        from router.jobs.queues import ACTIONS_QUEUE, EVAL_QUEUE

        assemble()
        app = create_app()
        client = app.test_client()
        conn = connections.connect(server.url)   # as worker.py connects

        class Worker(SimpleWorker):
            jobs = 0

            def subscribe(self):        # a burst worker takes no pub/sub commands
                self.pubsub_thread = None

            def perform_job(self, job, queue, *a, **kw):
                Worker.jobs += 1
                return super().perform_job(job, queue, *a, **kw)

        def work(queue: str) -> int:
            Worker.jobs = 0
            Worker([queue], connection=conn).work(burst=True, logging_level="WARNING")
            return Worker.jobs

        def post(first: int) -> None:
            answer = client.post("/api/v2/alerts", json=[alert(first + j) for j in range(args.batch)])
            assert answer.status_code < 300, answer.get_data(as_text=True)

        post(10_000_000)                          # warm up: rules published, scripts loaded, engine built
        work(EVAL_QUEUE)
        work(ACTIONS_QUEUE)
        with Stage(conn) as idle:                 # a burst worker that finds nothing to do
            work(EVAL_QUEUE)

        SENDS["where"] = int(args.where)
        totals = {name: Counter() for name in ("reception", "evaluation", "delivery")}
        trips, jobs, cpu = Counter(), Counter(), Counter()
        profile = None
        if args.profile:
            import cProfile
            profile = cProfile.Profile(time.process_time)
            profile.enable()
        for p in range(args.posts):
            with Stage(conn) as s:
                post(p * args.batch)
            totals["reception"] += s.commands
            trips["reception"] += s.round_trips
            cpu["reception"] += s.cpu
            for stage, queue in (("evaluation", EVAL_QUEUE), ("delivery", ACTIONS_QUEUE)):
                with Stage(conn) as s:
                    jobs[stage] += work(queue)
                totals[stage] += s.commands - idle.commands
                trips[stage] += s.round_trips - idle.round_trips
                cpu[stage] += s.cpu - idle.cpu
        if profile is not None:
            profile.disable()
            profile.dump_stats(args.profile)
        delivered = urllib.request.urlopen(f"http://127.0.0.1:{sink_port}/_stats").read()
        alerts = args.batch * args.posts

        print(f"{args.posts} POSTs of {args.batch} alerts, route {args.route}; per alert "
              f"(a burst worker's own start/stop, {sum(idle.commands.values())} commands, subtracted per run)")
        print(f"sink: {delivered[:60].decode()}...")
        for stage, counted in totals.items():
            n = sum(counted.values())
            print(f"\n{stage}: {n / alerts:.2f} commands/alert, {trips[stage] / alerts:.3f} round trips/alert, "
                  f"{jobs[stage] / args.posts:.1f} RQ jobs per POST, {1e6 * cpu[stage] / alerts:.0f} µs CPU/alert "
                  f"in this process (noisy on a loaded machine)")
            for name, calls in counted.most_common(args.top):
                if calls > 0:
                    print(f"  {name:<22} {calls / alerts:8.3f}")
        if args.where:
            print("\nround trips by where they are made (all stages, per alert):")
            for where, n in WHERE.most_common(args.top):
                print(f"  {where:<50} {n / alerts:8.3f}")
        everything = sum(sum(c.values()) for c in totals.values())
        print(f"\nall stages: {everything / alerts:.2f} commands/alert, "
              f"{sum(trips.values()) / alerts:.3f} round trips/alert")
    finally:
        sink.terminate()
        server.stop()


if __name__ == "__main__":
    main()
