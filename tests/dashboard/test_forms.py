"""The dashboard's forms other than deploys: "You are", the chat box (and a message's buttons), the
"test this payload" form, the audit filters; each refusal shown on its page with its status."""
from __future__ import annotations

import re

from router.chat import rooms
from tests.api import conftest as api_fixtures
from tests.api.conftest import audit
from tests.conftest import payload
from tests.dashboard.conftest import named, page, post, text_of

# The chat commands' fixtures (tests/api/conftest.py): people, permissions, guardrails, routing to #ops.
rules_dir, env, config, slack_clock, alerts = (api_fixtures.rules_dir, api_fixtures.env, api_fixtures.config,
                                               api_fixtures.slack_clock, api_fixtures.alerts)


def test_you_are_is_remembered_from_the_pages_own_form(client, env):
    html = page(client.get("/rules"))
    token = re.search(r'name="csrf" value="([^"]+)"', html).group(1)
    answer = client.post("/you", data={"csrf": token, "you": "  alice  ", "next": "/rules"})
    assert (answer.status_code, answer.headers["Location"]) == (302, "/rules")
    assert 'name="you" value="alice"' in page(client.get("/"))
    # never a redirect to another site
    for elsewhere in ("//evil.example/x", "/\\evil.example", "https://evil.example/", "/\t/evil.example"):
        answer = client.post("/you", data={"csrf": token, "you": "alice", "next": elsewhere})
        assert answer.headers["Location"] == "/", elsewhere


def test_the_chat_box_says_a_command_and_sparky_answers_in_the_room(client, redis, env, run_jobs):
    named(client, "alice")
    answer = post(client, "/say", room="#ops", text="alerts", back="overview")
    assert (answer.status_code, answer.headers["Location"]) == (302, "/rooms/%23ops#say")
    assert "alice: alerts" in text_of(page(client.get("/rooms/%23ops")))
    run_jobs()
    shown = text_of(page(client.get("/rooms/%23ops")))
    assert "alice: alerts" in shown and "Nothing is firing" in shown
    # as chat: the command was audited for alice, in the room
    (entry,) = audit(redis, event="command", command="alerts")
    assert (entry["who"], entry["room"], entry["channel"]) == ("alice", "#ops", "room")


def test_a_refusal_by_permissions_is_sparkys_answer_in_the_room(client, redis, env, run_jobs):
    named(client, "dave")                    # staff, but not allowed to snooze
    post(client, "/say", room="#ops", text="snooze host=web-01 for 1h because testing", back="room")
    run_jobs()
    (reply,) = [m for m in rooms.messages(redis, "#ops") if m.get("author") == "sparky"]
    assert reply["outcome"] == "refused"
    # shown as mrkdwn: `code` is set in <code>, without the backticks
    assert reply["text"].replace("`", "") in text_of(page(client.get("/rooms/%23ops")))


def test_a_message_button_says_its_command(client, redis, env, run_jobs):
    body, headers = payload("nagios/slack_nagios_pl.service_problem.form")
    assert client.post("/hooks/nagios", data=body, headers=headers).status_code == 202
    run_jobs()
    html = page(client.get("/rooms/%23ops"))
    ack = re.search(r'name="text" value="(ack [^"]+)"><button title="says: [^"]+">Ack</button>', html)
    assert ack, html
    named(client, "bob")
    answer = post(client, "/say", room="#ops", text=ack.group(1), back="room")
    assert answer.status_code == 302
    run_jobs()
    assert "acked by bob" in text_of(page(client.get("/")))


def test_the_chat_box_refuses_without_a_name_or_text(client, redis, env):
    named(client)
    answer = post(client, "/say", room="#ops", text="help", back="room")
    assert answer.status_code == 400
    shown = text_of(page(answer))
    assert 'Say who you are first: fill in "You are" at the top of the page.' in shown
    assert 'value="help"' in answer.get_data(as_text=True)          # what was typed is kept
    named(client, "alice")
    assert "Type a command of 1 to 2000 characters" in text_of(page(post(client, "/say", room="#ops", text=" ")))
    assert not rooms.exists(redis, "#ops")


def test_forms_without_the_sessions_csrf_token_are_refused(client, redis, env):
    named(client, "alice")
    for form in ({}, {"csrf": "forged"}):
        answer = client.post("/say", data={"room": "#ops", "text": "help", **form})
        assert answer.status_code == 400
        assert "This form has expired or was not sent from this dashboard" in text_of(page(answer))
    assert not rooms.exists(redis, "#ops")
    with client.session_transaction() as session:
        session.pop("csrf")                                             # a cookie without a token
    assert client.post("/say", data={"csrf": "", "room": "#ops", "text": "help"}).status_code == 400
    assert post(client, "/you", you="mallory").status_code == 400


def test_test_this_payload_shows_the_decision(client, env):
    named(client)
    body, _ = payload("nagios/slack_nagios_pl.service_problem.form")
    answer = post(client, "/rules/test", source="nagios", payload=body.decode(), headers="", content_type="auto",
                  at="2026-11-20T09:00:00Z")
    assert answer.status_code == 200
    html = page(answer)
    decision = text_of(html[html.index('id="decision"'):html.index('id="in-force"')])
    assert "nagios alert firing" in decision
    assert "routing alerts-to-ops" in decision and '{"notify": {"room": "#ops"}}' in decision
    assert "chat-commands: kind: command" in decision                 # the first failed condition
    assert 'rows="10" required>LASTSERVICESTATEID=0&amp;SERVICESTATETYPE=HARD' in html     # the form keeps it


def test_test_this_payload_refusals(client, env):
    named(client)
    answer = post(client, "/rules/test", source="nagois", payload="x=1", content_type="form")
    assert answer.status_code == 400
    assert 'unknown source "nagois" (did you mean "nagios"?)' in text_of(page(answer))
    answer = post(client, "/rules/test", source="runscope", payload="{not json", content_type="json")
    assert answer.status_code == 400 and "runscope: invalid JSON" in text_of(page(answer))
    answer = post(client, "/rules/test", source="github", payload="{}", headers="no colon here")
    assert answer.status_code == 400 and 'Headers: "no colon here" is not a "Name: value" line.' in text_of(page(answer))


def test_rules_page_lists_the_rules_in_force(client, env):
    shown = text_of(page(client.get("/rules")))
    assert "routing routing.yml" in shown
    assert "alerts-to-ops line" in shown and 'kind: alert' in shown and '{"notify": {"room": "#ops"}}' in shown


def test_audit_page_filters_and_pages(client, redis, env, run_jobs):
    named(client, "alice")
    for text in ("help", "alerts", "help alerts"):
        post(client, "/say", room="#ops", text=text, back="room")
    run_jobs()
    html = page(client.get("/audit?command=help&limit=1"))
    shown = text_of(html)
    assert shown.count("command alice help alerts") == 1 and "command alice alerts" not in shown
    older = re.search(r'href="(/audit\?[^"]+)">Older', html).group(1).replace("&amp;", "&")
    assert "command=help" in older and "limit=1" in older
    shown = text_of(page(client.get(older)))
    assert "command alice help #ops" in shown and "help alerts" not in shown
    answer = client.get("/audit?before=yesterday")
    assert answer.status_code == 400 and "Bad filter" in text_of(page(answer))
