"""The routing ruleset as an Alertmanager routing tree (router/alerts/routes.py): a file amtool's own
loader reads, whose routes are the rules that can route a firing alert, and which sends an alert
to the same receivers whether Sparky walks it or `amtool config routes test` does."""
from __future__ import annotations

import yaml

from router.alerts import routes
from router.engine.rules import load
from tests.amtool import AMTOOL, needs_amtool

ROUTING = """\
ruleset: routing
rules:
  - name: chat-commands
    when: {kind: command}
    then:
      - drop: {reason: chat}
  - name: prod-pages
    when: {kind: alert, severity: critical, status: [firing, flapping], labels.env: [production, prod]}
    then:
      - notify: {room: "#ops", mention: "@oncall"}
      - notify: {room: "#oncall"}
      - escalate: {after: 15m, mention: "@oncall"}
  - name: db-warnings
    when: {kind: alert, labels.service: {matches: "postgres|mysql"}, labels.team: {not: web}}
    then:
      - group: {by: [labels.host, labels.service], wait: 90s, room: "#db"}
  - name: busy-hosts
    when: {kind: alert, firing_count: {gte: 3}, labels.host: {exists: true}}
    then:
      - notify: {room: "#noisy"}
  - name: resolved
    when: {kind: alert, status: resolved}
    then:
      - notify: {room: "#ops"}
  - name: hooks
    when: {kind: alert, labels.hook: {exists: true}}
    then:
      - webhook: {url: "https://hooks.example/alert"}
    continue: true
  - name: everything-else
    when: {}
    then:
      - notify: {room: "#ops-noise"}
"""


def tree() -> routes.Tree:
    rules, problems = load({"routing.yml": ROUTING}, "rules")
    assert rules is not None, problems
    return routes.tree(rules)


def test_the_rules_that_can_route_a_firing_alert_are_the_routes():
    found = tree()
    assert found.root.receiver == "#ops-noise" and found.root.rule == "everything-else"
    assert [(r.rule, r.receiver, r.cont) for r in found.routes] == [
        ("prod-pages", "#ops", True), ("prod-pages", "#oncall", False),     # two rooms: two routes
        ("db-warnings", "#db", False), ("busy-hosts", "#noisy", False), ("hooks", "webhook", True),
        ("everything-else", "#ops-noise", False)]
    pages, _, db, busy, _, _ = found.routes
    assert [str(m) for m in pages.matchers] == ["severity=critical", "env=~production|prod"]
    assert [str(m) for m in db.matchers] == ["service=~postgres|mysql", "team!=web"]
    assert (db.group_by, db.group_wait) == (["host", "service"], "1m30s")
    assert [str(m) for m in busy.matchers] == ['host!=""'] and busy.notes == ["firing_count: {gte: 3}"]
    assert found.receivers == ["#ops-noise", "#ops", "#oncall", "#db", "#noisy", "webhook"]


def test_the_config_is_yaml_that_says_where_each_route_comes_from():
    text = routes.config_yaml(tree(), ["made by a test"])
    assert text.startswith("# made by a test\n")
    assert "  # rule db-warnings (routing.yml:13)\n" in text
    assert "    # and, not written as a matcher: firing_count: {gte: 3}\n" in text
    config = yaml.safe_load(text)
    assert config["route"]["receiver"] == "#ops-noise"
    assert config["route"]["routes"][0] == {"receiver": "#ops", "group_by": ["..."], "continue": True,
                                            "matchers": ['severity="critical"', 'env=~"production|prod"']}
    assert [r["name"] for r in config["receivers"]] == tree().receivers


def alert(**labels) -> dict:
    return {"fingerprint": "x", "source": "alertmanager", "severity": labels.pop("sev", "warning"),
            "status": "firing", "labels": labels}


LABEL_SETS = [
    dict(sev="critical", env="prod"),
    dict(sev="critical", env="staging", service="mysql"),
    dict(service="postgres", team="web"),
    dict(service="postgres", host="db-1"),
    dict(host="db-1", hook="yes"),
    dict(hook="yes"),
    dict(),
]


def test_sparky_sends_an_alert_where_the_tree_says():
    found = tree()
    assert [routes.receivers(routes.routes_of(found, alert(**labels), 0)) for labels in LABEL_SETS] == [
        ["#ops", "#oncall"], ["#db"], ["#ops-noise"], ["#db"], ["#noisy"], ["webhook", "#ops-noise"], ["#ops-noise"]]


@needs_amtool
def test_amtool_reads_the_file_and_routes_as_sparky_does(tmp_path):
    import subprocess

    config = tmp_path / "alertmanager.yml"
    config.write_text(routes.config_yaml(tree(), ["test"]))
    checked = subprocess.run([AMTOOL, "check-config", str(config)], capture_output=True, text=True,
                             env={"HOME": str(tmp_path)})
    assert checked.returncode == 0 and "SUCCESS" in checked.stdout, checked.stdout + checked.stderr
    found = tree()
    for labels in LABEL_SETS:
        given = alert(**labels)
        words = [f"{k}={v}" for k, v in given["labels"].items()] + [f"severity={given['severity']}"]
        answer = subprocess.run([AMTOOL, "config", "routes", "test", f"--config.file={config}", *words],
                                capture_output=True, text=True, env={"HOME": str(tmp_path)})
        assert answer.stdout.strip() == ",".join(routes.receivers(routes.routes_of(found, given, 0))), words
