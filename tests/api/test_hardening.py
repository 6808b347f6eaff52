"""What every answer carries (security headers, `Allow` on a 405), and what every /api write
refuses (text that is not Unicode, bodies over SPARKY_MAX_BODY) — over real HTTP."""
from __future__ import annotations

import json

import pytest
import requests

from router.app import create_app
from tests.liveserver import serving


@pytest.fixture
def live(config, redis):
    with serving(create_app(config.with_(max_body=4096))) as url:
        yield url


def test_every_answer_carries_the_security_headers(live):
    for path in ("/", "/rules", "/api/signals", "/openapi.json", "/metrics", "/healthz", "/no/such/page"):
        answer = requests.get(live + path)
        assert answer.headers["X-Content-Type-Options"] == "nosniff", path
        assert answer.headers["X-Frame-Options"] == "DENY", path
        assert "frame-ancestors 'none'" in answer.headers["Content-Security-Policy"], path
    page = requests.get(live + "/").headers["Content-Security-Policy"]
    assert "script-src 'self'" in page and "'unsafe-inline'" not in page
    assert requests.get(live + "/api/signals").headers["Content-Security-Policy"].startswith("default-src 'none'")


@pytest.mark.parametrize("method, path, allowed", [
    ("PUT", "/api/snoozes", {"GET", "HEAD", "OPTIONS", "POST"}),
    ("DELETE", "/api/signals", {"GET", "HEAD", "OPTIONS"}),
    ("GET", "/hooks/generic", {"POST", "OPTIONS"}),
    ("POST", "/", {"GET", "HEAD", "OPTIONS"}),
    ("PATCH", "/api/v2/silences", {"GET", "HEAD", "OPTIONS", "POST"}),
])
def test_a_405_says_what_is_allowed(live, method, path, allowed):
    answer = requests.request(method, live + path)
    assert answer.status_code == 405
    assert {m.strip() for m in answer.headers["Allow"].split(",")} == allowed
    body = answer.json()
    assert body == "The method is not allowed for the requested URL." if path.startswith("/api/v2/") \
        else body["status"] == 405        # Alertmanager's API answers errors as a string


SURROGATE = '"x\\ud800y"'      # a JSON string whose escape decodes to a lone surrogate
WRITES = [
    ("POST", "/api/snoozes", '{"user": "alice", "alert": %s, "duration": "1h"}', "alert"),
    ("POST", "/api/snoozes", '{"user": "alice", "matchers": ["host=a", %s], "duration": "1h"}', "matchers[1]"),
    ("DELETE", "/api/snoozes/s1", '{"user": %s}', "user"),
    ("POST", "/api/deploys", '{"user": "alice", "app": "web", "env": %s}', "env"),
    ("POST", "/api/deploys/dp-abc234/approve", '{"user": "alice", "room": %s}', "room"),
    ("POST", "/api/rooms/%23ops/messages", '{"user": "alice", "text": %s}', "text"),
    ("POST", "/api/v2/silences", '{"matchers": [{"name": "a", "value": %s, "isRegex": false}], "createdBy": "a",'
                                 ' "comment": "c", "startsAt": "2030-01-01T00:00:00Z", "endsAt": "2030-01-02T00:00:00Z"}',
     "matchers[0].value"),
    ("POST", "/api/rules/test", '{"source": "generic", "payload": {"subject": %s}}', "payload.subject"),
]


@pytest.mark.parametrize("method, path, body, field", WRITES, ids=[f"{m} {p} {f}" for m, p, _, f in WRITES])
def test_a_lone_surrogate_in_a_json_write_is_400_naming_the_field(live, method, path, body, field):
    answer = requests.request(method, live + path, data=(body % SURROGATE).encode(),
                              headers={"Content-Type": "application/json"})
    assert answer.status_code == 400, answer.text
    error = answer.json() if path.startswith("/api/v2/") else answer.json()["error"]  # Alertmanager's: a string
    assert error == f"{field}: not valid Unicode (lone surrogate \\ud800); send UTF-8 text"


def test_a_valid_surrogate_pair_is_just_text(live):
    body = '{"user": "alice", "text": "deploy \\ud83d\\ude00"}'
    answer = requests.post(live + "/api/rooms/%23ops/messages", data=body.encode(),
                           headers={"Content-Type": "application/json"})
    assert answer.status_code == 202, answer.text


def test_an_api_write_over_the_body_bound_is_413(live):
    big = json.dumps({"user": "alice", "text": "x" * 5000})
    answer = requests.post(live + "/api/rooms/%23ops/messages", data=big, headers={"Content-Type": "application/json"})
    assert answer.status_code == 413 and "SPARKY_MAX_BODY (4096 bytes)" in answer.json()["error"]

    def chunks():    # no Content-Length: the bound holds while reading
        for _ in range(10):
            yield b"x" * 1000
    answer = requests.post(live + "/api/rooms/%23ops/messages", data=chunks(), headers={"Content-Type": "application/json"})
    assert answer.status_code == 413
