"""Slack's `ssl_check` to /slack/commands: answered 200 with no signal, signed or not.

Slack posts `ssl_check=1&token=...` to a slash command's URL to check its certificate and
expects 200. It carries no command, so it is answered without a signature check (as Bolt for
Python does); a body with `ssl_check=1` never yields a signal, so nothing can be smuggled in.
"""
from __future__ import annotations

import pytest

from router.app import create_app
from router.core import brain
from tests.conftest import SLACK_SECRET
from tests.sources.expected import read

NAME = "slack/slash_command.ssl_check.form"
UNSIGNED = {"Content-Type": "application/x-www-form-urlencoded"}


def client_at(config, stamp: float):
    return create_app(config.with_(slack_signing_secret=SLACK_SECRET, clock=lambda: stamp)).test_client()


def test_signed_ssl_check_is_200_without_a_signal(config, redis):
    body, headers = read(NAME)
    response = client_at(config, float(headers["X-Slack-Request-Timestamp"]) + 5).post(
        "/slack/commands", data=body, headers=headers)
    assert (response.status_code, response.get_data(), response.headers["X-Sparky-Signals"]) == (200, b"", "")
    assert redis.llen(brain.key_signal_index()) == 0
    assert brain.dead_letters(redis) == []


@pytest.mark.parametrize("body", [
    b"ssl_check=1&token=gIkuvaNzQIHg97ATvDxqgjtO",
    b"ssl_check=1",
    # a forged command riding on an unsigned ssl_check gives nothing
    b"ssl_check=1&command=%2Fsparky&text=deploy+web-api+production&channel_id=C1&user_id=U1",
])
def test_unsigned_ssl_check_is_200_without_a_signal(config, redis, body):
    response = client_at(config, 1772546850).post("/slack/commands", data=body, headers=UNSIGNED)
    assert (response.status_code, response.get_data(), response.headers["X-Sparky-Signals"]) == (200, b"", "")
    assert redis.llen(brain.key_signal_index()) == 0
    assert brain.dead_letters(redis) == []


@pytest.mark.parametrize("body", [b"ssl_check=0&command=%2Fsparky&text=help&channel_id=C1&user_id=U1",
                                  b"command=%2Fsparky&text=help&channel_id=C1&user_id=U1"])
def test_anything_else_unsigned_is_still_401(config, redis, body):
    response = client_at(config, 1772546850).post("/slack/commands", data=body, headers=UNSIGNED)
    assert response.status_code == 401
    assert redis.llen(brain.key_signal_index()) == 0
