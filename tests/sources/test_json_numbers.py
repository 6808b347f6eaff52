"""JSON has no NaN, no Infinity and no number beyond a double: such bodies are a 400 naming the field.

Python's json reads `NaN`, `Infinity` and `-Infinity`, and turns `1e400` into inf: a Jenkins
`"number": 1e400` became the label "inf". Every adapter decodes through common.decode_json.
"""
from __future__ import annotations

import json

import pytest

from router.app import create_app
from router.core import brain
from sources.common import Refused, decode_json
from tests.conftest import HOOK_TOKEN

JSON = {"Content-Type": "application/json", "Authorization": f"Bearer {HOOK_TOKEN}"}


@pytest.mark.parametrize("raw, reason", [
    (b'{"build": {"number": 1e400}}', "build.number: 1e400 is not a finite number"),
    (b'{"build": {"number": -1E+999}}', "build.number: -1E+999 is not a finite number"),
    (b'{"build": {"number": NaN}}', "build.number: NaN is not a finite number"),
    (b'{"a": 1, "b": [0.5, {"c": Infinity}]}', "b[1].c: Infinity is not a finite number"),
    (b'[{"labels": {}}, {"startsAt": -Infinity}]', "[1].startsAt: -Infinity is not a finite number"),
    (b'NaN', "body: NaN is not a finite number"),
    (b'{"x": 1' + b'0' * 400 + b'.5}', "x: 1000000000000000000000000000000000000000… is not a finite number"),
])
def test_non_finite_numbers_are_400_naming_the_field(raw, reason):
    with pytest.raises(Refused) as caught:
        decode_json(raw)
    assert (caught.value.status, caught.value.reason) == (400, reason)


def test_finite_numbers_and_big_integers_still_read():
    data = decode_json(b'{"a": 1e308, "b": -2.5E-3, "c": 12345678901234567890123, "d": "NaN", "e": 0.1}')
    assert data == {"a": 1e308, "b": -0.0025, "c": 12345678901234567890123, "d": "NaN", "e": 0.1}


@pytest.mark.parametrize("path, body, reason", [
    ("/hooks/jenkins", b'{"name": "web-api-build", "build": {"phase": "STARTED", "number": 1e400}}',
     "build.number: 1e400 is not a finite number"),
    ("/hooks/runscope", b'{"result": "fail", "test_id": "t", "finished_at": NaN}',
     "finished_at: NaN is not a finite number"),
    ("/hooks/alertmanager", b'{"alerts": [{"labels": {"a": "b"}, "x": Infinity}]}',
     "alerts[0].x: Infinity is not a finite number"),
    ("/hooks/generic", b'{"kind": "event", "labels": {"n": NaN}}', "labels.n: NaN is not a finite number"),
    ("/api/v2/alerts", b'[{"labels": {"alertname": "A"}, "startsAt": NaN}]',
     "[0].startsAt: NaN is not a finite number"),
])
def test_http_refuses_them_and_keeps_the_body(config, redis, path, body, reason):
    client = create_app(config.with_(hook_tokens=(HOOK_TOKEN,))).test_client()
    response = client.post(path, data=body, headers=JSON)
    assert response.status_code == 400
    assert response.get_json()["error"] == reason
    letter = brain.dead_letters(redis)[0]
    assert (letter["endpoint"], letter["body"]) == (path, body.decode())
    assert redis.llen(brain.key_signal_index()) == 0


def test_a_form_payload_field_is_checked_too():
    from sources import github

    body = "payload=" + json.dumps({"zen": "z"}).replace("}", ', "hook_id": NaN}')
    with pytest.raises(Refused) as caught:
        github.load(body.encode(), {"Content-Type": "application/x-www-form-urlencoded"})
    assert caught.value.reason == "hook_id: NaN is not a finite number"
