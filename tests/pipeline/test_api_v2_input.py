"""What /api/v2/alerts takes: a JSON body whatever its Content-Type, and only times in startsAt/endsAt.

Alertmanager accepts `curl -d @alerts.json` (curl labels it a form) and its own example script
posts that way; a time that is not one (`"yesterday"`) is a 400 naming the field, as it is there.
"""
from __future__ import annotations

import json

import pytest

from router.app import create_app
from router.core import brain
from sources import alertmanager
from sources.common import Refused
from tests.conftest import HOOK_TOKEN

TOKEN = {"Authorization": f"Bearer {HOOK_TOKEN}"}
ALERT = {"labels": {"alertname": "DiskRunningFull", "instance": "example1"}}


@pytest.fixture
def client(config, redis):
    return create_app(config.with_(hook_tokens=(HOOK_TOKEN,))).test_client()


@pytest.mark.parametrize("content_type", [
    "application/x-www-form-urlencoded", "text/plain", "application/octet-stream", None,
])
def test_a_json_body_is_taken_whatever_the_content_type_says(client, redis, content_type):
    headers = {**TOKEN, **({"Content-Type": content_type} if content_type else {})}
    response = client.post("/api/v2/alerts", data=json.dumps([ALERT]), headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    (sid,) = response.get_json()["signals"]
    stored = client.get(f"/api/signals/{sid}").get_json()
    assert (stored["source"], stored["subject"]) == ("alertmanager", "DiskRunningFull example1")


@pytest.mark.parametrize("content_type, body, status, reason", [
    ("application/x-www-form-urlencoded", b"alertname=DiskFull",
     415, "unsupported content type 'application/x-www-form-urlencoded' and the body is not JSON; "
          "send a JSON list of alerts"),
    ("application/xml", b"<alerts/>",
     415, "unsupported content type 'application/xml' and the body is not JSON; send a JSON list of alerts"),
    ("application/x-www-form-urlencoded", b"[{]", 400, "invalid JSON: Expecting property name enclosed in double "
                                                       "quotes at line 1 column 3"),
    ("application/json", b"[{]", 400, "invalid JSON: Expecting property name enclosed in double quotes "
                                      "at line 1 column 3"),
])
def test_a_body_that_is_not_json_is_still_refused(client, redis, content_type, body, status, reason):
    response = client.post("/api/v2/alerts", data=body, headers={**TOKEN, "Content-Type": content_type})
    assert (response.status_code, response.get_json()["error"]) == (status, reason)
    assert brain.dead_letters(redis)[0]["body"] == body.decode()


@pytest.mark.parametrize("alerts, reason", [
    ([{**ALERT, "startsAt": "yesterday"}], '[0].startsAt: "yesterday" is not an RFC 3339 time'),
    ([ALERT, {**ALERT, "endsAt": "2026-13-01T00:00:00Z"}],
     '[1].endsAt: "2026-13-01T00:00:00Z" is not an RFC 3339 time'),
    ([{**ALERT, "startsAt": 1772546709}], "[0].startsAt: 1772546709 is not an RFC 3339 time"),
    ([{**ALERT, "startsAt": ["2026-03-03T14:05:09Z"]}], '[0].startsAt: ["2026-03-03T14:05:09Z"] is not an RFC 3339 time'),
])
def test_a_time_that_is_not_one_is_400_naming_the_field(client, redis, alerts, reason):
    response = client.post("/api/v2/alerts", data=json.dumps(alerts), headers={**TOKEN, "Content-Type": "application/json"})
    assert (response.status_code, response.get_json()["error"]) == (400, reason)
    assert redis.llen(brain.key_signal_index()) == 0


@pytest.mark.parametrize("times", [
    {"startsAt": "2026-03-03T14:05:09.123456789Z"},            # Prometheus writes nanoseconds
    {"startsAt": "2026-03-03T15:05:09+01:00", "endsAt": "2999-01-01T00:00:00Z"},
    {"startsAt": "0001-01-01T00:00:00Z", "endsAt": "0001-01-01T00:00:00Z"},  # Go's zero time: unset
    {"startsAt": "", "endsAt": None},                           # empty or null: unset
])
def test_real_times_and_unset_ones_pass(times):
    body = json.dumps([{**ALERT, **times}]).encode()
    assert len(alertmanager.parse_v2(alertmanager.load_v2(body, {"Content-Type": "application/json"}), {})) == 1


def test_load_v2_names_the_problem_before_parsing():
    with pytest.raises(Refused) as caught:
        alertmanager.load_v2(json.dumps([{**ALERT, "startsAt": "soon"}]).encode(), {})
    assert (caught.value.status, caught.value.reason) == (400, '[0].startsAt: "soon" is not an RFC 3339 time')
