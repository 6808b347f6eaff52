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
from router.engine.explain import decide, kept
from router.engine.rules import Rules

LATER = "later"   # evaluate(explain=LATER): explanations computed when asked (explained.py)


def evaluate(conn: Redis | None, rules: Rules, signals: list[dict], now: float | None = None,
             write: bool = True, explain: bool | str = True, brain: list[dict] | None = None,
             providers: Sequence[Facts] | None = None) -> list[dict]:
    """`[{"signal": id, "rulesets": {name: {"matched": [...], "not_matched": [...]}}}]`.

    `write=False` leaves the brain untouched (count windows and `repeat` are read, not updated);
    `conn=None` evaluates without a brain, taking brain fields from `brain` (one map per signal).
    `explain=False` leaves every `not_matched` empty; `explain=LATER` leaves it out and adds
    `"explain"`: what router/engine/explained.py needs to compute it, exactly, when asked.
    """
    now = time.time() if now is None else now
    ctxs = facts.contexts(conn, rules, signals, now, write=write, given=brain, providers=providers)
    results = [{"signal": s.get("id", ""), "rulesets": {}} for s in signals]
    # Per signal: explain now, or keep what explaining later needs (a fact a plugin made that JSON
    # cannot store is explained now).
    records = [kept(ctx) for ctx in ctxs] if explain == LATER else [None] * len(ctxs)
    eng = engine.get()
    for compiled in rules.rulesets:
        batch = [compiled.fact(ctx, i) for i, ctx in enumerate(ctxs)]
        fired = eng.run(compiled, rules.version, batch) if compiled.engine_rules else [set() for _ in ctxs]
        for result, ctx, hit, record in zip(results, ctxs, fired, records):
            if isinstance(hit, engine.EngineError):
                result["rulesets"][compiled.name] = {"matched": [], "not_matched": [], "error": str(hit)}
            elif record is None:
                result["rulesets"][compiled.name] = decide(compiled, hit, ctx, explain is True or explain == LATER)
            else:
                outcome = decide(compiled, hit, ctx, False)
                del outcome["not_matched"]
                result["rulesets"][compiled.name] = outcome
    for result, record in zip(results, records):
        if record is not None:
            result["explain"] = record
    return results


def matched_rules(result: dict, ruleset: str) -> list[str]:
    return [m["rule"] for m in result["rulesets"].get(ruleset, {}).get("matched", [])]
