"""Table-driven routing tests (after Alertmanager's dispatch/route_test.go): inline YAML rules,
a signal per row, the rules it must match — through the real durable-rules engine, with the
plain-Python reference checked to agree on every row."""
from __future__ import annotations

import pytest

from tests.engine.helpers import NOW, matched, result_of, rules_from, signal

OPERATORS = rules_from("""
    ruleset: ops
    rules:
      - {name: eq, when: {labels.t: eq, severity: critical}, then: [drop], continue: true}
      - {name: eq-number, when: {labels.t: eqn, labels.build: 143}, then: [drop], continue: true}
      - {name: eq-bool-text, when: {labels.t: eqb, labels.enabled: true}, then: [drop], continue: true}
      - {name: list, when: {labels.t: list, source: [nagios, alertmanager]}, then: [drop], continue: true}
      - {name: in, when: {labels.t: in, status: {in: [failed, unstable]}}, then: [drop], continue: true}
      - name: in-long
        when: {labels.t: inl, labels.host: {in: [h1, h2, h3, h4, h5, h6, h7, h8, h9, h10]}}
        then: [drop]
        continue: true
      - {name: not, when: {labels.t: not, status: {not: resolved}}, then: [drop], continue: true}
      - {name: not-list, when: {labels.t: notl, status: {not: [resolved, acknowledged]}}, then: [drop], continue: true}
      - {name: not_in, when: {labels.t: notin, labels.env: {not_in: [prod, production]}}, then: [drop], continue: true}
      - name: not_in-long
        when: {labels.t: notinl, labels.host: {not_in: [h1, h2, h3, h4, h5, h6, h7, h8, h9, h10]}}
        then: [drop]
        continue: true
      - {name: gt, when: {labels.t: gt, labels.n: {gt: 5}}, then: [drop], continue: true}
      - {name: gte, when: {labels.t: gte, labels.n: {gte: 5}}, then: [drop], continue: true}
      - {name: lt, when: {labels.t: lt, labels.n: {lt: 5}}, then: [drop], continue: true}
      - {name: lte, when: {labels.t: lte, labels.n: {lte: 5.5}}, then: [drop], continue: true}
      - {name: range, when: {labels.t: range, labels.n: {gt: 1, lt: 10}}, then: [drop], continue: true}
      - {name: matches, when: {labels.t: re, labels.host: {matches: "web-\\\\d+"}}, then: [drop], continue: true}
      - {name: matches-empty, when: {labels.t: reempty, labels.env: {matches: ".*"}}, then: [drop], continue: true}
      - {name: exists, when: {labels.t: ex, labels.env: {exists: true}}, then: [drop], continue: true}
      - {name: not-exists, when: {labels.t: nex, labels.env: {exists: false}}, then: [drop], continue: true}
      - {name: older, when: {labels.t: old, occurred_at: {older_than: 1h}}, then: [drop], continue: true}
      - {name: newer, when: {labels.t: new, occurred_at: {newer_than: 1h}}, then: [drop], continue: true}
      - {name: label-age, when: {labels.t: lage, labels.updated_at: {older_than: 14d}}, then: [drop], continue: true}
      - {name: missing-is-empty, when: {labels.t: empty, labels.env: ""}, then: [drop], continue: true}
""")


def t(kind: str, **labels) -> dict:
    return {"t": kind, **labels}


HOUR_AGO = "2027-01-15T06:59:00Z"    # NOW - 61 min
JUST_NOW = "2027-01-15T07:59:00Z"    # NOW - 1 min


