"""The engine path and the plain-Python reference agree on random rules and signals (hypothesis).

This is what makes "compile to durable-rules, compute the rest in Python, apply order and
`continue` afterwards" equal to SPEC §4's semantics: the reference reads the rule file directly.
Values include quotes, backslashes and non-ASCII text, which the engine compares as JSON text.
"""
from __future__ import annotations

import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from router.core.signal import Signal
from router.engine import explain, facts
from router.engine.results import evaluate
from router.engine.rules import load
from tests.engine.helpers import NOW

TEXT = st.sampled_from(["a", "b", "web-1", "", 'q"uote', "back\\slash", "ünï", "x y", "1", "2.5"])
NUMBER = st.sampled_from([0, 1, 2.5, -3, 10])
FIELDS = ["kind", "severity", "labels.env", "labels.host", "labels.n"]


def condition():
    value = TEXT
    return st.one_of(
        value,
        st.lists(value, min_size=1, max_size=4),
        st.fixed_dictionaries({"not": value}),
        st.fixed_dictionaries({"in": st.lists(value, min_size=1, max_size=10)}),
        st.fixed_dictionaries({"not_in": st.lists(value, min_size=1, max_size=10)}),
        st.builds(lambda op, n: {op: n}, st.sampled_from(["gt", "gte", "lt", "lte"]), NUMBER),
        st.builds(lambda rx: {"matches": rx}, st.sampled_from(["a|b", ".*", "web-\\d+", "", "[0-9.]+"])),
        st.builds(lambda b: {"exists": b}, st.booleans()),
    )


def when_map(depth: int = 0):
    """A `when:` map: up to 3 fields, and (at the top) an `any:` of up to 2 such maps."""
    def build(keys, values, alternatives):
        out = dict(zip(keys, values))
        if alternatives:
            out["any"] = alternatives
        return out

    nested = st.just([]) if depth else st.lists(when_map(depth + 1).filter(bool), max_size=2)
    return st.lists(st.sampled_from(FIELDS), unique=True, max_size=3).flatmap(
        lambda keys: st.builds(build, st.just(keys), st.tuples(*[condition() for _ in keys]), nested))


rule = st.builds(lambda when, cont: {"when": when, "then": ["drop"], "continue": cont}, when_map(), st.booleans())
ruleset = st.lists(rule, min_size=1, max_size=6)
labels = st.fixed_dictionaries({}, optional={"env": TEXT, "host": TEXT, "n": st.sampled_from(["1", "2.5", "10", "x", "-3", ""])})
signal = st.builds(lambda kind, severity, lab: Signal(source="s", kind=kind or "k", status="firing",
                                                      severity=severity, labels=lab).to_dict(),
                   TEXT, st.sampled_from(["critical", "warning", "info"]), labels)


def _load(rules: list[dict]):
    body = [dict(r, name=f"r{i}") for i, r in enumerate(rules)]
    text = yaml.safe_dump({"ruleset": "eq", "rules": body}, allow_unicode=True, sort_keys=False)
    return load({"eq.yml": text}, "rules")


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ruleset, st.lists(signal, min_size=1, max_size=5))
def test_engine_and_reference_agree(rules, signals):
    loaded, problems = _load(rules)
    if loaded is None:  # e.g. an unreachable rule: refused at load, nothing to compare
        assert problems
        event("refused at load")
        return
    event("compared")
    results = evaluate(None, loaded, signals, now=NOW)
    compiled = loaded.rulesets[0]
    for sig, result in zip(signals, results):
        ctx = facts.context(sig, NOW)
        got = [m["rule"] for m in result["rulesets"]["eq"]["matched"]]
        assert got == explain.reference(compiled, ctx), (sig, compiled.definition)
