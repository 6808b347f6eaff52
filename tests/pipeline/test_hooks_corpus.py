"""Every captured payload through its real endpoint, with every check on, into the real brain.

The expected signals come from tests/sources/expected.py (derived from SPEC §3 and the payloads);
here they are checked after the HTTP round trip: signature/token verified, stored, readable at
`/api/signals/<id>`.
"""
from __future__ import annotations

import pytest

from router.app import create_app
from router.core import brain
from tests.conftest import GITHUB_SECRET, HOOK_TOKEN, SLACK_SECRET
from tests.sources.expected import API_V2, EXPECTED, REFUSED, VARIANTS, read, shape

SLACK_PATHS = {"events": "/slack/events", "slash_command": "/slack/commands",
               "interactive": "/slack/interactions", "signing_example": "/slack/commands"}


def endpoint_for(name: str) -> str:
    source, file_name = name.split("/", 1)
    if source == "slack":
        return SLACK_PATHS[file_name.split(".", 1)[0]]
    return f"/hooks/{source}"


def checked_client(config, headers):
    """An app with every authenticity check on, its clock at the request's Slack timestamp."""
    stamp = float(headers.get("X-Slack-Request-Timestamp", 0))
    return create_app(config.with_(hook_tokens=(HOOK_TOKEN,), github_webhook_secret=GITHUB_SECRET,
                                   slack_signing_secret=SLACK_SECRET, clock=lambda: stamp + 30)).test_client()


def post(client, path, name):
    body, headers = read(name)
    if path.startswith("/hooks/") and path != "/hooks/github" or path == "/api/v2/alerts":
        headers = {**headers, "Authorization": f"Bearer {HOOK_TOKEN}"}
    return client.post(path, data=body, headers=headers)


def accepted_ids(response) -> list[str]:
    if response.mimetype == "application/json" and "signals" in (response.get_json() or {}):
        return response.get_json()["signals"]
    header = response.headers.get("X-Sparky-Signals", "")
    return header.split(",") if header else []


CASES = {**EXPECTED, **VARIANTS}


@pytest.mark.parametrize("name", sorted(CASES))
def test_payload_through_endpoint(config, redis, name):
    path = endpoint_for(name)
    client = checked_client(config, read(name)[1])
    response = post(client, path, name)
    expected_status = 200 if path.startswith("/slack/") else 202
    assert response.status_code == expected_status, response.get_data(as_text=True)
    ids = accepted_ids(response)
    stored = [client.get(f"/api/signals/{i}").get_json() for i in ids]
    assert [shape(s, like) for s, like in zip(stored, CASES[name])] == CASES[name]
    assert len(stored) == len(CASES[name])
    if not CASES[name]:
        assert redis.llen(brain.key_signal_index()) == 0


@pytest.mark.parametrize("name", sorted(API_V2))
def test_prometheus_push_api(config, redis, name):
    client = checked_client(config, {})
    response = post(client, "/api/v2/alerts", name)
    assert response.status_code == 200
    stored = [client.get(f"/api/signals/{i}").get_json() for i in accepted_ids(response)]
    assert [shape(s, like) for s, like in zip(stored, API_V2[name])] == API_V2[name]
    assert {s["source"] for s in stored} == {"alertmanager"}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_refused_payloads(config, redis, name):
    status, words = REFUSED[name]
    response = post(checked_client(config, {}), endpoint_for(name), name)
    assert response.status_code == status
    assert words in response.get_json()["error"]
    assert brain.dead_letters(redis)[0]["endpoint"] == endpoint_for(name)


def test_url_verification_answers_challenge(config, redis):
    name = "slack/events.url_verification.json"
    body, headers = read(name)
    response = checked_client(config, headers).post("/slack/events", data=body, headers=headers)
    assert response.status_code == 200
    import json

    assert response.get_json() == {"challenge": json.loads(body)["challenge"]}


def test_jenkins_completed_then_finalized_is_one_outcome(config, redis):
    client = checked_client(config, {})
    first = post(client, "/hooks/jenkins", "jenkins/notification.build142.completed_success.json")
    second = post(client, "/hooks/jenkins", "jenkins/notification.build142.finalized_success.json")
    assert first.get_json()["accepted"] == 1
    assert second.get_json()["duplicate"] is True
    assert second.get_json()["duplicate_of"] == first.get_json()["signals"]


def test_slack_retry_is_duplicate(config, redis):
    name = "slack/events.app_mention.json"
    body, headers = read(name)
    client = checked_client(config, headers)
    first = client.post("/slack/events", data=body, headers=headers)
    retry = client.post("/slack/events", data=body, headers={**headers, "X-Slack-Retry-Num": "1",
                                                                "X-Slack-Retry-Reason": "http_timeout"})
    assert retry.status_code == 200
    assert retry.get_json()["duplicate"] is True
    assert retry.get_json()["duplicate_of"] == first.get_json()["signals"]


def test_github_redelivery_is_duplicate(config, redis):
    client = checked_client(config, {})
    first = post(client, "/hooks/github", "github/pull_request.opened.json")
    again = post(client, "/hooks/github", "github/pull_request.opened.json")
    assert again.get_json()["duplicate"] is True and again.get_json()["accepted"] == 0
    assert redis.llen(brain.key_signal_index(source="github")) == len(first.get_json()["signals"])


@pytest.mark.parametrize("change, reason", [
    (lambda b, h: (b + b" ", h), "signature"),                                   # tampered body
    (lambda b, h: (b, {k: v for k, v in h.items() if k != "X-Hub-Signature-256"}), "missing"),
])
def test_github_bad_signature_is_401(config, redis, change, reason):
    body, headers = read("github/push.default_branch.json")
    body, headers = change(body, headers)
    response = checked_client(config, {}).post("/hooks/github", data=body, headers=headers)
    assert response.status_code == 401 and reason in response.get_json()["error"]
    assert brain.dead_letters(redis)[0]["headers"].get("X-Hub-Signature-256", "[redacted]") == "[redacted]"


def test_github_wrong_secret_is_401(config, redis):
    body, headers = read("github/push.default_branch.json")
    client = create_app(config.with_(github_webhook_secret="not the secret")).test_client()
    assert client.post("/hooks/github", data=body, headers=headers).status_code == 401


@pytest.mark.parametrize("skew, tamper, status", [
    (30, False, 200),        # fresh and intact
    (301, False, 401),       # older than five minutes
    (-301, False, 401),      # from the future
    (30, True, 401),         # body changed
])
def test_slack_signature_window(config, redis, skew, tamper, status):
    body, headers = read("slack/slash_command.sparky.form")
    stamp = float(headers["X-Slack-Request-Timestamp"])
    client = create_app(config.with_(slack_signing_secret=SLACK_SECRET, clock=lambda: stamp + skew)).test_client()
    response = client.post("/slack/commands", data=body + (b"x" if tamper else b""), headers=headers)
    assert response.status_code == status


def test_slack_missing_signature_is_401(config, redis):
    body, headers = read("slack/slash_command.sparky.form")
    headers = {k: v for k, v in headers.items() if k != "X-Slack-Signature"}
    response = checked_client(config, {}).post("/slack/commands", data=body, headers=headers)
    assert response.status_code == 401
