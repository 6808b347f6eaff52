"""The real `amtool` 0.25 against Sparky, served by a real HTTP server on a free port: what a person
who points Alertmanager's CLI at Sparky sees (issue 14 §1).

The rules are tests/commands/conftest.py's (alice and bob on call; every firing alert to #ops). A
real RQ worker runs between commands where Sparky would run one (evaluating what was pushed,
retiring an ended snooze). amtool keeps the machine's clock: the times given to it come from this
process's clock, and the listings that amtool filters by its own clock ask `same_clock()`.
"""
from __future__ import annotations

import json
import shutil
import threading
import time

import pytest
from werkzeug.serving import make_server

from router.app import create_app
from router.core import brain
from router.core.times import from_epoch
from tests.amtool import Amtool, needs_amtool, same_clock

pytestmark = needs_amtool

DISK = {"alertname": "DiskFull", "severity": "critical", "instance": "db1"}
LOAD = {"alertname": "HighLoad", "severity": "warning", "instance": "web1"}
TOKEN = "s3cr3t-sparky-token"


def serve(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    return server, f"http://127.0.0.1:{server.server_port}"


@pytest.fixture
def live(app, env):
    server, url = serve(app)
    yield url
    server.shutdown()


@pytest.fixture
def amtool(live, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    return Amtool(live, home)


@pytest.fixture
def firing(client, run_jobs):
    """DiskFull (10 minutes) and HighLoad (2 minutes), pushed as Prometheus does and evaluated."""
    now = time.time()
    answer = client.post("/api/v2/alerts", json=[
        {"labels": DISK, "annotations": {"summary": "disk full on db1"}, "startsAt": from_epoch(now - 600),
         "generatorURL": "http://prometheus.example/graph"},
        {"labels": LOAD, "annotations": {"summary": "load high"}, "startsAt": from_epoch(now - 120)}])
    assert answer.status_code == 200
    run_jobs()
    return now


def shown(epoch: float) -> str:
    """A time as amtool prints it (UTC, as Sparky sends it)."""
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(epoch))


def ok(run):
    assert run.rc == 0 and run.err == "", run.err        # no version warning either
    return run


def test_alert_query_shows_what_is_firing_and_takes_matchers(amtool, firing):
    rows = ok(amtool("alert", "query")).lines()
    assert rows == [["Alertname", "Starts At", "Summary", "State"],
                    ["DiskFull", shown(firing - 600), "disk full on db1", "active"],
                    ["HighLoad", shown(firing - 120), "load high", "active"]]
    assert [r[0] for r in ok(amtool("alert", "query", "alertname=DiskFull")).lines()[1:]] == ["DiskFull"]
    assert [r[0] for r in ok(amtool("alert", "query", "HighLoad")).lines()[1:]] == ["HighLoad"]
    assert [r[0] for r in ok(amtool("alert", "query", 'severity=~"warn.*"', "instance!=db1")).lines()[1:]] == [
        "HighLoad"]
    extended = ok(amtool("-o", "extended", "alert", "query", "alertname=DiskFull")).lines()
    assert extended[1][0] == 'alertname="DiskFull" instance="db1" severity="critical"'
    assert extended[1][-2:] == ["http://prometheus.example/graph", "active"]


def test_a_silenced_alert_leaves_the_default_listing_and_shows_with_silenced(amtool, client, firing):
    made = client.post("/api/snoozes", json={"user": "bob", "matchers": ["alertname=HighLoad"], "duration": "1h"})
    assert made.status_code == 201
    assert [r[0] for r in ok(amtool("alert", "query")).lines()[1:]] == ["DiskFull"]
    assert ok(amtool("alert", "query", "--silenced")).lines()[1:] == [
        ["HighLoad", shown(firing - 120), "load high", "suppressed"]]


def test_alert_add_is_an_alert_sparky_evaluates(amtool, client, redis, run_jobs):
    ok(amtool("alert", "add", "TestAlert", "severity=critical", "instance=x", "--annotation=summary=Test summary"))
    run_jobs()
    (alert,) = client.get("/api/alerts").json["alerts"]
    assert (alert["labels"], alert["summary"], alert["source"]) == (
        {"alertname": "TestAlert", "severity": "critical", "instance": "x"}, "Test summary", "alertmanager")
    assert ok(amtool("alert", "query", "TestAlert")).lines()[1][2:] == ["Test summary", "active"]


def test_silence_add_is_a_snooze_as_the_author_and_query_lists_it(amtool, client, redis, firing):
    same_clock()
    now = time.time()
    made = ok(amtool("silence", "add", "alertname=DiskFull", "instance=~db.*", "--comment=disk maintenance",
                     "--author=alice", f"--start={from_epoch(now)}", f"--end={from_epoch(now + 7200)}"))
    assert made.out == "00000000-0000-4000-8000-000000000001\n"
    (snooze,) = brain.active_snoozes(redis, time.time())
    assert (snooze["created_by"], snooze["reason"], snooze["text"]) == (
        "alice", "disk maintenance", "alertname=DiskFull instance=~db.*")
    rows = ok(amtool("silence", "query")).lines()
    assert rows == [["ID", "Matchers", "Ends At", "Created By", "Comment"],
                    ["00000000-0000-4000-8000-000000000001", 'alertname="DiskFull" instance=~"db.*"',
                     shown(now + 7200), "alice", "disk maintenance"]]
    assert ok(amtool("silence", "query", "-q")).out == "00000000-0000-4000-8000-000000000001\n"
    assert ok(amtool("silence", "query", "alertname=DiskFull")).lines()[1][0].endswith("1")
    assert ok(amtool("silence", "query", "alertname=HighLoad")).lines() == [
        ["ID", "Matchers", "Ends At", "Created By", "Comment"]]
    # and the alert it silences is suppressed for amtool too
    assert [r[0] for r in ok(amtool("alert", "query")).lines()[1:]] == ["HighLoad"]


def test_a_refused_silence_prints_why(amtool, redis, firing):
    now = time.time()
    refused = amtool("silence", "add", "alertname=DiskFull", "--comment=x", "--author=mallory",
                     f"--start={from_epoch(now)}", f"--end={from_epoch(now + 600)}")
    assert refused.rc == 1
    assert refused.err == ("amtool: error: [POST /silences][400] postSilencesBadRequest  I don't know you "
                           "(mallory): ask an admin to add you to people.yml.\n\n")
    too_long = amtool("silence", "add", "alertname=DiskFull", "--comment=x", "--author=alice",
                      f"--start={from_epoch(now)}", f"--end={from_epoch(now + 30 * 86400)}")
    assert too_long.rc == 1 and "snoozes last at most 7d" in too_long.err
    assert brain.active_snoozes(redis, time.time()) == []


def test_silence_expire_ends_the_snooze_and_it_moves_to_expired(amtool, redis, firing, run_jobs):
    same_clock()
    now = time.time()
    silence_id = ok(amtool("silence", "add", "alertname=HighLoad", "--comment=load test", "--author=bob",
                           f"--start={from_epoch(now)}", f"--end={from_epoch(now + 3600)}")).out.strip()
    ok(amtool("silence", "expire", silence_id))
    assert brain.active_snoozes(redis, time.time()) == []
    run_jobs()                                    # the end job: history, and HighLoad posted again
    assert ok(amtool("silence", "query")).lines()[1:] == []
    (row,) = ok(amtool("silence", "query", "--expired")).lines()[1:]
    assert (row[0], row[3], row[4]) == (silence_id, "bob", "load test")
    assert ok(amtool("silence", "expire", silence_id)).out == ""          # again: still fine
    unknown = amtool("silence", "expire", "00000000-0000-4000-8000-000000000099")
    assert unknown.rc == 1 and "(status 404)" in unknown.err


def test_silence_import_makes_snoozes_of_exported_silences(amtool, redis, firing, tmp_path):
    same_clock()
    now = time.time()
    ends = from_epoch(now + 3600)
    exported = [  # one from another Alertmanager (its id is unknown here), one exported from Sparky before
        {"id": "c1001992-f6e9-415d-b28f-684b6c967adb", "matchers": [
            {"name": "alertname", "value": "DiskFull", "isRegex": False, "isEqual": True}],
         "startsAt": from_epoch(now), "endsAt": ends, "createdBy": "bob", "comment": "imported",
         "status": {"state": "active"}, "updatedAt": from_epoch(now)},
        {"id": "00000000-0000-4000-8000-000000000007", "matchers": [
            {"name": "instance", "value": "web.*", "isRegex": True, "isEqual": True}],
         "startsAt": from_epoch(now), "endsAt": ends, "createdBy": "alice", "comment": "imported too"}]
    source = tmp_path / "silences.json"
    source.write_text(json.dumps(exported))
    imported = ok(amtool("silence", "import", str(source)))
    assert sorted(imported.out.split()) == ["00000000-0000-4000-8000-000000000001",
                                            "00000000-0000-4000-8000-000000000002"]
    made = sorted((s["text"], s["created_by"], s["reason"]) for s in brain.active_snoozes(redis, time.time()))
    assert made == [("alertname=DiskFull", "bob", "imported"), ("instance=~web.*", "alice", "imported too")]
    # what `-o json silence query` prints imports again unchanged: the same ids, nothing new
    again = tmp_path / "again.json"
    again.write_text(ok(amtool("-o", "json", "silence", "query")).out)
    assert sorted(ok(amtool("silence", "import", str(again))).out.split()) == sorted(imported.out.split())
    assert len(brain.active_snoozes(redis, time.time())) == 2


def test_cluster_and_config_show_and_config_routes(amtool, redis):
    assert ok(amtool("cluster", "show")).out == "Cluster Status:  disabled\nNode Name:       \n"
    config = ok(amtool("config", "show")).out
    assert config.startswith("# Sparky 0.1.0 serves Alertmanager's API v2; rules version ")
    routes = ok(amtool("config", "routes")).out
    assert routes == ("Routing tree:\n.\n└── default-route  receiver: drop\n"
                      "    ├── default-route  receiver: #ops\n    └── default-route  receiver: drop\n\n")
    assert ok(amtool("config", "routes", "test", "alertname=DiskFull")).out == "#ops\n"


def test_config_shows_the_shipped_inhibit_rules_and_time_intervals_and_amtool_reads_them(amtool, redis, rules_dir):
    from router.core.config import DEFAULT_RULES_DIR
    from tests.commands.conftest import use_rules

    # the shipped rules as a whole: routing.yml names oncall.yml's policies, permissions.yml the packs
    shutil.copytree(DEFAULT_RULES_DIR, rules_dir, dirs_exist_ok=True)
    use_rules(redis, rules_dir)
    config = ok(amtool("config", "show")).out
    assert ('inhibit_rules:\n- source_matchers: ["alertname=\\"InstanceDown\\""]\n'
            '  target_matchers: ["alertname!=\\"InstanceDown\\""]\n  equal: ["instance"]\n') in config
    assert 'time_intervals:\n- {"name": "office-hours", "time_intervals": [{"location": "Europe/Berlin", ' in config
    routes = ok(amtool("config", "routes")).out            # amtool loads the whole file as Alertmanager does
    assert routes.startswith("Routing tree:\n.\n└── default-route  receiver: #ops-noise\n")
    assert ok(amtool("config", "routes", "test", "alertname=DiskFull", "severity=critical")).out == "#ops\n"


def test_the_admin_token_works_with_http_config_file(config, redis, env, tmp_path):
    server, url = serve(create_app(config.with_(admin_token=TOKEN)))
    try:
        home = tmp_path / "home"
        home.mkdir()
        without = Amtool(url, home)("silence", "query")
        assert without.rc == 1 and "(status 401)" in without.err
        with_token = Amtool(url, home, token=TOKEN)
        assert ok(with_token("silence", "query")).lines() == [["ID", "Matchers", "Ends At", "Created By", "Comment"]]
        assert ok(with_token("cluster", "show")).out.startswith("Cluster Status:  disabled")
    finally:
        server.shutdown()
