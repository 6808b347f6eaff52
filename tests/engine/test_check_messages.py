"""Every kind of mistake `sparky rules check` reports, asserted verbatim (as Alertmanager's
config_test.go does): `file:line: rule "name": message (did you mean "x"?)`."""
from __future__ import annotations

import textwrap

import pytest

from router.engine.check import check_files
from tests.engine.helpers import problems_of

CASES = [
    ("unknown operator", """
        ruleset: routing
        rules:
          - name: main-build-broken
            when:
              kind: build
              labels.branch: {match: "^main$"}
            then: [drop]
          - {name: default, when: {}, then: [drop]}
     """, "routing.yml",
     ['rules/routing.yml:6: rule "main-build-broken": unknown operator "match" (did you mean "matches"?)']),
    ("unknown top-level key", """
        ruleset: t
        rulez: []
     """, "t.yml", ['rules/t.yml:2: unknown key "rulez" (did you mean "rules"?)']),
    ("unknown rule key", """
        ruleset: t
        rules:
          - name: a
            when: {kind: alert}
            then: [drop]
            contine: true
     """, "t.yml", ['rules/t.yml:6: rule "a": unknown key "contine" (did you mean "continue"?)']),
    ("unknown field", """
        ruleset: t
        rules:
          - {name: a, when: {sevrity: critical}, then: [drop]}
     """, "t.yml", ['rules/t.yml:3: rule "a": unknown field "sevrity" (did you mean "severity"?)']),
    ("label without labels.", """
        ruleset: t
        rules:
          - {name: a, when: {host: web-01}, then: [drop]}
     """, "t.yml", ['rules/t.yml:3: rule "a": unknown field "host" (did you mean "labels.host"?)']),
    ("duplicate rule name", """
        ruleset: t
        rules:
          - {name: a, when: {kind: alert}, then: [drop]}
          - {name: a, when: {kind: build}, then: [drop]}
     """, "t.yml", ['rules/t.yml:4: rule "a": duplicate rule name (first used on line 3)']),
    ("bad regex", """
        ruleset: t
        rules:
          - name: a
            when:
              labels.host: {matches: "web-(\\\\d+"}
            then: [drop]
     """, "t.yml",
     ['rules/t.yml:5: rule "a": bad regex "web-(\\d+": missing ), unterminated subpattern at position 4']),
    ("unknown action", """
        ruleset: t
        rules:
          - name: jenkins-red
            when: {kind: build}
            then:
              - page_oncall: {room: "#ops"}
     """, "t.yml",
     ['rules/t.yml:6: rule "jenkins-red": unknown action "page_oncall" '
      '(known: notify, drop, group, escalate, deploy, nag, webhook, set, pack)']),
    ("misspelt action", """
        ruleset: t
        rules:
          - {name: a, when: {kind: build}, then: [{notfy: {room: "#ops"}}]}
     """, "t.yml", ['rules/t.yml:3: rule "a": unknown action "notfy" (did you mean "notify"?)']),
    ("unknown action parameter", """
        ruleset: t
        rules:
          - {name: a, when: {kind: build}, then: [{notify: {rom: "#ops"}}]}
     """, "t.yml", ['rules/t.yml:3: rule "a": action "notify": unknown key "rom" (did you mean "room"?)']),
    ("missing action parameter", """
        ruleset: t
        rules:
          - {name: a, when: {kind: build}, then: [{escalate: {after: 5m}}]}
     """, "t.yml", ['rules/t.yml:3: rule "a": action "escalate": missing key "mention"']),
    ("bad duration in an action", """
        ruleset: t
        rules:
          - {name: a, when: {kind: build}, then: [{escalate: {after: soon, mention: "@x"}}]}
     """, "t.yml",
     ['rules/t.yml:3: rule "a": action "escalate": after: bad duration "soon" (use e.g. 30s, 10m, 2h, 14d)']),
    ("bad duration in a window", """
        ruleset: t
        rules:
          - name: a
            when:
              kind: build
              count: {at_least: 3, within: 10 minutes}
            then: [drop]
     """, "t.yml", ['rules/t.yml:6: rule "a": count: bad duration "10 minutes" (use e.g. 30s, 10m, 2h, 14d)']),
    ("bad duration in an age", """
        ruleset: t
        rules:
          - {name: a, when: {occurred_at: {older_than: 2 days}}, then: [drop]}
     """, "t.yml",
     ['rules/t.yml:3: rule "a": occurred_at: bad duration "2 days" (use e.g. 30s, 10m, 2h, 14d)']),
    ("unreachable after a catch-all", """
        ruleset: t
        rules:
          - {name: everything, when: {}, then: [drop]}
          - {name: late, when: {kind: alert}, then: [drop]}
     """, "t.yml",
     ['rules/t.yml:4: rule "late": unreachable: rule "everything" (line 3) above matches every signal '
      'and has no "continue: true"']),
    ("shadowed by a more general rule", """
        ruleset: t
        rules:
          - {name: alerts, when: {kind: alert}, then: [drop]}
          - {name: critical, when: {kind: alert, severity: critical}, then: [drop]}
     """, "t.yml",
     ['rules/t.yml:4: rule "critical": unreachable: rule "alerts" (line 3) above matches every signal '
      'this one does and has no "continue: true"']),
    ("missing default route", """
        ruleset: routing
        rules:
          - {name: alerts, when: {kind: alert}, then: [drop]}
     """, "routing.yml",
     ['rules/routing.yml:1: ruleset "routing": no default route: end it with a catch-all rule (when: {}) '
      'so that every signal goes somewhere']),
    ("number expected", """
        ruleset: t
        rules:
          - {name: a, when: {labels.build: {gt: ten}}, then: [drop]}
     """, "t.yml", ['rules/t.yml:3: rule "a": labels.build: operator "gt" needs a number or an ISO 8601 time, '
      'got "ten"']),
    ("brain field type", """
        ruleset: t
        rules:
          - {name: a, when: {snoozed: "yes"}, then: [drop]}
     """, "t.yml", ['rules/t.yml:3: rule "a": snoozed is true or false, got "yes"']),
    ("duplicate YAML key", """
        ruleset: t
        rules:
          - name: a
            when:
              kind: alert
              kind: build
            then: [drop]
     """, "t.yml", ['rules/t.yml:6: duplicate key "kind"']),
    ("invalid YAML", """
        ruleset: t
        rules:
          - name: a
            when: {kind: alert
     """, "t.yml", ["rules/t.yml:5: invalid YAML: did not find expected ',' or '}'"]),
    ("unknown field in a template", """
        ruleset: t
        rules:
          - {name: a, when: {kind: alert}, then: [{notify: {room: "#ops", mention: "{acter}"}}]}
     """, "t.yml",
     ['rules/t.yml:3: rule "a": action "notify": unknown field "{acter}" in template (did you mean "{actor}"?)']),
    ("contradiction", """
        ruleset: t
        rules:
          - {name: a, when: {kind: alert, all: [{kind: build}]}, then: [drop]}
     """, "t.yml", ['rules/t.yml:3: rule "a": can never match (its conditions contradict each other)']),
    ("missing then", """
        ruleset: t
        rules:
          - {name: a, when: {kind: alert}}
     """, "t.yml", ['rules/t.yml:3: rule "a": missing key "then"']),
    ("count inside any", """
        ruleset: t
        rules:
          - {name: a, when: {any: [{count: {at_least: 2, within: 1m}}]}, then: [drop]}
     """, "t.yml", ['rules/t.yml:3: rule "a": count is only allowed at the top of "when"']),
    ("two files, one ruleset name", """
        ruleset: t
        rules: []
     """, "t.yml", ['rules/u.yml:1: ruleset "t" is already defined in rules/t.yml']),
]


