"""The hooks' WSGI lane (router/api/lane.py) answers exactly as the Flask blueprint it stands in
front of: each request below goes once through the app (the lane) and once through the Flask app
alone, against an emptied brain each time, and the two answers must match — status, JSON body
(ids aside), content type, the security headers and the hook's own headers."""
from __future__ import annotations

import json
import logging

import pytest
from werkzeug.test import Client

from router.api.lane import HookLane
from router.app import create_app
from router.core import brain
from tests.conftest import HOOK_TOKEN, PAYLOADS

ALERTS = json.dumps([{"labels": {"alertname": "DiskFull", "instance": "web1"}},
                     {"labels": {"alertname": "DiskFull", "instance": "web2"}}]).encode()
JSON = {"Content-Type": "application/json"}
SLASH = (PAYLOADS / "slack/slash_command.sparky.form").read_bytes()
CHALLENGE = (PAYLOADS / "slack/events.url_verification.json").read_bytes()
FORM = {"Content-Type": "application/x-www-form-urlencoded"}

CASES = {   # name: (path, body, headers, query, config changes, expected status)
    "alertmanager v2": ("/api/v2/alerts", ALERTS, JSON, "", {}, 200),
    "generic 202": ("/hooks/generic", b'{"subject": "x", "kind": "alert", "status": "firing"}', JSON, "", {}, 202),
    "not JSON": ("/hooks/generic", b'{"subject": ', JSON, "", {}, 400),
    "no token": ("/hooks/nagios", b'{"host": "h"}', JSON, "", {"hook_tokens": (HOOK_TOKEN,)}, 401),
    "token in query": ("/hooks/generic", b'{"subject": "x", "kind": "alert"}', JSON, f"token={HOOK_TOKEN}",
                       {"hook_tokens": (HOOK_TOKEN,)}, 202),
    "too large": ("/hooks/generic", b'{"subject": "' + b"x" * 200 + b'"}', JSON, "", {"max_body": 100}, 413),
    "too many signals": ("/api/v2/alerts", ALERTS, JSON, "", {"max_signals": 1}, 413),
    "not JSON at all": ("/api/v2/alerts", b"hello", {"Content-Type": "text/plain"}, "", {}, 415),
    "slack challenge": ("/slack/events", CHALLENGE, JSON, "", {"slack_signing_secret": ""}, 200),
    "slash command": ("/slack/commands", SLASH, FORM, "", {"slack_signing_secret": ""}, 200),
}


def _answer(wsgi, path, body, headers, query):
    response = Client(wsgi).post(path, data=body, headers=headers, query_string=query)
    assert response.status.split(" ", 1)[1] not in ("", "UNKNOWN")   # a reason phrase, as werkzeug gives
    data = response.get_data()
    shown = json.loads(data) if response.mimetype == "application/json" else data
    if isinstance(shown, dict):   # fresh ids each time: compare their shape
        shown = {k: (len(v) if k in ("signals", "duplicate_of") else bool(v) if k == "dead_letter" else v)
                 for k, v in shown.items()}
    kept = {k: v for k, v in response.headers.items() if k not in ("Content-Length", "X-Sparky-Signals")}
    return response.status_code, shown, kept, bool(response.headers.get("X-Sparky-Signals"))


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_lane_answers_as_the_blueprint(config, redis, name):
    path, body, headers, query, changes, status = CASES[name]
    app = create_app(config.with_(**changes))
    assert isinstance(app.wsgi_app, HookLane)
    by_lane = _answer(app, path, body, headers, query)
    letters = brain.dead_letters(redis)
    redis.flushdb()
    by_flask = _answer(app.wsgi_app.flask, path, body, headers, query)
    assert by_lane[0] == status
    assert by_lane == by_flask
    assert by_lane[2]["Content-Security-Policy"] and by_lane[2]["X-Frame-Options"] == "DENY"
    # What is refused is kept, through either door.
    assert len(letters) == len(brain.dead_letters(redis)) == (1 if status in (400, 401, 413, 415) else 0)


def test_hook_posts_skip_flask_and_the_rest_reach_it(config, redis):
    app = create_app(config)
    seen = []
    app.before_request(lambda: seen.append(1))
    client = app.test_client()
    assert client.post("/api/v2/alerts", data=ALERTS, headers=JSON).status_code == 200
    assert seen == []
    # Not a POST, a trailing slash, another path: Flask's, as before (405 with Allow, 404, 200).
    answer = client.get("/hooks/generic")
    assert answer.status_code == 405 and "POST" in answer.headers["Allow"]
    assert client.post("/hooks/generic/", data=b"{}", headers=JSON).status_code == 404
    assert client.get("/healthz").status_code == 200
    assert len(seen) == 3


def test_an_unreachable_brain_is_a_503_through_the_lane(config, caplog):
    from tests.conftest import free_port

    app = create_app(config.with_(redis_url=f"redis://127.0.0.1:{free_port()}/0"))
    with caplog.at_level(logging.WARNING):
        answer = app.test_client().post("/api/v2/alerts", data=ALERTS, headers=JSON)
    assert answer.status_code == 503 and answer.headers["Retry-After"]
    assert "unreachable" in answer.get_json()["error"]
    assert "Traceback" not in answer.get_data(as_text=True)
