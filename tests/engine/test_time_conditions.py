"""`gt`/`gte`/`lt`/`lte` with a time: instants compared, whatever the offsets; mistakes are file:line.

A user comparing `occurred_at` with "2026-03-03T14:07:00Z" expects it to work (it was refused with
"needs a number"). `matched` runs the real engine and checks the plain-Python reference agrees.
"""
from __future__ import annotations

import pytest

from tests.engine.helpers import matched, problems_of, rules_from, signal


def ruleset(when: str) -> str:
    return f"ruleset: t\nrules:\n  - {{name: a, when: {when}, then: [drop]}}\n"


def matches(when: str, **fields) -> bool:
    return matched(rules_from(ruleset(when)), signal(**fields)) == ["a"]


@pytest.mark.parametrize("when, occurred_at, expected", [
    ('{occurred_at: {gte: "2026-03-03T14:07:00Z"}}', "2026-03-03T14:07:00.000Z", True),
    ('{occurred_at: {gte: "2026-03-03T14:07:00Z"}}', "2026-03-03T14:06:59.999Z", False),
    ('{occurred_at: {gt: "2026-03-03T14:07:00Z"}}', "2026-03-03T14:07:00.000Z", False),
    ('{occurred_at: {gt: "2026-03-03T14:07:00Z"}}', "2026-03-03T14:07:00.001Z", True),
    ('{occurred_at: {lt: "2026-03-03T14:07:00Z"}}', "2026-03-03T14:06:59.999Z", True),
    ('{occurred_at: {lte: "2026-03-03T14:07:00Z"}}', "2026-03-03T14:07:00.000Z", True),
    ('{occurred_at: {lte: "2026-03-03T14:07:00Z"}}', "2026-03-03T14:07:01.000Z", False),
    # any offset: 15:07+01:00 and 09:07-05:00 are the instant 14:07Z
    ('{occurred_at: {gte: "2026-03-03T15:07:00+01:00"}}', "2026-03-03T14:07:00.000Z", True),
    ('{occurred_at: {gte: "2026-03-03T15:07:00+01:00"}}', "2026-03-03T14:06:59.000Z", False),
    ('{occurred_at: {lt: "2026-03-03T09:07:00-05:00"}}', "2026-03-03T14:06:59.000Z", True),
    ('{occurred_at: {lt: "2026-03-03T09:07:00-05:00"}}', "2026-03-03T14:07:00.000Z", False),
    # the field's own offset counts too
    ('{occurred_at: {gte: "2026-03-03T14:07:00Z"}}', "2026-03-03T16:06:00+02:00", False),
    ('{occurred_at: {gte: "2026-03-03T14:07:00Z"}}', "2026-03-03T16:07:00+02:00", True),
    # YAML reads an unquoted time as a timestamp: the same meaning
    ("{occurred_at: {gte: 2026-03-03T14:07:00Z}}", "2026-03-03T14:07:00.000Z", True),
    ("{occurred_at: {gte: 2026-03-03T14:07:00Z}}", "2026-03-03T14:06:59.000Z", False),
    ("{occurred_at: {lt: 2026-03-04}}", "2026-03-03T23:59:59.000Z", True),   # a date: its midnight, UTC
    ("{occurred_at: {lt: 2026-03-04}}", "2026-03-04T00:00:00.000Z", False),
    ('{occurred_at: {lt: "2026-03-03 14:07"}}', "2026-03-03T14:06:00.000Z", True),   # no offset: UTC
    ('{occurred_at: {lt: "2026-03-03 14:07"}}', "2026-03-03T14:07:00.000Z", False),
    # a window: both bounds
    ('{occurred_at: {gte: "2026-03-03T14:00:00Z", lt: "2026-03-03T15:00:00Z"}}', "2026-03-03T14:30:00.000Z", True),
    ('{occurred_at: {gte: "2026-03-03T14:00:00Z", lt: "2026-03-03T15:00:00Z"}}', "2026-03-03T15:00:00.000Z", False),
    # a time that cannot be read never compares
    ('{occurred_at: {lt: "2999-01-01T00:00:00Z"}}', "not a time", False),
])
def test_time_comparisons_compare_instants(when, occurred_at, expected):
    assert matches(when, occurred_at=occurred_at) is expected