@pytest.mark.parametrize("fields, expected", [
    # equality; a field is text, so a YAML number or boolean compares as its text
    (dict(severity="critical", labels=t("eq")), ["eq"]),
    (dict(severity="warning", labels=t("eq")), []),
    (dict(labels=t("eqn", build="143")), ["eq-number"]),
    (dict(labels=t("eqn", build="1430")), []),
    (dict(labels=t("eqb", enabled="true")), ["eq-bool-text"]),
    # a list: any of
    (dict(source="alertmanager", labels=t("list")), ["list"]),
    (dict(source="jenkins", labels=t("list")), []),
    (dict(status="unstable", labels=t("in")), ["in"]),
    (dict(status="aborted", labels=t("in")), []),
    (dict(labels=t("inl", host="h9")), ["in-long"]),      # long lists are computed in Python
    (dict(labels=t("inl", host="h11")), []),
    # not / not_in; a missing label reads as "" (Alertmanager's `!=`)
    (dict(status="firing", labels=t("not")), ["not"]),
    (dict(status="resolved", labels=t("not")), []),
    (dict(status="acknowledged", labels=t("notl")), []),
    (dict(status="firing", labels=t("notl")), ["not-list"]),
    (dict(labels=t("notin", env="staging")), ["not_in"]),
    (dict(labels=t("notin", env="prod")), []),
    (dict(labels=t("notin")), ["not_in"]),
    (dict(labels=t("notinl", host="h5")), []),
    (dict(labels=t("notinl", host="db")), ["not_in-long"]),
    # numbers: the text must read as a finite number
    (dict(labels=t("gt", n="6")), ["gt"]),
    (dict(labels=t("gt", n="5")), []),
    (dict(labels=t("gt", n="5.01")), ["gt"]),
    (dict(labels=t("gt", n="lots")), []),
    (dict(labels=t("gt", n="nan")), []),
    (dict(labels=t("gt", n="1e400")), []),
    (dict(labels=t("gt")), []),
    (dict(labels=t("gte", n="5")), ["gte"]),
    (dict(labels=t("gte", n="4.99")), []),
    (dict(labels=t("lt", n="-3")), ["lt"]),
    (dict(labels=t("lt", n="5")), []),
    (dict(labels=t("lt", n="")), []),
    (dict(labels=t("lte", n="5.5")), ["lte"]),
    (dict(labels=t("lte", n="5.6")), []),
    (dict(labels=t("range", n="2")), ["range"]),
    (dict(labels=t("range", n="10")), []),
    # matches: a Python regex matching the whole value
    (dict(labels=t("re", host="web-12")), ["matches"]),
    (dict(labels=t("re", host="web-12.example")), []),
    (dict(labels=t("re", host="my-web-12")), []),
    (dict(labels=t("reempty")), ["matches-empty"]),
    # exists: present and not empty
    (dict(labels=t("ex", env="prod")), ["exists"]),
    (dict(labels=t("ex", env="")), []),
    (dict(labels=t("ex")), []),
    (dict(labels=t("nex")), ["not-exists"]),
    (dict(labels=t("nex", env="prod")), []),
    # ages, measured from the evaluation time
    (dict(occurred_at=HOUR_AGO, labels=t("old")), ["older"]),
    (dict(occurred_at=JUST_NOW, labels=t("old")), []),
    (dict(occurred_at=JUST_NOW, labels=t("new")), ["newer"]),
    (dict(occurred_at=HOUR_AGO, labels=t("new")), []),
    (dict(labels=t("lage", updated_at="2026-12-01T00:00:00Z")), ["label-age"]),
    (dict(labels=t("lage", updated_at="2027-01-10T00:00:00Z")), []),
    (dict(labels=t("lage", updated_at="last tuesday")), []),
    (dict(labels=t("empty")), ["missing-is-empty"]),
    (dict(labels=t("empty", env="")), ["missing-is-empty"]),
    (dict(labels=t("empty", env="x")), []),
])
def test_operators(fields, expected):
    assert matched(OPERATORS, signal(**fields)) == expected


ANY_ALL = rules_from("""
    ruleset: anyall
    rules:
      - name: page
        when:
          kind: alert
          any:
            - {severity: critical}
            - {labels.env: production, severity: warning}
        then: [drop]
        continue: true
      - name: both
        when:
          all:
            - {source: nagios}
            - {labels.team: [web, api]}
        then: [drop]
        continue: true
      - name: nested
        when:
          any:
            - all: [{labels.a: "1"}, {labels.b: "1"}]
            - {labels.c: {matches: "x+"}}
        then: [drop]
        continue: true
      - name: wide
        when:
          any: [{labels.w: "1"}, {labels.w: "2"}, {labels.w: "3"}, {labels.w: "4"}, {labels.w: "5"},
                {labels.w: "6"}, {labels.w: "7"}, {labels.w: "8"}, {labels.w: "9"}, {labels.w: "10"},
                {labels.w: "11"}, {labels.w: "12"}, {labels.w: "13"}, {labels.w: "14"}, {labels.w: "15"},
                {labels.w: "16"}, {labels.w: "17"}]
        then: [drop]
""")


@pytest.mark.parametrize("fields, expected", [
    (dict(severity="critical", source="alertmanager"), ["page"]),
    (dict(severity="warning", labels={"env": "production"}, source="x"), ["page"]),
    (dict(severity="warning", labels={"env": "staging"}, source="x"), []),
    (dict(kind="build", severity="critical", source="x"), []),
    (dict(source="nagios", labels={"team": "api"}), ["both"]),
    (dict(source="nagios", labels={"team": "db"}), []),
    (dict(source="x", labels={"a": "1", "b": "1"}), ["nested"]),
    (dict(source="x", labels={"a": "1", "b": "2"}), []),
    (dict(source="x", labels={"c": "xxx"}), ["nested"]),
    (dict(source="x", labels={"w": "17"}), ["wide"]),      # 17 alternatives: computed in Python
    (dict(source="x", labels={"w": "18"}), []),
    (dict(severity="critical", source="nagios", labels={"team": "web", "c": "x", "w": "3"}),
     ["page", "both", "nested", "wide"]),
])
def test_any_and_all(fields, expected):
    assert matched(ANY_ALL, signal(**fields)) == expected


