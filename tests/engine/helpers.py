"""Small helpers for the rules-engine tests: inline YAML rulesets, signals, and both evaluators."""
from __future__ import annotations

import textwrap

from router.core.signal import Signal
from router.engine import explain, facts
from router.engine.results import evaluate
from router.engine.rules import Rules, load

NOW = 1_800_000_000.0  # 2027-01-15T08:00:00Z: fixed "now" for older_than / newer_than


def rules_from(text: str, name: str = "t.yml", **more: str) -> Rules:
    """Load inline YAML (dedented) as a rules dir; fail the test with every problem."""
    files = {name: textwrap.dedent(text).lstrip(), **{k: textwrap.dedent(v).lstrip() for k, v in more.items()}}
    rules, problems = load(files, "rules")
    assert not problems, "\n".join(map(str, problems))
    return rules


def problems_of(text: str, name: str = "t.yml", **more: str) -> list[str]:
    files = {name: textwrap.dedent(text).lstrip(), **{k: textwrap.dedent(v).lstrip() for k, v in more.items()}}
    return [str(p) for p in load(files, "rules")[1]]


def signal(**fields) -> dict:
    fields.setdefault("source", "nagios")
    fields.setdefault("kind", "alert")
    fields.setdefault("status", "firing")
    return Signal(**fields).to_dict()


def matched(rules: Rules, sig: dict, ruleset: str | None = None, conn=None, brain: dict | None = None,
            now: float = NOW, write: bool = True) -> list[str]:
    """Rule names matched by the real engine; also checks the plain-Python reference agrees."""
    result = evaluate(conn, rules, [sig], now=now, write=write, brain=[brain or {}] if conn is None else None)[0]
    name = ruleset or rules.rulesets[0].name
    got = [m["rule"] for m in result["rulesets"][name]["matched"]]
    if conn is None:
        ctx = facts.contexts(None, rules, [sig], now, given=[brain or {}])[0]
        assert explain.reference(rules.ruleset(name), ctx) == got, "engine and reference disagree"
    return got


def result_of(rules: Rules, sig: dict, ruleset: str | None = None, brain: dict | None = None,
              now: float = NOW) -> dict:
    result = evaluate(None, rules, [sig], now=now, brain=[brain or {}])[0]
    return result["rulesets"][ruleset or rules.rulesets[0].name]
