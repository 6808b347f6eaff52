"""`/`: what is firing (who acked, what snoozes), snoozes, builds and test runs, stale items, rooms,
rules and audit — read through the API's own readers, and escaped, since alert text comes from
outside. The rules are the chat commands' (tests/commands/conftest.py)."""
from __future__ import annotations

import json
import re
import time

from router.commands.execute import execute
from router.core import brain
from router.core.signal import Signal
from router.stale import inventory
from tests.api import conftest as api_fixtures
from tests.api.conftest import fire
from tests.commands.conftest import chat
from tests.conftest import payload
from tests.dashboard.conftest import page, text_of

# The chat commands' fixtures (tests/api/conftest.py): people, permissions, guardrails, routing to #ops.
rules_dir, env, config, slack_clock, alerts = (api_fixtures.rules_dir, api_fixtures.env, api_fixtures.config,
                                               api_fixtures.slack_clock, api_fixtures.alerts)


def test_firing_alerts_with_who_acked_and_snoozed_them(client, redis, config, alerts):
    assert execute(redis, config, chat("ack web-01/HTTP looking into it", user="bob")).outcome == "ok"
    made = client.post("/api/snoozes", json={"user": "alice", "matchers": ["host=db-01"], "duration": "2h",
                                             "reason": "disk cleanup"})
    assert made.status_code == 201, made.json
    fire(redis, "cache-01/Memory", status="resolved")

    shown = text_of(page(client.get("/")))
    assert "Firing 4" in shown
    assert "web-01/HTTP nagios CRITICAL web-01/HTTP: connection refused" in shown
    assert "acked by bob: looking into it" in shown
    assert re.search(r"snoozed by alice \(s1\) ends in (2h|1h59m): disk cleanup", shown)
    assert "cache-01/Memory" not in shown                     # resolved: no longer firing
    # the snooze itself, with the alert it silences now
    db01 = next(a for a in client.get("/api/alerts").json["alerts"] if a["fingerprint"] == "db-01/Disk Space")
    assert "s1 host=db-01 alice disk cleanup" in shown and f" {db01['id']}" in shown
    # audit: the ack and the snooze, newest first
    audit = shown[shown.index("Audit"):]
    assert "snooze.created alice" in audit and "alert.acked bob" in audit


def test_hostile_alert_text_is_escaped(client, redis, env):
    fire(redis, "web-09/<script>alert(1)</script>")
    signal = Signal(source="jenkins", kind="build", status="failed", severity="critical",
                    subject='<img src=x onerror="alert(2)">', fingerprint="job/evil",
                    url="javascript:alert(3)", labels={"job": "evil"})
    pipe = redis.pipeline()
    brain.store_signals(pipe, [signal.to_dict()], 3600)
    pipe.execute()

    html = page(client.get("/"))
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert(1)" not in html
    assert '<img src=x' not in html and "&lt;img src=x onerror=&#34;alert(2)&#34;&gt;" in html
    assert "javascript:" not in html                           # not made a link


def test_builds_and_test_runs(client, redis, env):
    for name in ("jenkins/notification.build143.finalized_failure.json", "runscope/webhook.test_run.pass.json"):
        body, headers = payload(name)
        assert client.post(f"/hooks/{name.split('/')[0]}", data=body, headers=headers).status_code == 202
    html = page(client.get("/"))
    builds = text_of(html[html.index('id="builds"'):html.index('id="stale"')])
    runscope = json.loads(payload("runscope/webhook.test_run.pass.json")[0])
    assert "jenkins web-api-build" in builds and "failed" in builds
    assert f"runscope {runscope['test_name']}" in builds and "passed" in builds
    assert 'href="https://jenkins.acme.example/job/web-api-build/143/"' in html


def test_stale_items(client, redis, env):
    now = time.time()
    item = inventory.Item(type="pull_request", fingerprint="acme/web#7", subject="acme/web#7", owner="alice",
                          title="<b>Old</b> branch", url="https://github.com/acme/web/pull/7",
                          last_activity=now - 20 * 86400, labels={"author": "alice"})
    inventory.stage(redis, "prs", "r1", [inventory.to_signal(item, "prs", "r1", now, 14 * 86400)])
    inventory.publish(redis, "prs", "r1", {"found": 1})

    html = page(client.get("/"))
    stale = text_of(html[html.index('id="stale"'):html.index('id="rooms"')])
    assert "Stale 1" in stale
    assert "acme/web#7 “<b>Old</b> branch” by alice: no activity for 20 days" in stale   # escaped in the page
    assert "&lt;b&gt;Old&lt;/b&gt;" in html and "alice 20" in stale


def test_rooms_rules_and_empty_sections(client, redis, env):
    shown = text_of(page(client.get("/")))
    for empty in ("Nothing is firing.", "No active snooze.", "No deploy waits for approval.",
                  "No build or test run yet", "Nothing stale", "No built-in room has messages yet."):
        assert empty in shown
    version = client.get("/api/rules").json["version"]
    assert f"Version {version} in force." in shown

    client.post("/api/rooms/%23ops/messages", json={"user": "alice", "text": "help"})
    html = page(client.get("/"))
    assert '<a href="/rooms/%23ops#say">#ops</a>' in html


def test_pages_are_not_the_api(client, env):
    paths = client.get("/openapi.json").json["paths"]
    assert "/api/alerts" in paths
    assert not [p for p in paths if p == "/" or p.startswith(("/rooms", "/rules", "/audit", "/deploys", "/dashboard"))]


def test_an_inhibited_alert_says_which_alert_inhibits_it(client, redis, rules_dir):
    from tests.alerts.test_inhibition import INHIBITING
    from tests.commands.conftest import use_rules, write_rules

    use_rules(redis, write_rules(rules_dir, suppression_yml=INHIBITING))
    fire(redis, "web-01/PING")
    fire(redis, "web-01/HTTP")
    shown = text_of(page(client.get("/")))
    assert f"inhibited by {brain.alert_id('web-01/PING')} web-01/PING" in shown