ORDER = rules_from("""
    ruleset: routing
    rules:
      - {name: audit, when: {kind: alert}, then: [{set: {key: seen, value: 1}}], continue: true}
      - {name: critical, when: {kind: alert, severity: critical}, then: [{notify: {room: "#ops"}}]}
      - {name: db, when: {kind: alert, labels.team: db}, then: [{notify: {room: "#db"}}]}
      - {name: builds, when: {kind: build}, then: [{notify: {room: "#builds"}}], continue: true}
      - {name: default, when: {}, then: [{notify: {room: "#noise"}}]}
""")


@pytest.mark.parametrize("fields, expected", [
    (dict(kind="alert", severity="critical", labels={"team": "db"}), ["audit", "critical"]),  # first match stops
    (dict(kind="alert", severity="warning", labels={"team": "db"}), ["audit", "db"]),
    (dict(kind="alert", severity="warning"), ["audit", "default"]),
    (dict(kind="build"), ["builds", "default"]),                                           # continue: true
    (dict(kind="push"), ["default"]),
])
def test_first_match_stops_unless_continue(fields, expected):
    assert matched(ORDER, signal(**fields)) == expected


def test_explanations_name_the_first_failing_condition_as_written():
    outcome = result_of(ORDER, signal(kind="alert", severity="warning", labels={"team": "web"}))
    assert outcome["matched"] == [
        {"rule": "audit", "actions": [{"set": {"key": "seen", "value": 1}}]},
        {"rule": "default", "actions": [{"notify": {"room": "#noise"}}]},
    ]
    assert outcome["not_matched"] == [
        {"rule": "critical", "failed": "severity: critical"},
        {"rule": "db", "failed": "labels.team: db"},
        {"rule": "builds", "failed": "kind: build"},
    ]
    stopped = result_of(ORDER, signal(kind="alert", severity="critical"))
    assert stopped["not_matched"][-1] == {"rule": "default", "failed": 'not evaluated: rule "critical" matched first'}


def test_explanation_quotes_a_condition_exactly_as_written():
    rules = rules_from("""
        ruleset: t
        rules:
          - name: main-build-broken
            when:
              kind: build
              status: {in: [failed, unstable]}
              labels.branch: {matches: "^(main|master|release/.*)$"}
            then: [drop]
    """)
    outcome = result_of(rules, signal(kind="build", status="failed", labels={"branch": "feature/x"}))
    assert outcome["not_matched"] == [
        {"rule": "main-build-broken", "failed": 'labels.branch: {matches: "^(main|master|release/.*)$"}'}]


def test_every_ruleset_is_evaluated_independently():
    rules = rules_from(
        "ruleset: a\nrules:\n  - {name: a1, when: {kind: alert}, then: [drop]}\n",
        name="a.yml",
        **{"b.yml": "ruleset: b\nrules:\n  - {name: b1, when: {severity: critical}, then: [drop]}\n"})
    sig = signal(kind="alert", severity="critical")
    assert matched(rules, sig, "a") == ["a1"]
    assert matched(rules, sig, "b") == ["b1"]


def test_brain_fields_from_an_inline_brain():
    rules = rules_from("""
        ruleset: t
        rules:
          - {name: snoozed, when: {snoozed: true}, then: [drop]}
          - {name: acked, when: {acked: true}, then: [drop]}
          - {name: storm, when: {firing_count: {gte: 3}}, then: [drop]}
          - {name: repeat, when: {repeat: [4, 5]}, then: [drop]}
          - {name: deploying, when: {deploying: true, kind: alert}, then: [drop]}
          - {name: calm, when: {firing_count: 0, repeat: {lt: 2}, deploying: false}, then: [drop]}
    """)
    sig = signal()
    assert matched(rules, sig, brain={"snoozed": True}) == ["snoozed"]
    assert matched(rules, sig, brain={"acked": True}) == ["acked"]
    assert matched(rules, sig, brain={"firing_count": 3}) == ["storm"]
    assert matched(rules, sig, brain={"repeat": 5}) == ["repeat"]
    assert matched(rules, sig, brain={"repeat": 6}) == []
    assert matched(rules, sig, brain={"deploying": True}) == ["deploying"]
    assert matched(rules, sig) == ["calm"]


def test_yaml_yes_no_on_off_stay_text():
    rules = rules_from("ruleset: t\nrules:\n  - {name: a, when: {status: on, labels.env: no}, then: [drop]}\n")
    assert matched(rules, signal(status="on", labels={"env": "no"})) == ["a"]


def test_now_is_the_evaluation_time():
    rules = rules_from("ruleset: t\nrules:\n  - {name: a, when: {occurred_at: {older_than: 1d}}, then: [drop]}\n")
    sig = signal(occurred_at="2027-01-14T07:00:00Z")
    assert matched(rules, sig, now=NOW) == ["a"]
    assert matched(rules, sig, now=NOW - 3600 * 2) == []
