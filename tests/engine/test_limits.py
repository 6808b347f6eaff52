"""The engine's limits, checked at load time with clear errors — and the model checked against the
real engine: what the check lets through runs, one step further is refused instead of hanging."""
from __future__ import annotations

import yaml

from router.engine.results import evaluate
from router.engine.rules import load
from tests.engine.helpers import NOW, signal


def ruleset(rules: list[dict], name: str = "big") -> dict:
    return {f"{name}.yml": yaml.safe_dump({"ruleset": name, "rules": rules}, sort_keys=False)}


def flat(n: int) -> dict:
    """n rules that branch on one field right at the root."""
    return ruleset([{"name": f"r{i}", "when": {"labels.service": f"s{i}"}, "then": ["drop"]} for i in range(n)])


def test_fan_out_at_the_limit_runs_and_beyond_is_refused():
    rules, problems = load(flat(510), "rules")   # 510 + the sentinel = 511 children of the root
    assert not problems
    result = evaluate(None, rules, [signal(labels={"service": "s509"})], now=NOW)[0]
    assert [m["rule"] for m in result["rulesets"]["big"]["matched"]] == ["r509"]

    _, problems = load(flat(511), "rules")
    assert [str(p) for p in problems] == [
        'rules/big.yml:1: ruleset "big": 511 rules branch at one point on labels.service (the engine allows 510); '
        'add an equality condition that splits them into groups first (e.g. labels.team)']


def test_fan_out_under_a_shared_condition_and_its_cure():
    under = ruleset([{"name": f"r{i}", "when": {"kind": "alert", "labels.service": f"s{i}"}, "then": ["drop"]}
                     for i in range(600)])
    _, problems = load(under, "rules")
    assert [str(p) for p in problems] == [
        'rules/big.yml:1: ruleset "big": 600 rules branch at one point on labels.service after kind: "alert" '
        '(the engine allows 511); add an equality condition that splits them into groups first (e.g. labels.team)']

    partitioned = ruleset([{"name": f"r{i}", "when": {"kind": "alert", "labels.team": f"t{i % 4}",
                                                       "labels.service": f"s{i}"}, "then": ["drop"]}
                           for i in range(1200)])
    rules, problems = load(partitioned, "rules")
    assert not problems
    sig = signal(labels={"team": "t3", "service": "s1199"})
    result = evaluate(None, rules, [sig], now=NOW)[0]
    assert [m["rule"] for m in result["rulesets"]["big"]["matched"]] == ["r1199"]


def many_at_once(n: int) -> dict:
    """n rules that can all hold for one signal (each tests its own label)."""
    return ruleset([{"name": f"r{i}", "when": {f"labels.f{i}": {"exists": True}}, "then": ["drop"],
                     "continue": True} for i in range(n)])


def test_rules_holding_at_once_at_the_limit_run_and_beyond_are_refused():
    rules, problems = load(many_at_once(64), "rules")
    assert not problems
    sig = signal(labels={f"f{i}": "x" for i in range(64)})
    result = evaluate(None, rules, [sig], now=NOW)[0]
    assert len(result["rulesets"]["big"]["matched"]) == 64
    assert "error" not in result["rulesets"]["big"]

    _, problems = load(many_at_once(65), "rules")
    assert [str(p) for p in problems] == [
        'rules/big.yml:1: ruleset "big": up to 65 conditions can hold at once for one signal (the engine '
        'allows 64), among rules "r0", "r1", "r2" and 62 more; give them an equality condition on one field '
        'that tells them apart (e.g. kind or labels.team)']


def test_rule_count_limit():
    _, problems = load(ruleset([{"name": f"r{i}", "when": {"kind": "alert", "labels.team": f"t{i % 8}",
                                                           "labels.s": f"s{i}"}, "then": ["drop"]}
                                for i in range(2001)]), "rules")
    assert [str(p) for p in problems] == [
        'rules/big.yml:1: ruleset "big": 2001 rules (limit 2000); split it by concern into several files']
