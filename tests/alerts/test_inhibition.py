"""Inhibition end to end on a frozen clock, through the real hooks, rules, worker and API:
a host's PING alert fires → the host's HTTP alert is inhibited (recorded, not posted; the API and
`why` name PING) → another host's alert is not → PING resolves → HTTP, still firing, is posted."""
from __future__ import annotations

import datetime as dt
from urllib.parse import quote, urlencode

import pytest
from freezegun import freeze_time

from router.alerts import inhibitors
from router.chat import rooms
from router.core import brain
from router.core.matchers import MatcherError
from router.core.signal import flat
from tests.commands.conftest import SUPPRESSION, write_rules

T0 = dt.datetime(2026, 3, 4, 9, 0, tzinfo=dt.timezone.utc)
OPS = quote("#ops", safe="")

INHIBITING = SUPPRESSION.replace("rules:\n", """\
inhibit_rules:
  - source_matchers: ['service="PING"']
    target_matchers: ['service!="PING"']
    equal: [host]
rules:
  - name: inhibited
    when: {kind: alert, inhibited: true}
    then:
      - drop: {reason: inhibited}
""", 1)


@pytest.fixture
def rules_dir(tmp_path):
    return write_rules(tmp_path / "rules", suppression_yml=INHIBITING)


@pytest.fixture
def app(env):
    """The app reading the environment's rules dir (the `config` fixture's would be the shipped one)."""
    from router.app import create_app

    return create_app(env)


