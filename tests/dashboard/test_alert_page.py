"""`/alerts/<id>`: an alert's story (its signals, the rules' decisions, the room messages, in time
order), its source link and the rule that routed it; and times read at a glance: "for 12m" from
the request's clock, the absolute time in the reader's people.yml zone on hover."""
from __future__ import annotations

import json
import re

import time_machine

from router.core import brain
from tests.api import conftest as api_fixtures
from tests.conftest import payload
from tests.dashboard.conftest import named, page, text_of

rules_dir, env, config, slack_clock = (api_fixtures.rules_dir, api_fixtures.env, api_fixtures.config,
                                       api_fixtures.slack_clock)

# The Nagios payload says its check failed at 2026-03-03 14:05:09 UTC.
FIRED = "2026-03-03T14:05:30Z"
LATER = "2026-03-03T14:17:09Z"


def fire_through_the_pipeline(client, run_jobs) -> dict:
    body, headers = payload("nagios/slack_nagios_pl.service_problem.form")
    assert client.post("/hooks/nagios", data=body, headers=headers).status_code == 202
    run_jobs()
    (alert,) = client.get("/api/alerts").json["alerts"]
    return alert


def test_the_alert_page_tells_its_story_in_order(client, redis, env, run_jobs):
    alert = fire_through_the_pipeline(client, run_jobs)
    html = page(client.get(f"/alerts/{alert['id']}"))
    shown = text_of(html)
    assert f"{alert['id']} {alert['subject']}" in shown
    assert "Routed by routing/alerts-to-ops." in shown
    story = shown[shown.index("Story"):]
    # signal, then its decision, then the message it caused in #ops
    signal_at, decision_at, message_at = (story.index("signal firing"), story.index("decision (rules"),
                                          story.index("message in #ops"))
    assert signal_at < decision_at < message_at
    assert "routing/alerts-to-ops → {&#34;notify&#34;" in html or 'routing/alerts-to-ops → {"notify"' in story
    assert 'href="/rooms/%23ops#m-' in html
    # the fingerprint works as well as the short id; an unknown one is a 404 page, not a 500
    assert client.get(f"/alerts/{alert['fingerprint']}").status_code == 200
    assert client.get("/alerts/nothing-like-this").status_code == 404


def test_a_source_link_only_when_it_is_http(client, redis, env, run_jobs):
    alert = fire_through_the_pipeline(client, run_jobs)
    signal = brain.load_signal(redis, alert["signal"])
    for url, linked in (("https://nagios.example/cgi-bin/status.cgi?host=x", True), ("javascript:alert(1)", False)):
        signal["url"] = url
        redis.set(brain.key_signal(signal["id"]), json.dumps(signal))
        html = page(client.get(f"/alerts/{alert['id']}"))
        assert ("open in nagios" in html) is linked
        assert "javascript:" not in html


def test_firing_for_12m_with_the_time_in_the_readers_zone(client, redis, env, run_jobs):
    with time_machine.travel(FIRED, tick=True):
        alert = fire_through_the_pipeline(client, run_jobs)
    with time_machine.travel(LATER, tick=False):
        named(client, "alice")                                  # people.yml: tz Europe/Berlin
        html = page(client.get("/"))
        row = html[html.index(f'id="alert-{alert["id"]}"'):]
        assert re.search(r'<time datetime="2026-03-03T14:05:09\.\d{3}Z" title="2026-03-03 15:05:09 CET">for 12m</time>',
                         row), row[:1500]
        assert "Times in Europe/Berlin." in text_of(html)
        named(client, "bob")                                    # no tz: UTC
        html = page(client.get("/"))
        assert 'title="2026-03-03 14:05:09 UTC">for 12m</time>' in html


def test_severity_is_a_word_and_an_icon_not_only_a_colour(client, redis, env, run_jobs):
    alert = fire_through_the_pipeline(client, run_jobs)
    html = page(client.get("/"))
    row = html[html.index(f'id="alert-{alert["id"]}"'):]
    assert re.search(r'<span class="badge sev sev-critical"><span aria-hidden="true">✖</span> critical</span>', row)


def test_a_room_message_names_the_alert_it_is_about(client, redis, env, run_jobs):
    alert = fire_through_the_pipeline(client, run_jobs)
    html = page(client.get("/rooms/%23ops"))
    assert f'<a class="about" href="/alerts/{alert["id"]}">web-01/HTTP</a>' in html
