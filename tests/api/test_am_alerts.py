"""`GET /api/v2/alerts` and `/api/v2/alerts/groups`: Sparky's firing alerts as Alertmanager's API v2
shows them, filtered as Alertmanager 0.25 filters them, every answer valid against its spec.

The alerts come in as Prometheus sends them (`POST /api/v2/alerts`) and are evaluated by a real
RQ worker; the rules are tests/commands/conftest.py's (every firing alert to #ops).
"""
from __future__ import annotations

import time

import pytest

from router.app import create_app
from router.core.times import from_epoch
from sources.alertmanager import fingerprint
from tests.api.amspec import Spec

SPEC = Spec()
DISK = {"alertname": "DiskFull", "severity": "critical", "instance": "db1", "service": "database"}
LOAD = {"alertname": "HighLoad", "severity": "warning", "instance": "web1"}


def push(client, *alerts: dict):
    answer = client.post("/api/v2/alerts", json=list(alerts))
    assert answer.status_code == 200, answer.json


@pytest.fixture
def firing(client, env, run_jobs):
    """Two alerts Prometheus pushed ten and two minutes ago, evaluated."""
    now = time.time()
    push(client,
         {"labels": DISK, "annotations": {"summary": "disk full on db1", "description": "/var is at 99%"},
          "generatorURL": "http://prometheus.example/graph", "startsAt": from_epoch(now - 600)},
         {"labels": LOAD, "annotations": {"summary": "load high"}, "startsAt": from_epoch(now - 120)})
    run_jobs()
    return now


def get(client, path: str, status: int = 200):
    answer = client.get(path)
    assert answer.status_code == status, answer.get_data(as_text=True)
    return SPEC.check("GET", path, answer)


def test_firing_alerts_as_alertmanager_shows_them(client, firing):
    disk, load = sorted(get(client, "/api/v2/alerts"), key=lambda a: a["labels"]["alertname"])
    assert disk["labels"] == DISK and disk["fingerprint"] == fingerprint(DISK)      # Alertmanager's own
    assert disk["annotations"] == {"summary": "disk full on db1", "description": "/var is at 99%"}
    assert disk["generatorURL"] == "http://prometheus.example/graph"
    assert disk["startsAt"] == from_epoch(firing - 600) and disk["endsAt"] > from_epoch(firing)
    assert disk["receivers"] == [{"name": "#ops"}]
    assert disk["status"] == {"state": "active", "silencedBy": [], "inhibitedBy": []}
    assert load["annotations"] == {"summary": "load high"} and "generatorURL" not in load
    # sorted by fingerprint, as Alertmanager sorts them
    assert [a["fingerprint"] for a in get(client, "/api/v2/alerts")] == sorted([fingerprint(DISK), fingerprint(LOAD)])


def test_a_resolved_alert_is_not_listed(client, firing, run_jobs):
    push(client, {"labels": LOAD, "startsAt": from_epoch(firing - 120), "endsAt": from_epoch(time.time() - 1)})
    run_jobs()
    assert [a["labels"]["alertname"] for a in get(client, "/api/v2/alerts")] == ["DiskFull"]


def names(client, query: str) -> list[str]:
    return sorted(a["labels"]["alertname"] for a in get(client, "/api/v2/alerts?" + query))


def test_filter_matchers_name_labels(client, firing, alerts):
    assert names(client, "filter=alertname%3DDiskFull") == ["DiskFull"]
    assert names(client, "filter=alertname%3D%22DiskFull%22") == ["DiskFull"]            # Grafana quotes
    assert names(client, "filter=severity%3D~crit.%2A") == ["DiskFull"]                 # the label...
    assert names(client, "filter=instance%3D~.%2B&filter=severity!%3Dcritical") == ["HighLoad"]
    # ...not the signal's field: the Nagios alerts are critical, but have no `severity` label
    assert len(get(client, "/api/v2/alerts")) == 7
    assert len(get(client, "/api/v2/alerts?filter=host%3D~.%2B")) == 5