def test_received_at_and_time_labels():
    assert matches('{received_at: {lt: "2026-03-03T14:07:00Z"}}', received_at="2026-03-03T14:00:00.000Z")
    assert not matches('{received_at: {lt: "2026-03-03T14:07:00Z"}}', received_at="2026-03-03T14:08:00.000Z")
    deadline = '{labels.deadline: {lt: "2026-03-04T00:00:00+00:00"}}'
    assert matches(deadline, labels={"deadline": "2026-03-03T23:00:00-00:30"})
    assert not matches(deadline, labels={"deadline": "2026-03-03T23:00:00-01:00"})
    assert not matches(deadline, labels={"deadline": "tomorrow"})
    assert not matches(deadline, labels={})


def test_numbers_on_labels_still_compare_as_numbers():
    assert matches("{labels.n: {gt: 5}}", labels={"n": "10"})
    assert not matches("{labels.n: {gt: 5}}", labels={"n": "2026-03-03T14:07:00Z"})
    both = rules_from("""
        ruleset: t
        rules:
          - {name: recent-big, when: {labels.n: {gt: 5}, labels.at: {gte: "2026-03-03T00:00:00Z"}}, then: [drop]}
    """)
    assert matched(both, signal(labels={"n": "6", "at": "2026-03-03T01:00:00Z"})) == ["recent-big"]
    assert matched(both, signal(labels={"n": "6", "at": "2026-03-02T23:00:00Z"})) == []


@pytest.mark.parametrize("when, message", [
    ('{occurred_at: {gte: "yesterday"}}',
     'occurred_at: operator "gte" needs an ISO 8601 time such as "2026-03-03T14:07:00Z", got "yesterday"'),
    ('{occurred_at: {gte: "2026-02-30T00:00:00Z"}}',
     'occurred_at: operator "gte" needs an ISO 8601 time such as "2026-03-03T14:07:00Z", '
     'got "2026-02-30T00:00:00Z"'),
    ("{received_at: {lt: 1772546820}}",
     'received_at: operator "lt" needs an ISO 8601 time such as "2026-03-03T14:07:00Z", got 1772546820'),
    ("{labels.n: {gt: ten}}", 'labels.n: operator "gt" needs a number or an ISO 8601 time, got "ten"'),
    ('{labels.n: {gt: "20260303"}}', 'labels.n: operator "gt" needs a number or an ISO 8601 time, got "20260303"'),
    ('{subject: {gt: "2026-03-03T14:07:00Z"}}',
     'subject: operator "gt" needs a number, got "2026-03-03T14:07:00Z" '
     '(times compare only on occurred_at, received_at and labels)'),
    ('{repeat: {gte: "2026-03-03T14:07:00Z"}}',
     'repeat: operator "gte" needs a number, got "2026-03-03T14:07:00Z" '
     '(times compare only on occurred_at, received_at and labels)'),
])
def test_a_value_that_is_neither_number_nor_time_is_a_file_line_error(when, message):
    assert problems_of(ruleset(when)) == [f'rules/t.yml:3: rule "a": {message}']


def test_error_names_the_line_of_the_operator():
    text = """
        ruleset: t
        rules:
          - name: since-the-deploy
            when:
              kind: alert
              occurred_at:
                gte: "2026-03-03T14:07:00Z"
                lt: "the day after"
            then: [drop]
    """
    assert problems_of(text) == ['rules/t.yml:8: rule "since-the-deploy": occurred_at: operator "lt" needs an '
                                 'ISO 8601 time such as "2026-03-03T14:07:00Z", got "the day after"']
