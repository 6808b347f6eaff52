"""Rule order, `continue`, and why a rule did not match — in plain Python.

`decide()` turns the set of rules that fired (from the engine) into SPEC §4's result for one
ruleset: rules are taken in file order, the first match stops unless it says `continue: true`.
Rules after the stop are reported as not evaluated. `first_failure()` names the first
condition of a rule that does not hold, as written in the file. `reference()` is the same
semantics with no engine at all: the plain-Python baseline, and the oracle in tests.
"""
from __future__ import annotations

import logging

from router.engine.compile import Compiled, CompiledRule

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
