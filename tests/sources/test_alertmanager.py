"""Alertmanager webhooks and the /api/v2/alerts push API → alert signals."""
from __future__ import annotations

import datetime as dt
import json

import pytest

from router.core.times import parse_time
from sources import alertmanager
from sources.common import Refused
from tests.sources.expected import API_V2, EXPECTED, VARIANTS, read, shape

CASES = {name: want for name, want in {**EXPECTED, **VARIANTS}.items() if name.startswith("alertmanager/")}
JSON = {"Content-Type": "application/json"}


def webhook(name: str):
    raw, headers = read(name)
    return alertmanager.parse(alertmanager.load(raw, headers), headers)


def pushed(name: str):
    raw, headers = read(name)
    return alertmanager.parse_v2(alertmanager.load_v2(raw, headers), headers)


@pytest.mark.parametrize("name", sorted(CASES))
def test_webhook_file(name):
    signals = webhook(name)
    assert [shape(s.to_dict(), want) for s, want in zip(signals, CASES[name])] == CASES[name]
    assert len(signals) == len(CASES[name])


@pytest.mark.parametrize("name", sorted(API_V2))
def test_api_v2_file(name):
    signals = pushed(name)
    assert [shape(s.to_dict(), want) for s, want in zip(signals, API_V2[name])] == API_V2[name]
    assert len(signals) == len(API_V2[name])


def test_labels_pass_through_exactly():
    raw, _ = read("alertmanager/webhook.v4.firing.json")
    alerts = json.loads(raw)["alerts"]
    assert [s.labels for s in webhook("alertmanager/webhook.v4.firing.json")] == [a["labels"] for a in alerts]


def test_firing_fields():
    first = webhook("alertmanager/webhook.v4.firing.json")[0]
    assert first.source == "alertmanager"
    assert first.summary == "web-api is returning too many 5xx responses"
    assert first.text == "5xx ratio on web-01:8080 is 7.2% (> 5% for 5m)"  # Go's \u003e decoded
    assert first.url.endswith("%3E+0.05&g0.tab=1")  # Go's \u0026 decoded
    assert first.occurred_at == "2026-03-03T14:04:39.523Z"
    assert first.dedup == "3a1f9c2be4d07765:firing:2026-03-03T14:04:39.523Z"


def test_mixed_group_statuses_times_and_summaries():
    firing, resolved, unfingerprinted = webhook("alertmanager/webhook.v4.mixed.json")
    assert firing.summary == "/ is 97% full on web1.example"  # no summary annotation: description
    assert resolved.summary == "DiskFull node"  # no annotations: subject
    assert resolved.occurred_at == "2026-03-03T14:12:30.000Z"  # when it stopped
    assert resolved.dedup == "0b6c2a7f3d9e1c45:resolved:2026-03-03T13:50:00Z"
    assert unfingerprinted.summary == "disk almost full"


# FNV-1a 64 as Prometheus' model.LabelSet.Fingerprint: sorted names, name 0xff value 0xff.
def by_hand(pairs: list[tuple[str, str]]) -> str:
    h = 14695981039346656037
    for name, value in sorted(pairs):
        for byte in name.encode() + b"\xff" + value.encode() + b"\xff":
            h = ((h ^ byte) * 1099511628211) % 2**64
    return format(h, "016x")


def test_fingerprint_matches_prometheus_test_vectors():
    # prometheus/common model/signature_test.go (TestMetricToFingerprint)
    assert alertmanager.fingerprint({}) == format(14695981039346656037, "016x")
    assert alertmanager.fingerprint({"name": "garland, briggs", "fear": "love is not enough"}) == \
        format(5799056148416392346, "016x")


def test_fingerprint_by_hand_and_order_free():
    pairs = [("severity", "page"), ("alertname", "DiskFull"), ("instance", "web1.example")]
    assert alertmanager.fingerprint(dict(pairs)) == by_hand(pairs) == "542ede4b9d457926"
    assert alertmanager.fingerprint(dict(reversed(pairs))) == alertmanager.fingerprint(dict(pairs))