def nagios(client, run_jobs, at, host: str, service: str, kind: str = "PROBLEM", state: str = "CRITICAL") -> str:
    body = urlencode({"NOTIFICATIONTYPE": kind, "HOSTNAME": host, "SERVICEDESC": service, "SERVICESTATE": state,
                      "SERVICEOUTPUT": f"{state} - {service} on {host}", "TIMET": str(int(at.timestamp()))})
    with freeze_time(at):
        answer = client.post("/hooks/nagios", data=body.encode(),
                             headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert answer.status_code == 202, answer.json
        (sid,) = answer.json["signals"]
        run_jobs()
    return sid


def posted(redis) -> list[str]:
    return [m["text"] for m in rooms.messages(redis, "#ops", 200) if m.get("author") in (None, "", "sparky")]


def say(client, redis, run_jobs, at, text: str) -> str:
    with freeze_time(at):
        answer = client.post(f"/api/rooms/{OPS}/messages", json={"user": "alice", "text": text})
        assert answer.status_code == 202
        run_jobs()
        (sid,) = answer.json["signals"]
    return next(m for m in rooms.messages(redis, "#ops", 200) if m.get("reply_to") == sid)["text"]


def test_a_down_host_mutes_its_services_until_it_recovers(client, redis, env, run_jobs):
    nagios(client, run_jobs, T0, "web-01", "PING")
    assert any("PING on web-01" in t for t in posted(redis))

    http = nagios(client, run_jobs, T0 + dt.timedelta(minutes=1), "web-01", "HTTP")
    assert not any("HTTP on web-01" in t for t in posted(redis))
    decision = client.get(f"/api/signals/{http}/decision").json
    assert decision["suppressed_by"] == {"ruleset": "suppression", "rule": "inhibited"}

    nagios(client, run_jobs, T0 + dt.timedelta(minutes=2), "web-02", "HTTP")      # another host: not muted
    assert any("HTTP on web-02" in t for t in posted(redis))

    with freeze_time(T0 + dt.timedelta(minutes=3)):
        alerts = {a["fingerprint"]: a for a in client.get("/api/alerts").json["alerts"]}
        assert alerts["web-01/HTTP"]["inhibited"] is True
        assert alerts["web-01/HTTP"]["inhibited_by"] == [{"fingerprint": "web-01/PING",
                                                          "id": brain.alert_id("web-01/PING")}]
        assert alerts["web-02/HTTP"]["inhibited"] is False and alerts["web-01/PING"]["inhibited"] is False
        only = client.get("/api/alerts?inhibited=true").json["alerts"]
        assert [a["fingerprint"] for a in only] == ["web-01/HTTP"]
        v2 = {a["fingerprint"]: a for a in client.get("/api/v2/alerts").json}
        assert v2["web-01/HTTP"]["status"] == {"state": "suppressed", "silencedBy": [],
                                               "inhibitedBy": ["web-01/PING"]}
        assert v2["web-02/HTTP"]["status"]["inhibitedBy"] == []
        shown = client.get("/api/v2/alerts?inhibited=false").json
        assert "web-01/HTTP" not in {a["fingerprint"] for a in shown}

    why = say(client, redis, run_jobs, T0 + dt.timedelta(minutes=4), "why web-01/HTTP")
    assert f"Inhibited by `{brain.alert_id('web-01/PING')}` web-01/PING (firing)" in why

    before = len(posted(redis))
    nagios(client, run_jobs, T0 + dt.timedelta(minutes=10), "web-01", "PING", kind="RECOVERY", state="OK")
    new = posted(redis)[before:]
    (again,) = [t for t in new if "HTTP on web-01" in t]
    assert again.startswith("still firing now that web-01/PING resolved (it was inhibited)")
    with freeze_time(T0 + dt.timedelta(minutes=11)):
        alerts = {a["fingerprint"]: a for a in client.get("/api/alerts").json["alerts"]}
        assert alerts["web-01/HTTP"]["inhibited"] is False


def test_an_acked_target_stays_quiet_when_its_source_resolves(client, redis, env, run_jobs):
    nagios(client, run_jobs, T0, "web-01", "PING")
    nagios(client, run_jobs, T0 + dt.timedelta(minutes=1), "web-01", "HTTP")
    reply = say(client, redis, run_jobs, T0 + dt.timedelta(minutes=2), "ack web-01/HTTP")
    assert "web-01/HTTP" in reply
    before = len(posted(redis))
    nagios(client, run_jobs, T0 + dt.timedelta(minutes=5), "web-01", "PING", kind="RECOVERY", state="OK")
    assert not any("still firing" in t for t in posted(redis)[before:])


# -- the semantics, without a brain ---------------------------------------------------------------------

def view(fingerprint: str, field_severity: str = "warning", **labels) -> dict:
    return flat({"kind": "alert", "status": "firing", "fingerprint": fingerprint, "severity": field_severity,
                 "labels": labels}, 0)


CRITICAL_MUTES_WARNING = inhibitors.rules_of({"inhibit_rules": [
    {"source_matchers": ['severity="critical"'], "target_matchers": ['severity="warning"'],
     "equal": ["alertname"]}]})


def test_equal_labels_must_agree_and_missing_on_both_counts_as_equal():
    source = ("a", view("a", "critical", alertname="Disk", host="x"))
    assert inhibitors.inhibitors(CRITICAL_MUTES_WARNING, view("b", alertname="Disk"), [source]) == ["a"]
    assert inhibitors.inhibitors(CRITICAL_MUTES_WARNING, view("b", alertname="CPU"), [source]) == []
    unnamed = ("c", view("c", "critical"))
    assert inhibitors.inhibitors(CRITICAL_MUTES_WARNING, view("d"), [unnamed]) == ["c"]


def test_an_alert_never_inhibits_itself_nor_does_a_two_sided_match():
    both = inhibitors.rules_of({"inhibit_rules": [
        {"source_matchers": ['alertname="Flap"'], "target_matchers": ['alertname="Flap"'], "equal": ["host"]}]})
    one, two = view("one", alertname="Flap", host="h"), view("two", alertname="Flap", host="h")
    assert inhibitors.inhibitors(both, one, [("one", one)]) == []
    assert inhibitors.inhibitors(both, one, [("two", two)]) == []    # Alertmanager's excludeTwoSidedMatch


def test_labels_prefix_reads_the_label_and_a_bare_field_reads_the_signal():
    rules = inhibitors.rules_of({"inhibit_rules": [
        {"source_matchers": ['labels.severity="page"'], "target_matchers": ['severity=~"warn.*"'], "equal": []}]})
    source = ("s", view("s", "critical", severity="page"))
    assert inhibitors.inhibitors(rules, view("t"), [source]) == ["s"]
    assert inhibitors.inhibitors(rules, view("t", "info"), [source]) == []


@pytest.mark.parametrize("text, message", [
    ('alertname="x', "unescaped double quote"),
    ('job=~"(x"', "bad regex"),
    ("not a matcher", "bad matcher format"),
])
def test_bad_matchers_are_refused(text, message):
    with pytest.raises(MatcherError, match=message):
        inhibitors.parse_matcher(text)


def test_rules_check_names_a_bad_inhibit_rule_at_its_line():
    from tests.engine.helpers import problems_of

    found = problems_of("""
        ruleset: suppression
        inhibit_rules:
          - source_matchers: ['alertname="NodeDown"']
            target_matchers: ['alertname!="NodeDown', 'job=~"(x"']
            equal: [host]
          - source_matchers: []
            target_matchers: ['severity="warning"']
            equal: ["host name"]
            sorce_matchers: ['severity="critical"']
        rules:
          - {name: inhibited, when: {kind: alert, inhibited: true}, then: [drop]}
    """, "suppression.yml")
    assert found == [
        'rules/suppression.yml:4: target_matchers: bad matcher format: job=~"(x": bad regex: missing ), '
        'unterminated subpattern at position 0',
        'rules/suppression.yml:4: target_matchers: matcher value contains unescaped double quote: "NodeDown',
        'rules/suppression.yml:6: source_matchers: needs at least one matcher',
        'rules/suppression.yml:8: equal: a label name, e.g. host or alertname',
        'rules/suppression.yml:9: unknown key "sorce_matchers" (did you mean "source_matchers"?)',
    ]


def test_a_released_target_goes_only_to_rooms_its_routes_name():
    """A route whose rule posts nowhere (`drop`, `escalate` alone) names no room to post it in."""
    from router.alerts.routes import routes_of, tree
    from tests.engine.helpers import rules_from

    rules = rules_from("""
        ruleset: routing
        rules:
          - {name: quiet, when: {kind: alert, labels.service: HTTP}, then: [drop]}
          - {name: ops, when: {kind: alert}, then: [{notify: {room: "#ops"}}]}
          - {name: default, when: {}, then: [drop]}
    """, "routing.yml")
    routing = tree(rules)
    http = {"fingerprint": "web-01/HTTP", "status": "firing", "labels": {"host": "web-01", "service": "HTTP"}}
    disk = {**http, "fingerprint": "web-01/Disk", "labels": {"host": "web-01", "service": "Disk"}}
    assert [(r.receiver, r.room) for r in routes_of(routing, http, 0)] == [("drop", False)]
    assert [(r.receiver, r.room) for r in routes_of(routing, disk, 0)] == [("#ops", True)]
    assert routing.root.room is False
