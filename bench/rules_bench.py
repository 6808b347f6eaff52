"""Rules engine throughput: evaluations/s per process, durable-rules path vs plain Python, same run.

For rulesets of 10, 100 and 1,000 rules (tree-shaped like a real routing file: kind → team →
service → severity, a Python regex on every 5th rule, `snoozed: false` / `acked: false` on some),
batches of BATCH signals go through:

- engine:   router.engine.results.evaluate — the brain round trip (snoozes + acks + windows, one
            pipeline), the durable-rules session, rule order, and the explanation of every rule
            that did not match (what the evaluation job stores);
- baseline: the same brain round trip and the same compiled predicates, matched in plain Python
            (explain.reference's loop), producing the same result JSON;
- later:    the engine path as the evaluation job runs it since 2026-12-07: explanations left for
            `why` and the decision API to compute when asked (evaluate(explain=LATER)), only what
            they need kept; printed with its ratio to the eager engine path (CPU seconds, same run);
and, without the brain, the matcher alone (engine vs Python), for scale.
The two paths' outputs are compared on every size before timing. The ratio printed is
baseline ÷ engine in evaluations per CPU second (1.0 = as fast as plain Python; above 1 the
engine path is slower). Runs on a shared machine: trust the CPU-second figures and the ratios.

usage: python bench/rules_bench.py [--sizes 10,100,1000] [--batch 100] [--seconds 3] [--only-later]
"""
from __future__ import annotations

import argparse
import socket
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from redis import Redis  # noqa: E402

from router.assembly import assemble  # noqa: E402
from router.core import brain  # noqa: E402
from router.core.embedded import EmbeddedRedis  # noqa: E402
from router.core.signal import Signal  # noqa: E402
from router.engine import durable as engine  # noqa: E402
from router.engine import facts  # noqa: E402
from router.engine.explain import holds, reference_decide  # noqa: E402
from router.engine.results import LATER, evaluate  # noqa: E402
from router.engine.rules import load  # noqa: E402


