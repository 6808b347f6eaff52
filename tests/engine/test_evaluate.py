"""The durable-rules wrapper: no engine threads, sessions always closed, fork safety, bad facts
isolated, old versions retired."""
from __future__ import annotations

import multiprocessing
import threading

from router.engine import durable as engine
from router.engine.results import evaluate
from tests.engine.helpers import NOW, rules_from, signal

RULES = rules_from("""
    ruleset: t
    rules:
      - {name: crit, when: {severity: critical}, then: [drop]}
      - {name: rest, when: {}, then: [drop]}
""")


def names(result: dict) -> list[str]:
    return [m["rule"] for m in result["rulesets"]["t"]["matched"]]


def test_no_engine_threads_and_no_live_sessions_after_use():
    before = {t.ident for t in threading.enumerate()}
    for _ in range(5):
        evaluate(None, RULES, [signal(severity="critical"), signal()], now=NOW)
    after = {t.ident for t in threading.enumerate()}
    assert after == before                 # durable's Host would start two Timer chains
    assert engine.live_sessions() == 0


def test_one_session_per_ruleset_and_batch():
    eng = engine.get()
    opened = eng.sessions_opened
    results = evaluate(None, RULES, [signal(id=f"s{i}", severity="critical" if i % 2 else "info")
                                     for i in range(100)], now=NOW)
    assert eng.sessions_opened == opened + 1
    assert [names(r) for r in results[:2]] == [["rest"], ["crit"]]


def test_a_fact_too_big_for_the_engine_is_refused_alone():
    # 255+ properties make assert_facts hand back a garbage handle (then a segfault): never sent.
    eng = engine.get()
    compiled = RULES.rulesets[0]
    good = compiled.fact({"severity": "critical", "__now__": NOW}, 0)
    huge = dict(compiled.fact({"severity": "critical", "__now__": NOW}, 1), **{f"x{i}": i for i in range(300)})
    other = compiled.fact({"severity": "critical", "__now__": NOW}, 2)
    fired = eng.run(compiled, RULES.version, [good, huge, other])
    assert fired[0] == {0} and fired[2] == {0}
    assert isinstance(fired[1], engine.EngineError) and "limit 250" in str(fired[1])
    assert engine.live_sessions() == 0


def _child(conn) -> None:
    result = evaluate(None, RULES, [signal(severity="critical")], now=NOW)[0]
    conn.send((names(result), engine.live_sessions(), threading.active_count()))


def test_fork_gets_a_fresh_engine_even_while_the_parent_holds_the_lock():
    evaluate(None, RULES, [signal()], now=NOW)                     # the parent's engine exists
    holding, release = threading.Event(), threading.Event()

    def hold():
        with engine.LOCK:
            holding.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    holding.wait(5)
    try:
        ctx = multiprocessing.get_context("fork")
        parent_end, child_end = ctx.Pipe()
        child = ctx.Process(target=_child, args=(child_end,))
        child.start()
        assert parent_end.poll(30), "the child deadlocked on the parent's lock"
        assert parent_end.recv() == (["crit"], 0, 1)
        child.join(10)
        assert child.exitcode == 0
    finally:
        release.set()
        holder.join()


def test_only_two_versions_stay_registered():
    eng = engine.get()
    for n in range(4):
        rules = rules_from(f"ruleset: v\nrules:\n  - {{name: r, when: {{labels.n: '{n}'}}, then: [drop]}}\n")
        result = evaluate(None, rules, [signal(labels={"n": str(n)})], now=NOW)[0]
        assert [m["rule"] for m in result["rulesets"]["v"]["matched"]] == ["r"]
    assert len(eng.hosts) <= engine.KEEP_VERSIONS