@pytest.mark.parametrize("query, message", [
    ("filter=%3D%3Dbad", "bad matcher format: ==bad"),
    ("filter=%7Balertname%3D%22DiskFull%22%7D", 'bad matcher format: {alertname="DiskFull"}'),
    ("active=maybe", "active: 'maybe' is not a boolean (true or false)"),
    ("receiver=%28", "receiver: bad regex"),
])
def test_a_bad_query_is_a_400_whose_body_is_a_string(client, firing, query, message):
    """amtool prints a 400's body only when it is a JSON string (an object fails to decode)."""
    answer = client.get("/api/v2/alerts?" + query)
    assert answer.status_code == 400
    assert SPEC.check("GET", "/api/v2/alerts", answer).startswith(message)


def test_a_snoozed_alert_is_suppressed_by_that_snooze_as_a_silence(client, firing):
    made = client.post("/api/snoozes", json={"user": "alice", "matchers": ["alertname=HighLoad"], "duration": "1h"})
    assert made.status_code == 201, made.json
    load, = [a for a in get(client, "/api/v2/alerts") if a["labels"]["alertname"] == "HighLoad"]
    assert load["status"] == {"state": "suppressed", "silencedBy": ["00000000-0000-4000-8000-000000000001"],
                              "inhibitedBy": []}
    # the flags include (true) or leave out (false) each kind, as Alertmanager's do; amtool's
    # default asks for the active ones only
    assert names(client, "active=true&silenced=false&inhibited=false&unprocessed=false") == ["DiskFull"]
    assert names(client, "active=false&silenced=true") == ["HighLoad"]
    assert names(client, "silenced=false") == ["DiskFull"]
    assert names(client, "") == ["DiskFull", "HighLoad"]


def test_receiver_is_a_regex_over_the_whole_name(client, firing):
    assert names(client, "receiver=%23o.%2A") == ["DiskFull", "HighLoad"]
    assert names(client, "receiver=ops") == []


def test_groups_per_route_and_its_group_labels(client, firing):
    groups = get(client, "/api/v2/alerts/groups")
    # `notify` sends each alert its own message: a group per alert (group_by: ['...'])
    assert [(g["receiver"]["name"], g["labels"]["alertname"], len(g["alerts"])) for g in groups] == [
        ("#ops", "DiskFull", 1), ("#ops", "HighLoad", 1)]
    assert groups[0]["labels"] == DISK
    filtered = get(client, "/api/v2/alerts/groups?filter=alertname%3DDiskFull")
    assert [g["alerts"][0]["labels"]["alertname"] for g in filtered] == ["DiskFull"]


def test_a_group_action_makes_one_group_of_its_alerts(client, redis, env, rules_dir, run_jobs):
    from tests.commands.conftest import use_rules, write_rules

    write_rules(rules_dir, routing_yml="""\
ruleset: routing
rules:
  - name: per-instance
    when: {kind: alert}
    then:
      - group: {by: [labels.instance], wait: 1m, room: "#ops"}
  - name: everything-else
    when: {}
    then:
      - drop: {reason: noise}
""")
    use_rules(redis, rules_dir)
    push(client, {"labels": DISK}, {"labels": {**DISK, "alertname": "DiskSlow"}}, {"labels": LOAD})
    run_jobs()
    groups = get(client, "/api/v2/alerts/groups")
    assert [(g["labels"], sorted(a["labels"]["alertname"] for a in g["alerts"])) for g in groups] == [
        ({"instance": "db1"}, ["DiskFull", "DiskSlow"]), ({"instance": "web1"}, ["HighLoad"])]


def test_reading_alerts_needs_the_admin_token_and_prometheus_still_pushes_without(config, env, redis):
    gated = create_app(config.with_(admin_token="s3cr3t")).test_client()
    assert gated.get("/api/v2/alerts").status_code == 401
    assert gated.get("/api/v2/alerts", headers={"Authorization": "Bearer s3cr3t"}).status_code == 200
    assert gated.post("/api/v2/alerts", json=[{"labels": LOAD}]).status_code == 200
    for path in ("/api/v2/silences", "/api/v2/status", "/api/v2/receivers", "/api/v2/alerts/groups"):
        assert gated.get(path).status_code == 401, path
    assert gated.post("/-/reload").status_code == 401
    assert gated.get("/-/healthy").status_code == 200