def ruleset(n: int) -> dict:
    teams = max(1, min(10, n // 10))
    rules = []
    for i in range(n - 1):
        when = {"kind": "alert", "labels.team": f"team{i % teams}", "labels.service": f"svc{i}"}
        when["severity"] = ["critical", "warning"] if i % 3 == 0 else {"not": "info"}
        if i % 5 == 0:
            when["labels.host"] = {"matches": r"web-\d+"}
        if i % 7 == 0:
            when["snoozed"] = False
        if i % 11 == 0:
            when["acked"] = False
        rules.append({"name": f"r{i}", "when": when, "then": [{"notify": {"room": f"#team{i % teams}"}}],
                      "continue": i % 4 == 0})
    rules.append({"name": "default", "when": {}, "then": [{"notify": {"room": "#noise"}}]})
    return {"routing.yml": yaml.safe_dump({"ruleset": "routing", "rules": rules}, sort_keys=False)}


def signals(n_rules: int, batch: int, seed: int) -> list[dict]:
    teams = max(1, min(10, n_rules // 10))
    out = []
    for j in range(batch):
        i = (seed * 7919 + j * 104729) % (n_rules - 1)
        out.append(Signal(source="nagios", kind="alert", status="firing",
                          severity=["critical", "warning", "info"][j % 3], fingerprint=f"fp-{i}-{j % 5}",
                          labels={"team": f"team{i % teams}", "service": f"svc{i}" if j % 4 else "other",
                                  "host": f"web-{j}" if j % 2 else f"db-{j}"}).to_dict())
    return out


def baseline(conn, rules, batch: list[dict], now: float) -> list[dict]:
    """The same predicates in plain Python: brain round trip, first match + continue, explanations."""
    ctxs = facts.contexts(conn, rules, batch, now, write=True)
    results = [{"signal": s["id"], "rulesets": {}} for s in batch]
    for compiled in rules.rulesets:
        for result, ctx in zip(results, ctxs):
            result["rulesets"][compiled.name] = reference_decide(compiled, ctx)
    return results


def rate(fn, batches: list[list[dict]], seconds: float) -> tuple[float, float]:
    """(evaluations per wall-clock second, per CPU second of this process) over `seconds`.

    On a shared 2-core box the CPU-second figure is the stable one: it is what one process can do
    when it has a core, whatever else runs (Redis's own CPU is not counted; its round trip is).
    """
    done, i = 0, 0
    wall, cpu = time.perf_counter(), time.process_time()
    while True:
        fn(batches[i % len(batches)])
        done += len(batches[i % len(batches)])
        i += 1
        elapsed = time.perf_counter() - wall
        if elapsed >= seconds:
            return done / elapsed, done / max(time.process_time() - cpu, 1e-9)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,100,1000")
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--only-later", action="store_true",
                        help="time only the eager and the explain-later engine paths (a shorter run)")
    args = parser.parse_args()
    assemble()   # the fact providers and vocabulary a Sparky process has (router/assembly.py)

    with tempfile.TemporaryDirectory() as tmp:
        server = EmbeddedRedis(tmp, appendonly=False, port=free_port()).start()
        try:
            conn = Redis.from_url(server.url)
            brain.put_snooze(conn, {"id": "s1", "matchers": [{"name": "host", "op": "=", "value": "web-3"}],
                                    "ends_at": time.time() + 3600})
            print(f"per process, batches of {args.batch}; ev/s = evaluations per wall second "
                  f"(per CPU second in brackets); ratio = baseline ÷ engine (≤ 3 is the target)")
            print(f"{'rules':>6} {'engine (brain+explain)':>24} {'baseline (same, Python)':>25} {'ratio':>6}"
                  f" {'engine, no explain':>20}  {'matcher only: engine':>22} {'python':>18} {'ratio':>6}")
            for size in [int(s) for s in args.sizes.split(",")]:
                rules, problems = load(ruleset(size), "rules")
                assert not problems, problems
                batches = [signals(size, args.batch, seed) for seed in range(20)]
                now = time.time()
                for batch in batches[:3]:  # same answers from both paths (and warm the engine)
                    a = evaluate(conn, rules, batch, now=now, write=False)
                    b = baseline(conn, rules, batch, now)
                    assert a == b, "engine and baseline disagree"
                eng = rate(lambda b: evaluate(conn, rules, b), batches, args.seconds)
                later = rate(lambda b: evaluate(conn, rules, b, explain=LATER), batches, args.seconds)
                print(f"{size:>6} explanations now: {eng[1]:,.0f} ev/CPU-s; later (as the job does): "
                      f"{later[1]:,.0f} ev/CPU-s; CPU per evaluation later ÷ now: {eng[1] / later[1]:.2f}",
                      flush=True)
                if args.only_later:
                    continue
                base = rate(lambda b: baseline(conn, rules, b, time.time()), batches, args.seconds)
                quiet = rate(lambda b: evaluate(conn, rules, b, explain=False), batches, args.seconds)
                m_eng = rate(lambda b: evaluate(None, rules, b, explain=False), batches, args.seconds)
                compiled = rules.rulesets[0]

                def python_only(batch):
                    for ctx in facts.contexts(None, rules, batch, time.time()):
                        memo = [None] * compiled.slots
                        for rule in compiled.rules:
                            if holds(rule, ctx, memo) and not rule.rule.cont:
                                break
                m_py = rate(python_only, batches, args.seconds)

                def both(r):
                    return f"{r[0]:,.0f} ({r[1]:,.0f})"
                print(f"{size:>6} {both(eng):>24} {both(base):>25} {base[1] / eng[1]:>6.2f} {both(quiet):>20}  "
                      f"{both(m_eng):>22} {both(m_py):>18} {m_py[1] / m_eng[1]:>6.2f}", flush=True)
            assert engine.live_sessions() == 0
        finally:
            server.stop()


if __name__ == "__main__":
    main()