@pytest.mark.parametrize("what, text, name, expected", CASES, ids=[c[0] for c in CASES])
def test_check_reports(what, text, name, expected):
    more = {"u.yml": "ruleset: t\nrules: []\n"} if what == "two files, one ruleset name" else {}
    assert problems_of(text, name, **more) == expected


def test_data_file_problems():
    people = """
        people:
          alice: {slack: U1, slakc: x}
          bob: {tz: Mars/Base}
    """
    assert problems_of(people, "people.yml") == [
        'rules/people.yml:2: person "alice": unknown key "slakc" (did you mean "slack"?)',
        'rules/people.yml:3: person "bob": tz: unknown time zone "Mars/Base" (use e.g. Europe/Berlin, UTC)',
    ]
    references = problems_of("""
        people:
          alice: {slack: U1}
          carol: {slack: U3}
        groups:
          oncall: [alice, carl]
    """, "people.yml", **{"permissions.yml": """
        permissions:
          - command: snoze
            allow: [oncal]
    """})
    assert references == [
        'rules/people.yml:5: group "oncall": unknown person or group "carl" (did you mean "carol"?)',
        'rules/permissions.yml:2: permission 1: unknown command "snoze" (did you mean "snooze"?)',
        'rules/permissions.yml:3: permission 1: unknown person or group "oncal" (did you mean "oncall"?)',
    ]


