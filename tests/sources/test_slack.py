"""Slack slash commands, Events API and block_actions → chat command signals; request signatures."""
from __future__ import annotations

import json

import pytest

from sources import slack
from sources.common import Refused
from tests.sources.expected import EXPECTED, PAYLOADS, VARIANTS, read, shape

CASES = {name: want for name, want in {**EXPECTED, **VARIANTS}.items() if name.startswith("slack/")}
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"  # Slack's documented example signing secret
SIGNED = sorted(f"slack/{p.name}" for p in PAYLOADS.glob("slack/*")
                if not p.name.endswith(".headers.json") and ".decoded." not in p.name)
JSON = {"Content-Type": "application/json"}


def run(name: str):
    raw, headers = read(name)
    return slack.parse(slack.load(raw, headers), headers)


def sent_at(headers: dict) -> float:
    return float(headers["X-Slack-Request-Timestamp"])


@pytest.mark.parametrize("name", sorted(CASES))
def test_payload_file(name):
    signals = run(name)
    assert [shape(s.to_dict(), want) for s, want in zip(signals, CASES[name])] == CASES[name]
    assert len(signals) == len(CASES[name])


# Signatures


def test_official_doc_vector_verifies_with_injected_clock():
    raw, headers = read("slack/signing_example.official_docs.form")
    documented = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
    assert headers["X-Slack-Signature"] == documented
    slack.verify(raw, headers, SECRET, now=1531420618 + 299)


@pytest.mark.parametrize("name", SIGNED)
def test_every_stored_request_verifies(name):
    raw, headers = read(name)
    slack.verify(raw, headers, SECRET, now=sent_at(headers))


@pytest.mark.parametrize("skew", [301, -301, 10**9])
def test_stale_timestamp_is_401(skew):
    raw, headers = read("slack/signing_example.official_docs.form")
    with pytest.raises(Refused) as caught:
        slack.verify(raw, headers, SECRET, now=sent_at(headers) + skew)
    assert caught.value.status == 401
    assert "stale timestamp" in caught.value.reason


def test_tampered_body_is_401():
    raw, headers = read("slack/slash_command.sparky.form")
    with pytest.raises(Refused) as caught:
        slack.verify(raw.replace(b"ack+INC-1042", b"deploy+prod"), headers, SECRET, now=sent_at(headers))
    assert (caught.value.status, caught.value.reason.split(":")[0]) == (401, "bad signature")


def test_wrong_secret_is_401():
    raw, headers = read("slack/events.app_mention.json")
    with pytest.raises(Refused) as caught:
        slack.verify(raw, headers, "another-secret", now=sent_at(headers))
    assert caught.value.status == 401


def test_timestamp_is_part_of_the_signature():
    raw, headers = read("slack/events.app_mention.json")
    headers["X-Slack-Request-Timestamp"] = str(int(sent_at(headers)) + 1)
    with pytest.raises(Refused) as caught:
        slack.verify(raw, headers, SECRET, now=sent_at(headers))
    assert "bad signature" in caught.value.reason


@pytest.mark.parametrize("drop, named", [
    ("X-Slack-Signature", "missing X-Slack-Signature"),
    ("X-Slack-Request-Timestamp", "missing X-Slack-Request-Timestamp"),
])
def test_missing_header_is_401(drop, named):
    raw, headers = read("slack/events.app_mention.json")
    now = sent_at(headers)
    headers.pop(drop)
    with pytest.raises(Refused) as caught:
        slack.verify(raw, headers, SECRET, now=now)
    assert (caught.value.status, caught.value.reason) == (401, named)


@pytest.mark.parametrize("timestamp, signature, body", [
    ("12a", "v0=00", b"x"),
    ("1531420618", "v0=é", b"x"),
    ("1531420618", "v0=00", b"\xff\xfe"),
])
def test_malformed_requests_are_401_not_errors(timestamp, signature, body):
    headers = {"X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": signature}
    with pytest.raises(Refused) as caught:
        slack.verify(body, headers, SECRET, now=1531420618)
    assert caught.value.status == 401


# Parsing


def test_url_verification_challenge_and_no_signal():
    raw, headers = read("slack/events.url_verification.json")
    payload = slack.load(raw, headers)
    assert slack.challenge(payload) == "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"
    assert slack.parse(payload, headers) == []


@pytest.mark.parametrize("payload", [{"type": "event_callback", "event": {}}, {"type": "url_verification"},
                                     {"challenge": "x"}, ["x"], None])
