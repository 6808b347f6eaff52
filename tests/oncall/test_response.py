"""MTTA and MTTR per route: samples taken as alert episodes resolve, on /metrics and
GET /api/reports/response, at a pinned clock."""
from __future__ import annotations

import datetime as dt

import time_machine

from router.core.signal import Signal
from tests.oncall.test_escalation import T0, at, say


def fire(client, run_jobs, fingerprint: str) -> None:
    with time_machine.travel(T0, tick=False):
        signal = Signal(source="nagios", kind="alert", status="firing", severity="critical", subject=fingerprint,
                        fingerprint=fingerprint, labels={"host": fingerprint.split("/")[0]},
                        summary=f"CRITICAL {fingerprint}")
        assert client.post("/hooks/generic", json=signal.to_dict()).status_code == 202
        run_jobs()


def test_mtta_and_mttr_per_route(client, redis, run_jobs, config):
    fire(client, run_jobs, "web-01/HTTP")
    fire(client, run_jobs, "web-02/HTTP")
    assert say(client, run_jobs, redis, "bob", "ack web-01/HTTP", at(5)).startswith("bob acked")
    assert say(client, run_jobs, redis, "alice", "resolve web-02/HTTP gone", at(10)).startswith("alice resolved")
    assert say(client, run_jobs, redis, "alice", "resolve web-01/HTTP fixed", at(30)).startswith("alice resolved")
    # the same resolution again (a re-delivered batch, a source repeating itself) counts once
    assert say(client, run_jobs, redis, "alice", "resolve web-01/HTTP fixed", at(31)).endswith("resolved already.")

    report = client.get("/api/reports/response?since=2026-10-19T00:00:00Z&until=2026-10-20T00:00:00Z").json
    assert report["routes"] == [{"route": "oncall/page", "alerts": 2, "acked": 1, "mtta_seconds": 300.0,
                                 "mttr_seconds": 1200.0}]
    with time_machine.travel(dt.datetime.fromtimestamp(at(60), dt.timezone.utc), tick=False):
        assert client.get("/api/reports/response?since=1h").json["count"] == 1
        assert client.get("/api/reports/response?since=10m").json["count"] == 0

    scraped = client.get("/metrics").get_data(as_text=True)
    assert 'sparky_alert_time_to_acknowledge_seconds_count{route="oncall/page"} 1.0' in scraped
    assert 'sparky_alert_time_to_acknowledge_seconds_sum{route="oncall/page"} 300.0' in scraped
    assert 'sparky_alert_time_to_resolve_seconds_count{route="oncall/page"} 2.0' in scraped
    assert 'sparky_alert_time_to_resolve_seconds_sum{route="oncall/page"} 2400.0' in scraped


def test_a_bad_period_is_a_400_naming_it(client, config):
    answer = client.get("/api/reports/response?since=last+week")
    assert answer.status_code == 400 and "since" in answer.json["error"]
    assert client.get("/api/reports/response?since=2026-10-20T00:00:00Z&until=2026-10-19T00:00:00Z").status_code == 400