def test_extra_keys_only_where_spec_allows_them():
    assert problems_of("ruleset: t\nscans: {}\nrules: []\n") == ['rules/t.yml:2: unknown key "scans"']
    assert problems_of("""
        ruleset: stale
        scans:
          prs: {schedule: "every day"}
        rules: []
    """, "stale.yml") == [
        'rules/stale.yml:3: scan "prs": schedule: bad cron schedule "every day" (five fields, e.g. "0 9 * * 1-5")']
    assert problems_of("""
        ruleset: suppression
        guardrails:
          snooze: {max_duration: {production: 24h}}
        rules: []
    """, "suppression.yml") == [
        'rules/suppression.yml:3: max_duration: needs a "default" entry (e.g. default: 7d)']


def test_failing_inline_tests_are_problems():
    files = {"t.yml": textwrap.dedent("""\
        ruleset: t
        rules:
          - {name: a, when: {kind: alert, labels.env: production}, then: [drop]}
          - {name: b, when: {kind: build}, then: [drop]}
        tests:
          - name: prod alert
            signal: {kind: alert, labels: {env: staging}}
            expect: [a]
          - signal: {kind: alert, sevrity: x}
            expect: [a]
          - signal: {kind: build}
            expect: [c]
          - signal: {kind: build}
            expect: [b]
    """)}
    assert [str(p) for p in check_files(files, "rules").problems] == [
        'rules/t.yml:6: test 1 ("prod alert"): expected ["a"], got []; rule "a" failed at labels.env: production',
        'rules/t.yml:9: test 2: signal: unknown key "sevrity" (did you mean "severity"?)',
        'rules/t.yml:11: test 3: expects unknown rule "c"',
    ]


def test_an_engine_that_hangs_is_reported_not_waited_for():
    files = {"t.yml": "ruleset: t\nrules:\n  - {name: a, when: {kind: alert}, then: [drop]}\n"}
    problems = [str(p) for p in check_files(files, "rules", timeout=0.01).problems]
    assert problems == ["rules: the rules engine did not finish building and testing this within 0.01s "
                        "(a ruleset shape it hangs on)"]


def test_validation_child_is_started_without_pipes(monkeypatch):
    """posix_spawn and files, no pipes: a fork in another thread (RQ's scheduler, in a worker)
    must not be able to hold a pipe end and hang the validation (router/engine/check.py)."""
    import subprocess

    spawned = []
    real = subprocess.Popen._posix_spawn

    def spy(self, *args, **kwargs):
        spawned.append(args)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(subprocess.Popen, "_posix_spawn", spy)
    routing = "ruleset: routing\nversion: 1\nrules:\n  - name: all\n    when: {}\n    then:\n      - drop: {}\n"
    assert check_files({"routing.yml": routing}, "rules").problems == []
    assert len(spawned) == 1
