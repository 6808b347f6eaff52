"""A stored decision with its explanations: the first failed condition of each rule that did not
match, computed when someone asks (`why`, GET /api/signals/<id>/decision), not at evaluation.

The evaluation job stores, with each decision, what the explanation needs besides the signal and
the rules version (router/engine/explain.py `kept`: when it was evaluated, the brain fields and
count windows the rules read). `explained()` loads the signal and the compiled rules of that
version (cached per process, router/engine/store.py) and rebuilds each ruleset's `not_matched`
exactly as an eager evaluation would have written it (tests/engine/test_explained.py compares the
two over generated rules and signals). A decision stored before this, or by a path that explains
at once, already has its `not_matched` and is returned as it is.

What cannot be explained any more: a signal expired from the brain (its decision outlives it by
the time it waited for evaluation), or a rules version older than the RULES_HISTORY_CAP kept.
The decision then says so in `explanation` and its `not_matched` lists are empty.
"""
from __future__ import annotations

from redis import Redis

from router.core import brain
from router.engine.explain import context_again, not_matched
from router.engine.rules import Rules
from router.engine.store import RulesUnavailable, rules_for

KEY = "explain"   # the decision's field holding explain.kept()'s record


def pending(decision: dict) -> bool:
    """Whether the decision's explanations are still to be computed."""
    return KEY in decision


def explained(conn: Redis | None, decision: dict, signal: dict | None = None, rules: Rules | None = None) -> dict:
    """The decision as an eager evaluation would have stored it (a new dict; `decision` untouched).

    `signal`, `rules`: the stored signal and the decision's rules version when the caller already
    has them (each saves a round trip).
    """
    if KEY not in decision:
        return decision
    out = {k: v for k, v in decision.items() if k != KEY}
    record = decision[KEY]
    signal = signal if signal is not None else brain.load_signal(conn, decision.get("signal", ""))
    problem = None
    if signal is None:
        problem = "the signal has expired from the brain (SPARKY_SIGNAL_TTL)"
    elif rules is None:
        try:
            rules = rules_for(conn, decision.get("rules_version") or "")
        except RulesUnavailable:
            problem = f"rules version {decision.get('rules_version')} is no longer kept in the brain"
    if problem:
        rules = None
    ctx = context_again(signal, record) if rules is not None else None
    rulesets = {}
    for name, outcome in (decision.get("rulesets") or {}).items():
        if "not_matched" in outcome:
            rulesets[name] = outcome
            continue
        compiled = rules.ruleset(name) if rules is not None else None
        misses = not_matched(compiled, [m["rule"] for m in outcome.get("matched") or []], ctx) \
            if compiled is not None else []
        rulesets[name] = {"matched": outcome.get("matched") or [], "not_matched": misses,
                          **{k: v for k, v in outcome.items() if k not in ("matched", "not_matched")}}
    out["rulesets"] = rulesets
    if problem:
        out["explanation"] = f"not available: {problem}"
    return out
