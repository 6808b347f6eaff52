"""Evaluating signals against the rules in force: SPEC §4's result shape, per signal.

`evaluate()` is what everything else calls — the evaluation job, `sparky rules test`,
`POST /api/rules/test` and inline tests: brain facts in one round trip, one engine session per
ruleset for the whole batch, then rule order and explanations in Python.
"""
from __future__ import annotations

import time
from typing import Sequence

from redis import Redis

from router.core.registry import Facts
from router.engine import durable as engine
from router.engine import facts
from router.engine.explain import decide
from router.engine.rules import Rules


def evaluate(conn: Redis | None, rules: Rules, signals: list[dict], now: float | None = None,
             write: bool = True, explain: bool = True, brain: list[dict] | None = None,
             providers: Sequence[Facts] | None = None) -> list[dict]:
    """`[{"signal": id, "rulesets": {name: {"matched": [...], "not_matched": [...]}}}]`.

    `write=False` leaves the brain untouched (count windows and `repeat` are read, not updated);
    `conn=None` evaluates without a brain, taking brain fields from `brain` (one map per signal).
    """
    now = time.time() if now is None else now
    ctxs = facts.contexts(conn, rules, signals, now, write=write, given=brain, providers=providers)
    results = [{"signal": s.get("id", ""), "rulesets": {}} for s in signals]
    eng = engine.get()
    for compiled in rules.rulesets:
        batch = [compiled.fact(ctx, i) for i, ctx in enumerate(ctxs)]
        fired = eng.run(compiled, rules.version, batch) if compiled.engine_rules else [set() for _ in ctxs]
        for result, ctx, hit in zip(results, ctxs, fired):
            if isinstance(hit, engine.EngineError):
                result["rulesets"][compiled.name] = {"matched": [], "not_matched": [], "error": str(hit)}
            else:
                result["rulesets"][compiled.name] = decide(compiled, hit, ctx, explain)
    return results


def matched_rules(result: dict, ruleset: str) -> list[str]:
    return [m["rule"] for m in result["rulesets"].get(ruleset, {}).get("matched", [])]
