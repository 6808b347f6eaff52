"""A storm (issue 19): --n alerts of one group (alertname NodeDown, a distinct instance each) posted
to /api/v2/alerts --batch per POST, paced evenly over --seconds, against Sparky and against
Prometheus Alertmanager in the same run. Expected: a handful of messages whose counts add up to
every alert, web and worker RSS each under 150 MB, and the backlog drained in a time reported.

Sparky runs as `sparky up` runs it (bench/e2e_bench.py sparky_running: granian with 2 processes,
--workers `worker.py` processes, its Redis with AOF on). Its one rule groups the storm into one
room message per window, as a user facing a storm would write it:

    group: {by: [labels.alertname], wait: 60s, room: "#storm"}

and the message goes out through the chat route (Slack = the sink, SLACK_API_URL, rate off), one
chat.postMessage per window, saying `[FIRING:<alerts in this window>] alertname=NodeDown`.
Alertmanager gets the same storm with `group_by: [alertname]`, the same group_wait, group_interval
5m, and a Slack receiver (`slack_configs`, api_url = the sink) whose default title says
`[FIRING:<alerts in the group>]`. Both counts are read from the sink's /_messages.

The window: `wait` (--wait, default 60 s: twice the storm, so that one message can count it all).
A group's later messages come at most every 5 minutes (Alertmanager's default group_interval; in
Sparky `interval` is fixed at 5m, not yet accepted by the rule schema, docs/actions.md): alerts
not yet evaluated when the first window closes are counted in a message 5 minutes later, and the
bench waits for it. With Alertmanager's default group_wait (30 s) a 30-s storm is split in two
messages 5 minutes apart in both systems; --wait 30 shows it.
Note the difference: Sparky's message counts the alerts new in its window (the counts add up to
--n), Alertmanager's repeats the whole group (the last one says --n).

Backpressure is left at its defaults (SPARKY_MAX_BACKLOG 20000, SPARKY_SOURCE_SHARE 0.5, so 10,000
alerts may wait): a user hit by a storm has the defaults. A 503 is retried after its Retry-After
(or --retry-after seconds, if sooner), so every alert is accepted in the end; the retries are
counted. --max-backlog raises the bound for a run that wants none.

The client posts POST k at start + k * seconds / posts, from as many threads as it needs to keep
that pace (each with its own keep-alive connection: a thread more whenever the next POST is late
by more than LATE seconds and all threads are busy, up to --max-clients).

Prints, per system: POSTs and alerts accepted, 503s retried, time to accept everything, time until
the backlog (pending signals, evaluation jobs, actions to run; the group's own scheduled flush not
counted) is empty, messages and their counts, time until the messages count every alert, peak RSS
of every process (VmRSS sampled every 0.2 s, the largest value seen), CPU per alert per component;
then the ratios Sparky / Alertmanager.

usage: python bench/storm_bench.py [--n 50000] [--seconds 30] [--batch 64] [--workers 2]
                                   [--wait 60] [--retry-after S] [--max-backlog N]
                                   [--skip-alertmanager] [--wait-quiet 60]
"""
from __future__ import annotations

import argparse
import contextlib
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from e2e_bench import cpu_now, cpu_since, free_port, get, print_cpu, sparky_running, wait_quiet, wait_up  # noqa: E402
from poster import Poster, due_times  # noqa: E402
from sampling import SAMPLE, Sampler  # noqa: E402

STORM_RULES = """\
ruleset: routing
version: 1
rules:
  - name: storm
    when: {kind: alert, labels.alertname: NodeDown}
    then:
      - group: {by: [labels.alertname], wait: %ds, room: "#storm"}
  - name: everything-else
    when: {}
    then:
      - drop: {reason: "not the storm"}
"""

AM_CONFIG = """route:
  receiver: slack
  group_by: [alertname]
  group_wait: %ds
  group_interval: 5m
  repeat_interval: 4h
receivers:
  - name: slack
    slack_configs:
      - api_url: http://127.0.0.1:%d/am-slack
        channel: '#storm'
        send_resolved: false
"""

INTERVAL = 300   # a busy group's next message comes this long after its last (group_interval)
RSS_LIMIT_MB = 150


def storm_alert(j: int) -> dict:
    return {"labels": {"alertname": "NodeDown", "instance": f"node{j}.example:9100", "severity": "critical"},
            "annotations": {"summary": f"node{j} is down"}}


