"""Random bytes, JSON and forms at every endpoint: never a 5xx, always JSON, refusals dead-lettered."""
from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from router.assembly import build
from router.core import brain
from router.pipeline.hooks import endpoints

PATHS = sorted(endpoints(build()))
CONTENT_TYPES = ["application/json", "application/x-www-form-urlencoded", "text/plain", "",
                 "application/json; charset=utf-8", "multipart/form-data"]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=6),
    max_leaves=20,
)
forms = st.dictionaries(st.sampled_from(["payload", "HOSTNAME", "NOTIFICATIONTYPE", "SERVICESTATE", "command",
                                         "text", "NAGIOS_HOSTNAME", "host_name"]) | st.text(max_size=10),
                        st.text(max_size=30), max_size=6)

bodies = st.one_of(
    st.binary(max_size=300).map(lambda b: ("bytes", b)),
    json_values.map(lambda v: ("json", json.dumps(v).encode())),
    forms.map(lambda f: ("form", urlencode(f).encode())),
)
FUZZ = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.mark.parametrize("path", PATHS)
@FUZZ
@given(body=bodies, content_type=st.sampled_from(CONTENT_TYPES),
       event=st.sampled_from(["push", "pull_request", "ping", "status", "check_run", "issues", ""]))
def test_random_input_never_5xx(client, redis, path, body, content_type, event):
    _, raw = body
    before = redis.llen(brain.key_dead_letters())
    headers = {"Content-Type": content_type} if content_type else {}
    if event:
        headers["X-GitHub-Event"] = event
    response = client.post(path, data=raw, headers=headers)
    assert response.status_code < 500, response.get_data(as_text=True)
    if response.status_code >= 400:
        answer = response.get_json()
        assert answer["status"] == response.status_code and answer["error"]
        assert redis.llen(brain.key_dead_letters()) == before + 1
        assert brain.dead_letters(redis, 1)[0]["id"] == answer["dead_letter"]
    elif response.data and response.mimetype == "application/json":
        assert isinstance(response.get_json(), dict)
