"""Rule order, `continue`, and why a rule did not match — in plain Python.

`decide()` turns the set of rules that fired (from the engine) into SPEC §4's result for one
ruleset: rules are taken in file order, the first match stops unless it says `continue: true`.
Rules after the stop are reported as not evaluated. `first_failure()` names the first
condition of a rule that does not hold, as written in the file. `reference()` is the same
semantics with no engine at all: the plain-Python baseline, and the oracle in tests.

Explanations later: naming the first failed condition of every rule above the match was ~60 % of
an evaluation's CPU at 100 rules, and almost nobody reads it. The evaluation job therefore stores
only what the explanation needs besides the signal and the rules version (`kept()`: the moment of
evaluation, the brain fields and count windows the rules read), and `not_matched()` rebuilds the
same list from them when `why` or the decision API asks (router/engine/explained.py).
"""
from __future__ import annotations

import logging

from router.core.signal import SIGNAL_FIELDS, flat
from router.engine.compile import Compiled, CompiledRule
from router.engine.conditions import INTERVALS

log = logging.getLogger("sparky.rules")


def first_failure(rule: CompiledRule, ctx: dict, memo: list) -> str:
    """The first condition of `rule` that does not hold, as written (`memo`: one per signal)."""
    for text, slot, check in rule.checks:
        held = memo[slot]
        if held is None:
            held = memo[slot] = check(ctx)
        if not held:
            return text
    # The engine did not fire a rule whose conditions all hold in Python: a bug, say so.
    log.error('rule "%s": engine and Python disagree for signal %s', rule.rule.name, ctx.get("id"))
    return "(every condition holds, but the engine did not fire this rule)"


def holds(rule: CompiledRule, ctx: dict, memo: list) -> bool:
    for _, slot, check in rule.checks:
        held = memo[slot]
        if held is None:
            held = memo[slot] = check(ctx)
        if not held:
            return False
    return True


def decide(compiled: Compiled, fired: set[int], ctx: dict, explain: bool = True) -> dict:
    """SPEC §4's result for one ruleset and one signal, from the rules the engine fired."""
    matched, not_matched, stopper = [], [], None
    memo = [None] * compiled.slots
    for rule in compiled.rules:
        if stopper is None and (rule.always or rule.index in fired):
            matched.append({"rule": rule.name, "actions": rule.actions})
            if not rule.cont:
                stopper = f'not evaluated: rule "{rule.name}" matched first'
        elif explain:
            if stopper is None:
                # first_failure, inlined: this loop is most of an evaluation's Python time.
                for text, slot, check in rule.checks:
                    held = memo[slot]
                    if held is None:
                        held = memo[slot] = check(ctx)
                    if not held:
                        failed = text
                        break
                else:
                    failed = first_failure(rule, ctx, memo)
            else:
                failed = stopper
            not_matched.append({"rule": rule.name, "failed": failed})
    return {"matched": matched, "not_matched": not_matched}


def reference(compiled: Compiled, ctx: dict) -> list[str]:
    """Names of the rules that match under SPEC semantics, evaluated in Python only."""
    out = []
    memo = [None] * compiled.slots
    for rule in compiled.rules:
        if holds(rule, ctx, memo):
            out.append(rule.rule.name)
            if not rule.rule.cont:
                break
    return out


def reference_decide(compiled: Compiled, ctx: dict) -> dict:
    """`decide()`'s result computed without the engine: the plain-Python baseline."""
    matched, not_matched, stopper = [], [], None
    memo = [None] * compiled.slots
    for rule in compiled.rules:
        name = rule.rule.name
        if stopper is None:
            if holds(rule, ctx, memo):
                matched.append({"rule": name, "actions": rule.actions})
                if not rule.rule.cont:
                    stopper = name
            else:
                not_matched.append({"rule": name, "failed": first_failure(rule, ctx, memo)})
        else:
            not_matched.append({"rule": name, "failed": f'not evaluated: rule "{stopper}" matched first'})
    return {"matched": matched, "not_matched": not_matched}


_FLAT = frozenset(SIGNAL_FIELDS) | {"__now__"}


_PLAIN = (str, bool, int, float, type(None))


def kept(ctx: dict) -> dict | None:
    """What a later explanation needs of a context besides the signal itself: the moment it was
    evaluated at, and whatever was added to the signal's flat view (brain fields, count windows).
    None when one of those is not a plain JSON value (it would not come back the same)."""
    facts, counts = {}, []
    for key, value in ctx.items():
        if key.__class__ is tuple:                       # ("count", ruleset, rule)
            counts.append([key[1], key[2], value])
        elif key == INTERVALS:                          # the time intervals holding then: a set
            facts[key] = sorted(value)
        elif key not in _FLAT and not key.startswith("labels."):
            if not isinstance(value, _PLAIN) or value != value:   # NaN is not JSON either
                return None
            facts[key] = value
    return {"now": ctx["__now__"], "facts": facts, "counts": counts}


def context_again(signal: dict, record: dict) -> dict:
    """The context a signal was evaluated with, from the signal and its `kept()` record."""
    ctx = flat(signal, record["now"])
    ctx.update(record.get("facts") or {})
    if INTERVALS in ctx:
        ctx[INTERVALS] = frozenset(ctx[INTERVALS])
    for ruleset, rule, n in record.get("counts") or []:
        ctx[("count", ruleset, rule)] = n
    return ctx


def not_matched(compiled: Compiled, matched: list[str], ctx: dict) -> list[dict]:
    """`decide()`'s `not_matched` for a ruleset, given the names of the rules that matched (in order)."""
    out, stopper, memo, taken = [], None, [None] * compiled.slots, 0
    for rule in compiled.rules:
        if stopper is None and taken < len(matched) and matched[taken] == rule.name:
            taken += 1   # names are unique in a ruleset (the loader refuses a duplicate)
            if not rule.cont:
                stopper = f'not evaluated: rule "{rule.name}" matched first'
        else:
            out.append({"rule": rule.name, "failed": first_failure(rule, ctx, memo) if stopper is None else stopper})
    return out