def batches(n: int, batch: int) -> list[list[dict]]:
    return [[storm_alert(j) for j in range(start, min(n, start + batch))] for start in range(0, n, batch)]


def counted(messages: list[dict], cumulative: bool) -> tuple[int, float | None]:
    """(alerts the grouped messages count, arrival of the message that completed the count):
    per-window counts add up (Sparky); a cumulative group's last message says it all
    (Alertmanager). Messages without a FIRING count are left out."""
    total, when = 0, None
    for m in sorted(messages, key=lambda m: m["t"]):
        if m.get("firing") is None:
            continue
        now = max(total, m["firing"]) if cumulative else total + m["firing"]
        if now > total:
            total, when = now, m["t"]
    return total, when


def backlog_probe(redis_url: str):
    """A probe of Sparky's backlog: (pending signals, evaluation jobs queued, actions not yet run
    — a group's scheduled flush left out: it waits for its window, not for a worker)."""
    from redis import Redis
    from rq import Queue

    from router.core import brain
    from router.jobs import queues

    conn = Redis.from_url(redis_url)
    evaluation = Queue(queues.EVAL_QUEUE, connection=conn).key

    def probe() -> tuple[int, int, int]:
        with conn.pipeline(transaction=False) as pipe:
            pipe.zcard(brain.key_pending())
            pipe.llen(evaluation)
            pipe.zrange(brain.key_actions_inflight(), 0, -1, withscores=True)
            pending, queued, inflight = pipe.execute()
        actions = sum(int(score) for job, score in inflight if not job.startswith(b"grp-"))
        return pending, queued, actions
    return probe


def drained_at(probes: list[tuple[float, object]], after: float) -> float | None:
    """The first sample at or after `after` (all alerts accepted) whose backlog is empty."""
    for t, value in probes:
        if t >= after and not sum(value):
            return t
    return None


def wait_counted(sink: str, n: int, cumulative: bool, timeout: float) -> tuple[list[dict], int, float | None]:
    end = time.time() + timeout
    while True:
        messages = get(f"{sink}/_messages")
        total, when = counted(messages, cumulative)
        if total >= n or time.time() > end:
            return messages, total, when
        time.sleep(0.5)


def storm(args, port: int, procs: dict, sink: str, name: str, cumulative: bool, probe=None) -> dict:
    get(f"{sink}/_reset")
    wait_quiet(0.15, args.wait_quiet)
    bodies = batches(args.n, args.batch)
    poster = Poster(port, bodies, due_times(len(bodies), args.seconds), args.retry_after, args.max_clients)
    cpu0 = cpu_now(procs)
    with Sampler(procs, probe) as sampler:
        poster.run()
        timeout = args.wait + INTERVAL + args.timeout
        messages, total, done = wait_counted(sink, args.n, cumulative, timeout)
        time.sleep(SAMPLE * 2)   # one more sample of the backlog
    cpu = cpu_since(procs, cpu0)
    t0 = poster.start
    print(poster.report(name))
    drained = drained_at(sampler.probes, poster.last_accept) if probe else poster.last_accept
    if probe:
        peak = max((sum(v) for _, v in sampler.probes), default=0)
        print(f"  backlog: at most {peak} (pending + evaluation jobs + actions); "
              + (f"empty {drained - t0:.1f}s after the first POST" if drained else "never empty while sampled"))
    grouped = [m for m in messages if m["firing"] is not None]
    print(f"  messages: {len(messages)} ({len(grouped)} grouped, counts "
          f"{', '.join(str(m['firing']) for m in sorted(grouped, key=lambda m: m['t']))}); "
          f"they count {total} of {args.n} alerts" + (f", the last count {done - t0:.1f}s after the first POST"
                                                     if done else ""))
    print_cpu(cpu, args.n)
    sampler.print_rss()
    return {"accepted": poster.last_accept - t0, "drained": (drained - t0) if drained else None,
            "counted": (done - t0) if done and total >= args.n else None, "messages": len(messages),
            "sampler": sampler, "cpu": sum(cpu.values())}


@contextlib.contextmanager
def alertmanager_running(tmp: Path, config: str, name: str = "am"):
    """Alertmanager with this configuration for the block: yields its port, or None if absent."""
    binary = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
    if not binary:
        print("alertmanager: not installed (apt-get install prometheus-alertmanager); skipped")
        yield None, None
        return
    port = free_port()
    (tmp / f"{name}.yml").write_text(config)
    proc = subprocess.Popen([binary, f"--config.file={tmp}/{name}.yml", f"--storage.path={tmp}/{name}-data",
                             f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address=",
                             "--log.level=warn"], stderr=subprocess.DEVNULL)
    try:
        wait_up(f"http://127.0.0.1:{port}/-/ready")
        yield port, proc
    finally:
        proc.terminate()
        proc.wait(10)


def ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}" if a and b else "n/a"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50000)
    parser.add_argument("--seconds", type=float, default=30, help="the storm's length (POSTs paced evenly)")
    parser.add_argument("--batch", type=int, default=64, help="alerts per POST (Prometheus sends at most 64)")
    parser.add_argument("--workers", type=int, default=2, help="python worker.py processes")
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--wait", type=int, default=60, help="group wait (Sparky) / group_wait (Alertmanager), s")
    parser.add_argument("--retry-after", type=float, default=None,
                        help="retry a 503 after at most this many seconds (default: its Retry-After)")
    parser.add_argument("--max-backlog", type=int, default=None, help="SPARKY_MAX_BACKLOG (default: Sparky's)")
    parser.add_argument("--max-clients", type=int, default=32, help="client threads at most")
    parser.add_argument("--timeout", type=float, default=180, help="seconds to wait for the messages after the storm")
    parser.add_argument("--skip-alertmanager", action="store_true")
    parser.add_argument("--wait-quiet", type=float, default=60,
                        help="seconds to wait for an idle machine before each storm (0: do not wait)")
    args = parser.parse_args()
    args.route, args.server, args.profile = "chat", "granian", None   # what sparky_running reads

    tmp = Path(tempfile.mkdtemp(prefix="sparky-storm-"))
    sink_port = free_port()
    sink = f"http://127.0.0.1:{sink_port}"
    args.sink_proc = subprocess.Popen([sys.executable, str(HERE / "sink.py"), str(sink_port)])
    print(f"storm: {args.n} alerts of one group, {args.batch} per POST over {args.seconds:g}s; "
          f"group wait {args.wait}s, interval {INTERVAL}s")
    try:
        wait_up(f"{sink}/_stats")
        am = None
        if not args.skip_alertmanager:
            config = AM_CONFIG % (args.wait, sink_port)
            with alertmanager_running(tmp, config) as (port, proc):
                if port:
                    am = storm(args, port, {"alertmanager": [proc], "sink": [args.sink_proc]}, sink,
                               "alertmanager", cumulative=True)
        env = {"SPARKY_MAX_BACKLOG": str(args.max_backlog)} if args.max_backlog else {}
        rules = STORM_RULES % args.wait
        with sparky_running(args, tmp, sink_port, sink, rules, env) as (port, procs):
            sparky = storm(args, port, procs, sink, "sparky", cumulative=False,
                           probe=backlog_probe(args.redis_url))
            letters = get(f"http://127.0.0.1:{port}/api/dead-letters")["count"]
            print(f"  dead letters: {letters}")
        s = sparky["sampler"]
        web = s.largest(("web (granian)",))
        workers = s.largest(("workers",))
        print("-- summary")
        print(f"sparky: drained {sparky['drained'] or float('nan'):.1f}s, every alert counted "
              f"{sparky['counted'] or float('nan'):.1f}s after the first POST, {sparky['messages']} messages; "
              f"largest web process {web:.0f} MB, largest worker process {workers:.0f} MB "
              f"(each under {RSS_LIMIT_MB} MB: {'yes' if max(web, workers) < RSS_LIMIT_MB else 'NO'})")
        if am:
            a = am["sampler"]
            am_rss = a.largest(("alertmanager",))
            ours = sum(s.tree_peak.get(k, 0) for k in s.tree_peak if k != "sink")
            print(f"alertmanager: accepted all {am['accepted']:.1f}s, every alert counted "
                  f"{am['counted'] or float('nan'):.1f}s after the first POST, {am['messages']} messages; "
                  f"RSS {am_rss:.0f} MB")
            print(f"ratio sparky / alertmanager: drained vs accepted {ratio(sparky['drained'], am['accepted'])}, "
                  f"all counted {ratio(sparky['counted'], am['counted'])}, "
                  f"CPU {ratio(sparky['cpu'], am['cpu'])}, "
                  f"RSS (largest process) {ratio(max(web, workers), am_rss)}, "
                  f"RSS (web + workers + redis at their peaks) {ratio(ours, am_rss)}")
    finally:
        args.sink_proc.terminate()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
