"""Snoozes written back to an Alertmanager as silences (router/snoozes/upstream.py, issue 14 §5):
against a real Alertmanager process, and against a fake one that refuses, or none at all, to show
that a failure there never touches the snooze in Sparky.

The rules are tests/commands/conftest.py's (alice and bob on call); snoozes are made over
`/api/snoozes` and ended with `DELETE`, and real RQ workers run the jobs.
"""
from __future__ import annotations

import json
import time
import urllib.request

import pytest

from router.app import create_app
from router.core import brain
from router.core.times import from_epoch
from router.snoozes import upstream
from sources.alertmanager import fingerprint
from tests.amtool import Alertmanager, needs_alertmanager
from tests.api.conftest import audit
from tests.conftest import free_port
from tests.fakehttp import JsonServer

DISK = {"alertname": "DiskFull", "severity": "critical", "instance": "db1"}
LOAD = {"alertname": "HighLoad", "severity": "warning", "instance": "web1"}


def listed(labels: dict) -> dict:
    """An alert as Alertmanager's `GET /api/v2/alerts` lists it."""
    now = time.time()
    return {"labels": labels, "annotations": {}, "startsAt": from_epoch(now - 60), "endsAt": from_epoch(now + 300),
            "updatedAt": from_epoch(now), "fingerprint": fingerprint(labels), "receivers": [{"name": "default"}],
            "status": {"state": "active", "silencedBy": [], "inhibitedBy": []}}


class FakeAlertmanager(JsonServer):
    """Lists `alerts`; answers a new silence with `status` (and an id when 200)."""

    def __init__(self, alerts: list[dict], status: int = 200):
        super().__init__()
        self.alerts, self.status = alerts, status

    def handle(self, method, path, query, body, headers):
        if method == "GET" and path == "/api/v2/alerts":
            return 200, {}, self.alerts
        if method == "POST" and path == "/api/v2/silences":
            if self.status != 200:
                return self.status, {}, "silence invalid: at least one matcher must not match the empty string"
            return 200, {}, {"silenceID": f"up-{self.count('POST', '/api/v2/silences')}"}
        if method == "DELETE":
            return 200, {}, None
        return 404, {}, "not found"


@pytest.fixture
def upstream_at(monkeypatch, config, env):
    """An app whose snoozes are written back to `url` (the worker reads ALERTMANAGER_URL too)."""
    def make(url: str):
        monkeypatch.setenv("ALERTMANAGER_URL", url)
        return create_app(config.with_(alertmanager_url=url)).test_client()
    return make


def snooze(client, **body):
    answer = client.post("/api/snoozes", json={"user": "alice", "duration": "1h", "reason": "disk swap", **body})
    assert answer.status_code == 201, answer.json
    return answer.json


def am(url: str, method: str = "GET", path: str = "/api/v2/silences", body: object = None) -> object:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url + path, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as answer:
        raw = answer.read()
    return json.loads(raw) if raw else None


@pytest.mark.slow
@needs_alertmanager
def test_a_snooze_is_a_silence_in_alertmanager_and_ending_it_expires_it(tmp_path, upstream_at, redis, run_jobs):
    alertmanager = Alertmanager(tmp_path)
    try:
        am(alertmanager.url, "POST", "/api/v2/alerts", [{"labels": DISK}, {"labels": LOAD}])
        client = upstream_at(alertmanager.url)

        made = snooze(client, matchers=["alertname=DiskFull"])
        run_jobs()
        (silence,) = am(alertmanager.url)
        assert silence["status"]["state"] == "active"
        assert silence["matchers"] == [{"name": "alertname", "value": "DiskFull", "isRegex": False, "isEqual": True}]
        assert (silence["createdBy"], silence["comment"]) == ("alice", "Sparky snooze s1: disk swap")
        assert silence["endsAt"] == made["ends_at"]                  # it ends when the snooze does
        (done,) = audit(redis, event="snooze.upstream")
        assert done["outcome"] == "ok" and silence["id"] in done["what"]
        # Alertmanager's UI and amtool now see DiskFull silenced
        silenced = {a["labels"]["alertname"]: a["status"]["silencedBy"] for a in am(alertmanager.url,
                                                                                 path="/api/v2/alerts")}
        assert silenced == {"DiskFull": [silence["id"]], "HighLoad": []}

        assert client.delete("/api/snoozes/s1", json={"user": "alice"}).status_code == 200
        run_jobs()
        assert [s["status"]["state"] for s in am(alertmanager.url)] == ["expired"]
        assert audit(redis, event="snooze.upstream")[-1]["what"] == f"snooze s1: expired in {alertmanager.url}: " \
                                                                     f"{silence['id']}"

        # a snooze by alert id (its fingerprint) becomes a silence on that alert's labels
        client.post("/api/v2/alerts", json=[{"labels": LOAD}])
        run_jobs()
        snooze(client, alert=fingerprint(LOAD))
        run_jobs()
        by_alert = [s for s in am(alertmanager.url) if s["status"]["state"] == "active"]
        assert [sorted((m["name"], m["value"]) for m in s["matchers"]) for s in by_alert] == [sorted(LOAD.items())]

        # a snooze of alerts that Alertmanager does not have writes nothing there
        snooze(client, matchers=["host=db-01"])
        run_jobs()
        assert len(am(alertmanager.url)) == 2
        assert "nothing to silence there" in audit(redis, event="snooze.upstream")[-1]["what"]
    finally:
        alertmanager.stop()


