"""Scale-out (issue 19): alerts/s delivered with 1, 2 and 4 worker processes and 1 and 2 web
processes on this machine, and what bounds it (Redis's CPU, one hot key, a lock).

For each combination of --web-list and --workers-list, a fresh Sparky as `sparky up` runs it
(bench/e2e_bench.py sparky_running: granian with that many processes, that many `worker.py`,
its Redis with AOF on; the e2e rules: every critical alert becomes one message, through the chat
route to the sink, or --route webhook) takes one flood per --batch shape: --n distinct alerts,
that many per POST, posted as fast as --clients threads can (each its own keep-alive
connection; two, so that two web processes can be busy at once). Delivered = messages at the
sink. A 503 is retried after its Retry-After (or --retry-after), and counted.

Printed per flood: alerts/s delivered, and the ratio to the 1-web/1-worker configuration with
the same batch (the baseline, measured in the same run); CPU per alert per component (web,
workers, Redis, sink, client: /proc user + system); the cores each of web, workers and Redis used
during the flood (Redis near 1.0 = Redis is the bound: it runs commands on one thread); and how
busy the drain was: only one drain job runs at a time (router/pipeline/intake.py, its flag), so
the fraction of the flood during which a job was running on the evaluation queue (RQ's
StartedJobRegistry, polled every 50 ms) tells whether evaluation is serialised — near 1.0 while
more workers add nothing means the drain flag is the lock that bounds it.
With Alertmanager installed, it takes the same floods once (group_by ['...'], group_wait 0s,
a webhook per alert to the sink: bench/e2e_bench.py's configuration), with the same clients.

usage: python bench/scaleout_bench.py [--n 5000] [--batch 1,64] [--workers-list 1,2,4]
                                      [--web-list 1,2] [--clients 2] [--route chat|webhook]
                                      [--skip-alertmanager] [--wait-quiet 60]
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from e2e_bench import (  # noqa: E402
    AM_CONFIG,
    ROUTES,
    alert,
    busy_seconds,
    cpu_now,
    cpu_since,
    free_port,
    get,
    print_cpu,
    sparky_running,
    wait_quiet,
    wait_up,
)
from poster import Poster, due_times  # noqa: E402
from sampling import Poller  # noqa: E402
from storm_bench import alertmanager_running  # noqa: E402

POLL = 0.05   # seconds between looks at the evaluation queue's running jobs


class DrainWatch(Poller):
    """Polls, while a flood runs, whether a job runs on the evaluation queue (the drain) and
    whether the drain flag is held (a drain job queued or running)."""

    interval = POLL

    def __init__(self, redis_url: str):
        from redis import Redis
        from rq.registry import StartedJobRegistry

        from router.core import brain
        from router.jobs import queues

        self.conn = Redis.from_url(redis_url)
        self.started = StartedJobRegistry(queues.EVAL_QUEUE, connection=self.conn).key
        self.flag = brain.key_drain_flag()
        self.samples: list[tuple[bool, bool]] = []

    def sample(self) -> None:
        with self.conn.pipeline(transaction=False) as pipe:
            pipe.zcard(self.started)
            pipe.exists(self.flag)
            running, held = pipe.execute()
        self.samples.append((running > 0, bool(held)))

    def fractions(self) -> tuple[float, float]:
        """(share of samples with a drain job running, share with the drain flag held)."""
        if not self.samples:
            return 0.0, 0.0
        n = len(self.samples)
        return sum(r for r, _ in self.samples) / n, sum(h for _, h in self.samples) / n


def flood(args, port: int, procs: dict, sink: str, phase: str, batch: int, redis_url: str | None) -> dict:
    """--n alerts, `batch` per POST, from --clients threads; until the sink has them all."""
    get(f"{sink}/_reset")
    wait_quiet(0.15, args.wait_quiet)
    bodies = [[alert(phase, j) for j in range(s, min(args.n, s + batch))] for s in range(0, args.n, batch)]
    poster = Poster(port, bodies, due_times(len(bodies), 0), args.retry_after, args.clients,
                    first=args.clients)
    cpu0 = cpu_now(procs)
    busy0 = busy_seconds()
    watch = DrainWatch(redis_url) if redis_url else None
    if watch:
        watch.__enter__()
    try:
        poster.run()
        got, end = 0, time.time() + args.timeout
        while time.time() < end:
            got = get(f"{sink}/_stats")["alerts"]
            if got >= args.n:
                break
            time.sleep(0.02)
        elapsed = time.time() - poster.start
    finally:
        if watch:
            watch.__exit__()
    cpu = cpu_since(procs, cpu0)
    foreign = busy_seconds() - busy0 - sum(cpu.values())
    rate = got / elapsed
    print(f"  {phase}: {got}/{args.n} delivered in {elapsed:.2f}s: {rate:.0f} alerts/s "
          f"(posted in {poster.last_accept - poster.start:.2f}s, {poster.refused} 503s retried, "
          f"{poster.failed} other failures)")
    print_cpu(cpu, got)
    cores = {k: v / elapsed for k, v in cpu.items()}
    line = ", ".join(f"{k} {v:.2f}" for k, v in cores.items() if k not in ("sink", "client"))
    print(f"  cores used during the flood: {line}; other processes {foreign / elapsed:.2f}")
    result = {"rate": rate, "cores": cores, "per_alert": {k: v / max(got, 1) for k, v in cpu.items()}}
    if watch:
        running, held = watch.fractions()
        print(f"  drain: a job running {100 * running:.0f}% of the flood, its flag held {100 * held:.0f}%")
        result["drain"] = running
    return result


def sparky_config(args, tmp: Path, sink_port: int, sink: str, web: int, workers: int) -> dict[int, dict]:
    run = argparse.Namespace(**vars(args))
    run.web_workers, run.workers = web, workers
    where = tmp / f"web{web}-workers{workers}"
    where.mkdir()
    results = {}
    print(f"-- sparky: {web} web process(es), {workers} worker(s)")
    with sparky_running(run, where, sink_port, sink) as (port, procs):
        for b in args.batches:
            results[b] = flood(run, port, procs, sink, f"w{web}k{workers}b{b}", b, run.redis_url)
    return results


def alertmanager_floods(args, tmp: Path, sink_port: int, sink: str) -> dict[int, dict]:
    results = {}
    with alertmanager_running(tmp, AM_CONFIG % sink_port) as (port, proc):
        if port:
            print("-- alertmanager")
            procs = {"alertmanager": [proc], "sink": [args.sink_proc]}
            for b in args.batches:
                results[b] = flood(args, port, procs, sink, f"am-b{b}", b, None)
    return results


def summary(args, runs: dict[tuple[int, int], dict[int, dict]], am: dict[int, dict]) -> None:
    print("-- summary (ratio: to 1 web / 1 worker with the same batch, measured in this run)")
    components = ("web (granian)", "workers", "redis")
    for b in args.batches:
        base = runs.get((1, 1), {}).get(b, {}).get("rate")
        print(f"{b} alert(s) per POST, {args.clients} client thread(s):")
        print("  web workers  alerts/s  ratio  cores: web workers redis  drain busy  µs/alert: web workers redis")
        for (web, workers), by_batch in sorted(runs.items()):
            r = by_batch[b]
            ratio = f"{r['rate'] / base:.2f}" if base else "n/a"
            cores = "  ".join(f"{r['cores'].get(c, 0):.2f}" for c in components)
            per = " ".join(f"{1e6 * r['per_alert'].get(c, 0):7.0f}" for c in components)
            print(f"  {web:3d} {workers:7d}  {r['rate']:8.0f}  {ratio:>5}  {cores:>24}  "
                  f"{100 * r.get('drain', 0):9.0f}%  {per}")
        if b in am:
            ratio = f"{runs[(1, 1)][b]['rate'] / am[b]['rate']:.2f}" if (1, 1) in runs else "n/a"
            best = max(r[b]["rate"] for r in runs.values())
            print(f"  alertmanager: {am[b]['rate']:.0f} alerts/s (sparky 1/1 / alertmanager {ratio}, "
                  f"best sparky / alertmanager {best / am[b]['rate']:.2f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--batch", default="1,64", help="alerts per POST, one flood of each (comma-separated)")
    parser.add_argument("--workers-list", default="1,2,4", help="worker.py processes per configuration")
    parser.add_argument("--web-list", default="1,2", help="granian processes per configuration")
    parser.add_argument("--clients", type=int, default=2, help="client threads, each its own connection")
    parser.add_argument("--route", choices=sorted(ROUTES), default="chat",
                        help="chat: notify to Slack (the sink), rate off; webhook: the webhook action")
    parser.add_argument("--retry-after", type=float, default=None,
                        help="retry a 503 after at most this many seconds (default: its Retry-After)")
    parser.add_argument("--timeout", type=float, default=300, help="seconds a flood may take to deliver")
    parser.add_argument("--skip-alertmanager", action="store_true")
    parser.add_argument("--wait-quiet", type=float, default=60,
                        help="seconds to wait for an idle machine before each flood (0: do not wait)")
    args = parser.parse_args()
    args.batches = [int(b) for b in args.batch.split(",")]
    args.server, args.profile = "granian", None   # what sparky_running reads

    tmp = Path(tempfile.mkdtemp(prefix="sparky-scaleout-"))
    sink_port = free_port()
    sink = f"http://127.0.0.1:{sink_port}"
    args.sink_proc = subprocess.Popen([sys.executable, str(HERE / "sink.py"), str(sink_port)])
    print(f"scale-out: {args.n} alerts per flood, {args.clients} client threads, route {args.route}, "
          f"{os.cpu_count()} cores")
    try:
        wait_up(f"{sink}/_stats")
        am = {} if args.skip_alertmanager else alertmanager_floods(args, tmp, sink_port, sink)
        runs = {}
        for web in (int(w) for w in args.web_list.split(",")):
            for workers in (int(k) for k in args.workers_list.split(",")):
                runs[(web, workers)] = sparky_config(args, tmp, sink_port, sink, web, workers)
        summary(args, runs, am)
    finally:
        args.sink_proc.terminate()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
