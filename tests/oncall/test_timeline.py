"""An alert's timeline gathers the snoozes that held it (and only those) and chat resolutions."""
from __future__ import annotations

from router.core import brain
from tests.oncall.test_escalation import at, say
from tests.oncall.test_response import fire


def test_the_timeline_has_the_snooze_and_the_resolution(client, redis, run_jobs, config):
    fire(client, run_jobs, "web-01/HTTP")
    fire(client, run_jobs, "web-09/HTTP")
    assert say(client, run_jobs, redis, "alice", "snooze host=web-01 for 1h because deploying", at(1)) \
        .startswith("Snoozed ")
    assert say(client, run_jobs, redis, "alice", "resolve web-01/HTTP deployed", at(20)).startswith("alice resolved")
    events = client.get("/api/alerts/web-01/HTTP/timeline").json["events"]
    assert [(e["event"], e["who"]) for e in events] == [
        ("signal", "nagios"), ("decision", "sparky"), ("action.done", "sparky"),
        ("snooze.created", "alice"),
        ("alert.resolved", "alice"), ("signal", "alice"), ("decision", "sparky")]
    assert events[3]["what"] == "snooze s1: host=web-01 until 2026-10-19T09:01:00.000Z because deploying"
    assert events[4]["what"] == "resolve web-01/HTTP: deployed"
    other = client.get(f"/api/alerts/{brain.alert_id('web-09/HTTP')}/timeline").json["events"]
    assert "snooze.created" not in [e["event"] for e in other]      # its host is not web-01
