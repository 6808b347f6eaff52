"""A client's bad input is a 400 naming the parameter, never a Redis error reported as an outage;
a real outage (a stopped Redis) is a 503 with Retry-After and one log line a second."""
from __future__ import annotations

import json
import logging

import pytest

from router.app import create_app
from router.core import brain
from router.core.config import Config
from router.core.embedded import EmbeddedRedis
from tests.conftest import free_port

ALERT = {"source": "sparky", "kind": "alert", "status": "firing", "subject": "web-01/HTTP",
         "fingerprint": "web-01/HTTP"}


@pytest.mark.parametrize("before", ["0-0", "00-000", "99999999999999999999-0", "1-18446744073709551616", "1-x", "+"])
def test_a_bad_audit_cursor_is_400_naming_it(client, before):
    response = client.get("/api/audit", query_string={"before": before})
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.get_json()["error"].startswith("before:")


def test_good_audit_cursors_still_page(client, redis):
    ids = [redis.xadd(brain.key_audit(), {"event": "test.mark", "n": str(i)}).decode() for i in range(3)]
    first = client.get("/api/audit?limit=2&event=test.mark").get_json()
    assert [e["id"] for e in first["entries"]] == ids[::-1][:2] and first["next"] == ids[1]
    rest = client.get(f"/api/audit?limit=2&event=test.mark&before={first['next']}").get_json()
    assert [e["id"] for e in rest["entries"]] == ids[:1]
    assert client.get("/api/audit?before=18446744073709551615-18446744073709551615").status_code == 200
    assert client.get("/api/audit?before=0-1").get_json()["entries"] == []


def test_an_error_reply_that_is_no_outage_is_a_500_with_its_traceback(client, redis, caplog):
    redis.set(brain.key_audit(), "not a stream")    # WRONGTYPE: a bug of ours, not the client's
    with caplog.at_level(logging.ERROR, logger="sparky"):
        response = client.get("/api/audit")
    assert response.status_code == 500 and "Retry-After" not in response.headers
    assert "Traceback" not in response.get_data(as_text=True)
    assert any(r.exc_info and "WRONGTYPE" in str(r.exc_info[1]) for r in caplog.records)


@pytest.fixture
def own_redis(tmp_path):
    """A private Redis this test may stop."""
    server = EmbeddedRedis(tmp_path / "redis", appendonly=False, port=free_port()).start()
    yield server
    server.stop()


def outage_lines(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if "brain (Redis) unreachable" in r.getMessage()]


def test_a_stopped_redis_is_503_with_retry_after_and_one_log_line_a_second(own_redis, tmp_path, caplog):
    now = [1_000_000.0]
    app = create_app(Config(redis_url=own_redis.url, data_dir=tmp_path, clock=lambda: now[0],
                            startup_warnings=False))
    client = app.test_client()
    post = lambda: client.post("/hooks/generic", data=json.dumps(ALERT),  # noqa: E731
                               headers={"Content-Type": "application/json"})
    assert post().status_code == 202
    own_redis.stop()

    with caplog.at_level(logging.INFO):
        answers = [post() for _ in range(10)]
        answers += [client.get(path) for path in ("/api/signals", "/api/audit", "/api/snoozes", "/api/alerts")]
        answers.append(client.post("/hooks/generic", data=b"{not json"))  # its dead letter cannot be kept
        answers.append(client.get("/"))                                     # the dashboard
        assert outage_lines(caplog) and len(outage_lines(caplog)) == 1
        now[0] += 1.5
        answers.append(client.get("/api/signals"))
    assert [a.status_code for a in answers] == [503] * 14 + [400, 503, 503]
    assert all(a.headers["Retry-After"] == "5" for a in answers if a.status_code == 503)
    assert all("unreachable" in a.get_json()["error"] for a in answers[:14])
    lines = outage_lines(caplog)
    assert len(lines) == 2, [r.getMessage() for r in lines]
    assert "15 more request(s)" in lines[1].getMessage()    # 9 hooks, 4 reads, 1 dead letter, 1 page
    assert not any(r.exc_info for r in caplog.records), "no traceback during an outage"
