"""`during:` / `not_during:` conditions on named `time_intervals`, evaluated at a pinned `now`
(both evaluators: the engine and the plain-Python reference), and their `rules check` errors."""
from __future__ import annotations

import datetime as dt

import pytest

from tests.engine.helpers import matched, problems_of, rules_from, signal

ROUTING = """
ruleset: routing
time_intervals:
  - name: office-hours
    time_intervals:
      - times: [{start_time: "09:00", end_time: "17:00"}]
        weekdays: ["monday:friday"]
        location: Europe/Berlin
  - name: weekends
    time_intervals:
      - weekdays: [saturday, sunday]
        location: America/New_York
rules:
  - name: page-in-office-hours
    when: {kind: alert, severity: critical, during: office-hours}
    then: [{notify: {room: "#ops", mention: "@oncall"}}]
  - name: quiet-weekends
    when: {kind: alert, during: [weekends]}
    then: [{notify: {room: "#ops-weekend"}}]
  - name: outside
    when: {kind: alert, not_during: [office-hours, weekends]}
    then: [{notify: {room: "#ops-night"}}]
  - name: default
    when: {}
    then: [drop]
"""


def at(text: str) -> float:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.timezone.utc).timestamp()


@pytest.mark.parametrize("when, expected", [
    ("2026-03-27 08:30", ["page-in-office-hours"]),     # Fri 09:30 CET
    ("2026-03-30 15:30", ["outside"]),                  # Mon 17:30 CEST (16:30 at a fixed +01:00)
    ("2026-03-30 07:30", ["page-in-office-hours"]),     # Mon 09:30 CEST
    ("2026-03-28 12:00", ["quiet-weekends"]),           # Saturday
    ("2026-03-30 03:00", ["quiet-weekends"]),           # Mon 05:00 Berlin, but still Sunday 23:00 in New York
    ("2026-03-30 05:00", ["outside"]),                  # Monday everywhere, before office hours
])
def test_during_and_not_during_at_a_pinned_time(when, expected):
    rules = rules_from(ROUTING, "routing.yml")
    assert matched(rules, signal(severity="critical"), now=at(when)) == expected


def test_intervals_defined_in_one_file_are_usable_in_another():
    rules = rules_from(ROUTING, "routing.yml", **{"suppression.yml": """
        ruleset: suppression
        rules:
          - name: no-warnings-on-weekends
            when: {kind: alert, severity: warning, during: weekends}
            then: [{drop: {reason: weekend}}]
    """})
    assert matched(rules, signal(severity="warning"), "suppression", now=at("2026-03-28 12:00")) == [
        "no-warnings-on-weekends"]
    assert matched(rules, signal(severity="warning"), "suppression", now=at("2026-03-27 12:00")) == []


def test_inline_tests_pin_the_time_with_at(tmp_path):
    from router.engine.check import check_files

    text = ROUTING + """
tests:
  - signal: {source: nagios, kind: alert, status: firing, severity: critical}
    at: "2026-03-30T07:30:00Z"
    expect: [page-in-office-hours]
  - signal: {source: nagios, kind: alert, status: firing, severity: critical}
    at: "2026-03-30T15:30:00Z"
    expect: [outside]
"""
    report = check_files({"routing.yml": text.lstrip()}, "rules")
    assert report.ok, report


def test_bad_intervals_are_check_errors_at_their_line():
    found = problems_of("""
        ruleset: routing
        time_intervals:
          - name: office-hours
            time_intervals:
              - times: [{start_time: "17:00", end_time: "09:00"}]
                location: Europe/Berlin
          - name: nights
            time_intervals:
              - weekdays: [mon]
        rules:
          - {name: default, when: {}, then: [drop]}
    """, "routing.yml")
    assert found == [
        "rules/routing.yml:5: time_intervals: times: start_time 17:00 is not before end_time 09:00",
        'rules/routing.yml:9: time_intervals: weekdays: unknown name "mon" (e.g. sunday)',
    ]


def test_unknown_and_twice_defined_interval_names_are_check_errors():
    found = problems_of("""
        ruleset: routing
        time_intervals:
          - name: office-hours
            time_intervals:
              - times: [{start_time: "09:00", end_time: "17:00"}]
          - name: nights
          - name: nights
        rules:
          - name: a
            when: {kind: alert, during: ofice-hours}
            then: [{notify: {room: "#ops", mute_during: [weekend]}}]
          - name: b
            when: {not_during: []}
            then: [drop]
          - {name: default, when: {}, then: [drop]}
    """, "routing.yml")
    assert found == [
        'rules/routing.yml:7: time interval "nights" is defined twice',
        'rules/routing.yml:10: rule "a": unknown time interval "ofice-hours" (did you mean "office-hours"?)',
        'rules/routing.yml:11: rule "a": action "notify": mute_during: unknown time interval "weekend" '
        '(known: nights, office-hours)',
        'rules/routing.yml:13: rule "b": not_during needs the name of a time interval or a list of them, '
        'e.g. "not_during: office-hours"',
    ]