def test_challenge_only_for_url_verification(payload):
    assert slack.challenge(payload) is None


def test_app_mention_strips_leading_mention():
    (signal,) = run("slack/events.app_mention.json")
    assert signal.source == "chat"
    assert signal.text == "status web-api"
    assert signal.actor == "U05DEV00001"
    assert signal.dedup == "Ev0ACME00001"
    assert signal.occurred_at == "2026-03-03T14:06:12.004Z"


def test_mention_with_name_and_colon_is_stripped():
    (signal,) = run("slack/events.app_mention.colon.json")
    assert signal.text == "snooze host=web-01 for 1h because maintenance"


def test_dm_is_accepted_with_event_id():
    (signal,) = run("slack/events.message.dm.json")
    assert (signal.text, signal.labels["channel"]) == ("deploy web-api to staging", "dm")
    assert signal.dedup == "Ev0ACME00010"


@pytest.mark.parametrize("name", ["slack/events.message.bot.json", "slack/events.message.bot_id_only.json",
                                  "slack/events.message.changed.json", "slack/events.message.channel.json"])
def test_ignored_messages(name):
    assert run(name) == []


def test_own_message_without_bot_id_is_ignored():
    raw, headers = read("slack/events.message.dm.json")
    payload = json.loads(raw)
    payload["event"]["user"] = "U06SPARKY01"  # the bot user named in authorizations
    assert slack.parse(payload, headers) == []


def test_slash_command_fields():
    (signal,) = run("slack/slash_command.sparky.form")
    assert signal.text == "ack INC-1042 looking into 5xx on web-api"  # "+" decoded as space
    assert signal.actor == "dev-user-1"
    assert signal.labels["command"] == "/sparky"
    assert signal.dedup == ""


def test_empty_slash_command_still_reaches_sparky():
    (signal,) = run("slack/signing_example.official_docs.form")
    assert signal.text == ""


def test_block_actions_fields_and_decoded_copy():
    (signal,) = run("slack/interactive.block_actions.form")
    assert signal.text == "am:3a1f9c2be4d07765"
    assert signal.labels["message_ts"] == "1772546741.000900"
    assert signal.dedup == ""
    decoded = json.loads((PAYLOADS / "slack/interactive.block_actions.decoded.json").read_text())
    (again,) = slack.parse(decoded, JSON)
    assert (again.subject, again.labels, again.text) == (signal.subject, signal.labels, signal.text)


def test_block_actions_select_uses_selected_value():
    payload = {"type": "block_actions", "user": {"id": "U1"}, "channel": {"id": "C1"},
               "actions": [{"action_id": "pick_env", "type": "static_select",
                            "selected_option": {"value": "deploy web-api to staging"}}]}
    (signal,) = slack.parse(payload, JSON)
    assert signal.text == "deploy web-api to staging"
    assert signal.labels["action_id"] == "pick_env"


def test_other_interaction_types_are_ignored():
    assert slack.parse({"type": "view_submission", "user": {"id": "U1"}}, JSON) == []


def test_long_subject_is_cut():
    form = {"command": "/sparky", "channel_id": "C1", "user_id": "U1", "text": "why " + "x" * 200}
    (signal,) = slack.parse(form, {})
    assert len(signal.subject) == slack.SUBJECT_LIMIT
    assert signal.text == "why " + "x" * 200


@pytest.mark.parametrize("payload, reason", [
    ({"token": "x"}, "type: missing"),
    ({"type": "event_callback"}, "event: missing"),
    ({"type": "event_callback", "event": {"type": "app_mention", "channel": "C1"}}, "event.user: missing"),
    ({"type": "block_actions", "user": {"id": "U1"}}, "actions: missing"),
    ({"command": "/sparky", "user_id": "U1"}, "channel_id: missing"),
])
def test_invalid_payloads_are_400_naming_the_field(payload, reason):
    with pytest.raises(Refused) as caught:
        slack.parse(payload, JSON)
    assert (caught.value.status, caught.value.reason) == (400, reason)


def test_load_refuses_other_bodies():
    with pytest.raises(Refused) as caught:
        slack.load(b"a=b", {"Content-Type": "application/x-www-form-urlencoded"})
    assert caught.value.status == 400
    with pytest.raises(Refused) as caught:
        slack.load(b"<xml/>", {"Content-Type": "text/xml"})
    assert caught.value.status == 415