def test_a_refusal_there_is_dead_lettered_and_audited_and_the_snooze_stands(upstream_at, redis, run_jobs):
    fake = FakeAlertmanager([listed(DISK)], status=400).start()
    try:
        client = upstream_at(fake.url)
        snooze(client, matchers=["alertname=DiskFull"])
        run_jobs()
        assert fake.count("POST", "/api/v2/silences") == 1                     # a 4xx is not retried
        (letter,) = brain.dead_letters(redis)
        assert (letter["endpoint"], letter["status"]) == ("alertmanager:silence", 400)
        assert "silence invalid: at least one matcher must not match the empty string" in letter["reason"]
        (failed,) = audit(redis, event="snooze.upstream")
        assert failed["outcome"] == "failed" and "400" in failed["what"]
        assert [s["id"] for s in brain.active_snoozes(redis, time.time())] == ["s1"]
    finally:
        fake.stop()


def test_an_unreachable_alertmanager_is_retried_and_at_last_dead_lettered(upstream_at, config, redis, run_jobs):
    nowhere = f"http://127.0.0.1:{free_port()}"
    client = upstream_at(nowhere)
    snooze(client, matchers=["alertname=DiskFull"])
    run_jobs(allow_failures=True)
    (retrying,) = audit(redis, event="snooze.upstream")
    assert retrying["outcome"] == "retrying" and "cannot connect" in retrying["what"]
    assert brain.dead_letters(redis) == []                                   # not yet: RQ retries it
    # the last attempt (a job without retries left; outside RQ, as here) gives up
    with pytest.raises(Exception, match="cannot connect"):
        upstream.silence_with(redis, config.with_(alertmanager_url=nowhere), "s1")
    (letter,) = brain.dead_letters(redis)
    assert letter["endpoint"] == "alertmanager:silence" and json.loads(letter["body"])["snooze"] == "s1"
    assert [s["id"] for s in brain.active_snoozes(redis, time.time())] == ["s1"]


def test_a_retried_job_writes_no_silence_twice(upstream_at, config, redis, run_jobs):
    fake = FakeAlertmanager([listed(DISK), listed(LOAD)]).start()
    try:
        client = upstream_at(fake.url)
        snooze(client, matchers=["instance=~db1|web1"])
        run_jobs()
        upstream.silence_with(redis, config.with_(alertmanager_url=fake.url), "s1")    # once more
        assert fake.count("POST", "/api/v2/silences") == 1
        assert client.delete("/api/snoozes/s1", json={"user": "alice"}).status_code == 200
        run_jobs()
        assert [r["path"] for r in fake.made("DELETE", ".*")] == ["/api/v2/silence/up-1"]
        assert brain.upstream_silences(redis, "s1") == {}
    finally:
        fake.stop()


def test_without_alertmanager_url_nothing_is_written_back(client, redis, env, run_jobs):
    snooze(client, matchers=["host=db-01"])
    run_jobs()
    assert audit(redis, event="snooze.upstream") == []


def test_what_alertmanager_can_read_is_copied_and_the_rest_silences_each_alert():
    alerts = [listed(DISK), listed({**DISK, "instance": "db2"}), listed(LOAD)]
    same = {"id": "s1", "matchers": [{"name": "alertname", "op": "=", "value": "DiskFull"},
                                     {"name": "labels.severity", "op": "=~", "value": "crit.*"}]}
    assert upstream.wanted_silences(same, alerts, time.time()) == [[
        {"name": "alertname", "value": "DiskFull", "isRegex": False, "isEqual": True},
        {"name": "severity", "value": "crit.*", "isRegex": True, "isEqual": True}]]
    # Sparky's own fields (source, fingerprint) and Python-only regexes: one silence per alert
    for matchers in ([{"name": "source", "op": "=", "value": "alertmanager"},
                      {"name": "alertname", "op": "=", "value": "DiskFull"}],
                     [{"name": "instance", "op": "=~", "value": "db(?!x)."}]):
        found = upstream.wanted_silences({"id": "s2", "matchers": matchers}, alerts, time.time())
        assert [{m["name"]: m["value"] for m in s} for s in found] == [
            {**DISK, "instance": "db1"}, {**DISK, "instance": "db2"}]
    assert upstream.wanted_silences({"id": "s3", "matchers": [{"name": "host", "op": "=", "value": "x"}]},
                                    alerts, time.time()) == []