def test_fingerprint_separates_names_from_values():
    assert alertmanager.fingerprint({"a": "bc"}) != alertmanager.fingerprint({"ab": "c"})


def test_pushed_alert_and_relayed_alert_share_a_fingerprint():
    relayed = webhook("alertmanager/webhook.v4.mixed.json")[0]  # carries Alertmanager's real fingerprint
    direct = pushed("alertmanager/api_v2.alerts.json")[0]  # no fingerprint: computed
    assert relayed.labels == direct.labels
    assert relayed.fingerprint == direct.fingerprint


def test_webhook_alert_without_fingerprint_gets_computed_one():
    alert = {"status": "firing", "labels": {"alertname": "X", "job": "j"}}
    (signal,) = alertmanager.parse({"version": "4", "alerts": [alert]}, JSON)
    assert signal.fingerprint == by_hand([("alertname", "X"), ("job", "j")])


def test_v2_status_relative_to_receipt():
    soon = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=4)).isoformat()
    gone = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)).isoformat()
    alerts = [{"labels": {"alertname": "A"}, "endsAt": soon},
              {"labels": {"alertname": "A"}, "endsAt": gone},
              {"labels": {"alertname": "A"}, "endsAt": "0001-01-01T00:00:00Z"},
              {"labels": {"alertname": "A"}}]
    statuses = [s.status for s in alertmanager.parse_v2(alerts, JSON)]
    assert statuses == ["firing", "resolved", "firing", "firing"]


def test_v2_pushed_alert_fields():
    firing, resolved, bare = pushed("alertmanager/api_v2.alerts.json")
    assert firing.source == "alertmanager"
    assert firing.url == "http://prometheus-0.acme.example:9090/graph?g0.expr=disk_used"
    assert resolved.summary == "db1.example has been down for 5 minutes"
    assert resolved.occurred_at == "2026-03-03T13:30:00.000Z"
    assert parse_time(bare.occurred_at) == parse_time(bare.received_at)  # no startsAt: now


@pytest.mark.parametrize("label, severity", [
    ("critical", "critical"), ("page", "critical"), ("warning", "warning"), ("info", "info"),
    ("disaster", "warning"), (None, "warning"),
])
def test_severity_table(label, severity):
    labels = {"alertname": "A"} | ({"severity": label} if label else {})
    (signal,) = alertmanager.parse({"alerts": [{"status": "firing", "labels": labels}]}, JSON)
    assert signal.severity == severity


def test_subject_falls_back_to_job():
    labels = {"alertname": "TargetDown", "job": "node"}
    (signal,) = alertmanager.parse({"alerts": [{"labels": labels}]}, JSON)
    assert signal.subject == "TargetDown node"


def test_unknown_fields_are_ignored():
    body = {"alerts": [{"labels": {"alertname": "A"}, "status": "firing", "newField": {"x": 1}}],
            "notification_reason": "x", "routeLabels": {}}
    assert len(alertmanager.parse(body, JSON)) == 1


@pytest.mark.parametrize("body, reason", [
    ({"version": "4"}, "alerts: missing"),
    ({"alerts": {}}, "alerts: not a list"),
    ({"alerts": ["x"]}, "alerts[0]: not an object"),
    ({"alerts": [{"status": "firing"}]}, "alerts[0].labels: missing"),
    ({"alerts": [{"labels": {"alertname": 3}}]}, "alerts[0].labels.alertname: not a string"),
    ({"alerts": [{"labels": {"a": "b"}, "status": "exploded"}]}, "alerts[0].status: unknown 'exploded'"),
])
def test_invalid_webhooks_are_400_naming_the_field(body, reason):
    with pytest.raises(Refused) as caught:
        alertmanager.parse(body, JSON)
    assert (caught.value.status, caught.value.reason) == (400, reason)


def test_v2_body_must_be_a_list():
    with pytest.raises(Refused) as caught:
        alertmanager.load_v2(b'{"labels": {}}', JSON)
    assert caught.value.status == 400
    with pytest.raises(Refused) as caught:
        alertmanager.load_v2(b"alerts", {"Content-Type": "text/plain"})  # a JSON body is taken whatever the type
    assert caught.value.status == 415
