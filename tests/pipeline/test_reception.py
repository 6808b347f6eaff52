"""Reception over HTTP into the real app and a real Redis: status codes, storage, dedup, dead letters."""
from __future__ import annotations

import base64
import json

import pytest
from redis import Redis

from router.app import create_app
from router.core import brain
from router.core.config import Config
from router.jobs.queues import EVAL_QUEUE
from router.pipeline import reception
from tests.conftest import HOOK_TOKEN

ALERT = {"source": "sparky", "kind": "alert", "status": "firing", "severity": "critical",
         "subject": "web-01/HTTP", "fingerprint": "web-01/HTTP", "labels": {"host": "web-01"}}


def post_json(client, path, body, **headers):
    return client.post(path, data=json.dumps(body), headers={"Content-Type": "application/json", **headers})


def test_generic_signal_is_stored_queued_and_readable(client, redis):
    response = post_json(client, "/hooks/generic", ALERT)
    assert response.status_code == 202
    body = response.get_json()
    assert body["accepted"] == 1 and len(body["signals"]) == 1
    stored = client.get(f"/api/signals/{body['signals'][0]}").get_json()
    assert {k: stored[k] for k in ALERT} == ALERT
    assert stored["id"] == body["signals"][0]
    assert stored["received_at"].endswith("Z")
    # pending evaluation, with one drain job queued to evaluate it
    assert redis.zrange(brain.key_pending(), 0, -1) == [body["signals"][0].encode()]
    assert redis.llen(f"rq:queue:{EVAL_QUEUE}") == 1


def test_evaluation_job_marks_signal_evaluated_once(client, redis, run_jobs):
    sid = post_json(client, "/hooks/generic", ALERT).get_json()["signals"][0]
    assert client.get(f"/api/signals/{sid}/decision").status_code == 404
    assert run_jobs() >= 1  # the drain job, and whatever actions the shipped rules decided
    decision = client.get(f"/api/signals/{sid}/decision").get_json()
    assert decision["signal"] == sid
    # a second job for the same signal (a retry) does not evaluate it again
    from router.pipeline.intake import evaluate as evaluate_with

    assert evaluate_with(redis, [sid]) == 0


def test_generic_list_and_defaults(client):
    response = post_json(client, "/hooks/generic", [{"kind": "visit", "source": "traffic"}, {}])
    assert response.status_code == 202
    ids = response.get_json()["signals"]
    second = client.get(f"/api/signals/{ids[1]}").get_json()
    assert (second["source"], second["kind"], second["severity"]) == ("generic", "event", "info")


def test_unknown_field_is_400_naming_it_and_dead_lettered(client, redis):
    response = post_json(client, "/hooks/generic", {**ALERT, "colour": "red"})
    assert response.status_code == 400
    assert "colour" in response.get_json()["error"]
    letter = brain.dead_letters(redis)[0]
    assert letter["endpoint"] == "/hooks/generic" and letter["status"] == 400
    assert json.loads(letter["body"])["colour"] == "red"
    assert letter["id"] == response.get_json()["dead_letter"]


def test_invalid_json_is_400(client, redis):
    response = client.post("/hooks/generic", data=b'{"subject": "it"s broken"}',
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert "invalid JSON" in response.get_json()["error"]
    assert brain.dead_letters(redis)[0]["reason"].startswith("invalid JSON")


def test_unsupported_content_type_is_415(client):
    response = client.post("/hooks/generic", data=b"<alert/>", headers={"Content-Type": "application/xml"})
    assert response.status_code == 415
    assert "application/xml" in response.get_json()["error"]


def test_oversize_body_is_413_and_kept_truncated(config, redis):
    client = create_app(config.with_(max_body=100_000)).test_client()
    body = json.dumps({**ALERT, "text": "x" * 200_000}).encode()
    response = client.post("/hooks/generic", data=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert "SPARKY_MAX_BODY" in response.get_json()["error"]
    letter = brain.dead_letters(redis)[0]
    assert letter["status"] == 413 and letter["body_truncated"] is True
    assert len(letter["body"]) == brain.DEAD_LETTER_BODY_CAP


def test_binary_body_dead_letter_is_base64(client, redis):
    raw = b"\xff\xfe\x00garbage"
    response = client.post("/hooks/generic", data=raw, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    letter = brain.dead_letters(redis)[0]
    assert letter["body_encoding"] == "base64" and base64.b64decode(letter["body"]) == raw


@pytest.mark.parametrize("carrier", [
    {"headers": {"Authorization": f"Bearer {HOOK_TOKEN}"}},
    {"headers": {"X-Sparky-Token": HOOK_TOKEN}},
    {"headers": {"X-API-KEY": HOOK_TOKEN}},
    {"query": f"?token={HOOK_TOKEN}"},
])
def test_token_carriers_accepted(config, redis, carrier):
    client = create_app(config.with_(hook_tokens=(HOOK_TOKEN,))).test_client()
    response = post_json(client, "/hooks/generic" + carrier.get("query", ""), ALERT, **carrier.get("headers", {}))
    assert response.status_code == 202


@pytest.mark.parametrize("headers, query, reason", [
    ({}, "", "missing token"),
    ({"Authorization": "Bearer nope"}, "", "invalid token"),
    ({"X-API-KEY": "nope"}, "", "invalid token"),
    ({}, "?token=nope", "invalid token"),
])
def test_bad_or_missing_token_is_401_and_secret_redacted(config, redis, headers, query, reason):
    client = create_app(config.with_(hook_tokens=(HOOK_TOKEN,))).test_client()
    response = post_json(client, "/hooks/nagios" + query, {"HOSTNAME": "web-01"}, **headers)
    assert response.status_code == 401
    assert response.get_json()["error"].startswith(reason)
    letter = brain.dead_letters(redis)[0]
    assert letter["status"] == 401
    assert "nope" not in json.dumps(letter)
    assert HOOK_TOKEN not in response.get_data(as_text=True)


def test_duplicate_delivery_answered_but_not_stored_twice(client, redis):
    headers = {"X-GitHub-Event": "ping", "X-GitHub-Delivery": "delivery-1"}
    first = post_json(client, "/hooks/github", {"zen": "Keep it logically awesome.", "hook_id": 1}, **headers)
    second = post_json(client, "/hooks/github", {"zen": "Keep it logically awesome.", "hook_id": 1}, **headers)
    assert first.status_code == second.status_code == 202
    assert second.get_json() == {"accepted": 0, "signals": [], "duplicate": True,
                                 "duplicate_of": first.get_json()["signals"]}
    assert redis.llen(brain.key_signal_index(source="github")) == 1
    assert redis.llen(f"rq:queue:{EVAL_QUEUE}") == 1


def test_brain_down_is_503_with_retry_after(tmp_path):
    dead = Config(redis_url="redis://127.0.0.1:1/0", data_dir=tmp_path)
    client = create_app(dead).test_client()
    response = post_json(client, "/hooks/generic", ALERT)
    assert response.status_code == 503
    assert response.headers["Retry-After"]
    assert "unreachable" in response.get_json()["error"]
    assert client.get("/readyz").status_code == 503
    assert client.get("/healthz").status_code == 200
    assert client.get("/api/signals").status_code == 503


def test_backpressure_is_503_when_backlog_over_bound(config, redis, monkeypatch):
    monkeypatch.setattr(reception, "BACKLOG_TTL", 0)  # read the backlog on every request
    client = create_app(config.with_(max_backlog=3, source_share=1.0)).test_client()
    # backlog = pending signals + queued jobs, and a request's signals must fit in what is left:
    # 0 + 1 fits, then 1 pending + 1 drain job + 1 fits, then 2 + 1 + 1 > 3
    codes = [post_json(client, "/hooks/generic", ALERT).status_code for _ in range(4)]
    assert codes == [202, 202, 503, 503]
    response = post_json(client, "/hooks/generic", ALERT)
    assert "backlog" in response.get_json()["error"] and response.headers["Retry-After"] == "10"


def test_signal_listing_filters_and_limits(client):
    post_json(client, "/hooks/generic", [{**ALERT, "source": "traffic", "kind": "visit"}, ALERT, ALERT])
    assert client.get("/api/signals").get_json()["count"] == 3
    assert client.get("/api/signals?source=traffic").get_json()["count"] == 1
    assert client.get("/api/signals?kind=alert").get_json()["count"] == 2
    assert client.get("/api/signals?source=sparky&kind=alert&limit=1").get_json()["count"] == 1
    bad = client.get("/api/signals?limit=0")
    assert bad.status_code == 400 and "limit" in bad.get_json()["error"]


def test_unknown_signal_is_404_json(client):
    response = client.get("/api/signals/nope")
    assert response.status_code == 404 and "nope" in response.get_json()["error"]
    assert client.get("/no/such/page").get_json()["status"] == 404


def test_admin_token_guards_api_but_not_hooks_or_v2(config, redis):
    client = create_app(config.with_(admin_token="adm1n")).test_client()
    assert client.get("/api/signals").status_code == 401
    assert client.get("/api/signals", headers={"Authorization": "Bearer adm1n"}).status_code == 200
    assert client.get("/api/dead-letters", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert post_json(client, "/hooks/generic", ALERT).status_code == 202
    v2 = post_json(client, "/api/v2/alerts", [{"labels": {"alertname": "DiskFull"}}])
    assert v2.status_code == 200


def test_dead_letter_list_is_capped(redis):
    pipe = redis.pipeline()
    for i in range(brain.DEAD_LETTER_CAP + 5):
        pipe.lpush(brain.key_dead_letters(), json.dumps({"id": str(i)}))
    pipe.execute()
    brain.push_dead_letter(redis, {"id": "newest"})
    assert redis.llen(brain.key_dead_letters()) == brain.DEAD_LETTER_CAP
    assert brain.dead_letters(redis, 1)[0]["id"] == "newest"


def test_signals_have_ttl(client, redis, config):
    sid = post_json(client, "/hooks/generic", ALERT).get_json()["signals"][0]
    assert 0 < redis.ttl(brain.key_signal(sid)) <= config.signal_ttl


def test_restart_keeps_signals(tmp_path):
    """Embedded Redis with AOF: accepted signals survive a stop and start of the server."""
    from router.core.embedded import EmbeddedRedis

    server = EmbeddedRedis(tmp_path / "data").start()
    try:
        client = create_app(Config(redis_url=server.url, data_dir=tmp_path / "data")).test_client()
        ids = post_json(client, "/hooks/generic", [ALERT, ALERT]).get_json()["signals"]
    finally:
        server.stop()
    assert list((tmp_path / "data").glob("appendonly*"))
    server = EmbeddedRedis(tmp_path / "data").start()
    try:
        conn = Redis.from_url(server.url)
        assert [s["id"] for s in brain.load_signals(conn, ids)] == ids
        assert conn.zcard(brain.key_pending()) == 2  # still pending evaluation
        assert conn.llen(f"rq:queue:{EVAL_QUEUE}") == 1  # and the drain job survived too
    finally:
        server.stop()


def test_signal_indexes_stay_capped(client, redis, monkeypatch):
    monkeypatch.setattr(brain.accept, "SIGNAL_INDEX_CAP", 5)  # the module that reads it
    ids = [post_json(client, "/hooks/generic", ALERT).get_json()["signals"][0] for _ in range(12)]
    # reception's script trims on every push: exactly the newest five, newest first
    assert redis.lrange(brain.key_signal_index(), 0, -1) == [i.encode() for i in ids[::-1][:5]]
    assert redis.llen(brain.key_signal_index(source="sparky", kind="alert")) == 5


def test_queued_jobs_are_read_once_a_second_pending_signals_exactly(config, redis, monkeypatch):
    monkeypatch.setattr(reception, "BACKLOG_TTL", 60)
    reception._backlog.clear()
    client = create_app(config.with_(max_backlog=3, source_share=1.0)).test_client()
    # the first reading of the queue (no drain job yet) stands for a minute; the pending
    # signals are counted by reception's script on every request
    codes = [post_json(client, "/hooks/generic", ALERT).status_code for _ in range(4)]
    assert codes == [202, 202, 202, 503]
    reception._backlog.clear()    # now the drain job counts too: 3 pending + 1 queued
    assert post_json(client, "/hooks/generic", ALERT).status_code == 503
    assert reception.queued_work(redis) == 1


def test_metrics_count_outcomes_per_source(client, redis):
    post_json(client, "/hooks/generic", [ALERT, ALERT])
    post_json(client, "/hooks/generic", {"colour": "red"})
    headers = {"X-GitHub-Event": "ping", "X-GitHub-Delivery": "d-1"}
    post_json(client, "/hooks/github", {"zen": "z", "hook_id": 1}, **headers)
    post_json(client, "/hooks/github", {"zen": "z", "hook_id": 1}, **headers)
    text = client.get("/metrics").get_data(as_text=True)
    assert 'sparky_signals_received_total{outcome="accepted",source="generic"} 2.0' in text
    assert 'sparky_signals_received_total{outcome="refused_400",source="generic"} 1.0' in text
    assert 'sparky_signals_received_total{outcome="accepted",source="github"} 1.0' in text
    assert 'sparky_signals_received_total{outcome="duplicate",source="github"} 1.0' in text
    assert 'sparky_queue_depth{queue="sparky-eval"} 1.0' in text  # one drain job for all of them
    assert "sparky_pending_signals 3.0" in text
    assert "sparky_dead_letters 1.0" in text


def test_openapi_documents_every_route(app, client):
    spec = client.get("/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    from router.api.openapi import documented as in_the_api  # not the dashboard's HTML pages

    served = {r.rule for r in app.url_map.iter_rules() if in_the_api(r.endpoint)}
    import re

    documented = {re.sub(r"\{([^}]+)\}", r"<\1>", p) for p in spec["paths"]}
    assert {re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"<\1>", r) for r in served} == documented
    listing = spec["paths"]["/api/signals"]["get"]
    assert {p["name"] for p in listing["parameters"]} == {"source", "kind", "limit"}
    assert "Signal" in spec["components"]["schemas"]


def test_readyz_reports_rules_in_force(client):
    answer = client.get("/readyz").get_json()
    assert answer["ready"] is True and answer["brain"] is True and answer["rules_version"]


def test_readyz_not_ready_with_broken_rules(config, redis, tmp_path):
    broken = tmp_path / "rules"
    broken.mkdir()
    (broken / "routing.yml").write_text("ruleset: routing\nversion: 1\nrules:\n  - name: x\n    whenn: {}\n")
    client = create_app(config.with_(rules_dir=broken)).test_client()
    response = client.get("/readyz")
    assert response.status_code == 503
    assert "whenn" in response.get_json()["rules_error"]


def test_to_dict_has_exactly_the_public_fields():
    from router.core.signal import PUBLIC_FIELDS, Signal

    signal = Signal(source="x", kind="y", status="z", labels={"a": 1}, dedup="secret-key")
    data = signal.to_dict()
    assert tuple(sorted(data)) == tuple(sorted(PUBLIC_FIELDS))
    assert data["labels"] == {"a": "1"} and data["labels"] is not signal.labels


def test_metrics_count_actions_and_evaluation_time(client, redis, run_jobs):
    """The shipped routing rules notify #ops of a critical Nagios alert: one action run."""
    from tests.conftest import payload

    body, headers = payload("nagios/slack_nagios_pl.service_problem.form")
    assert client.post("/hooks/nagios", data=body, headers=headers).status_code == 202
    run_jobs()
    text = client.get("/metrics").get_data(as_text=True)
    assert 'sparky_actions_total{action="notify",outcome="run"} 1.0' in text
    assert "sparky_rule_evaluation_seconds_count 1.0" in text
    assert "sparky_pending_signals 0.0" in text


def test_repeat_within_one_request_is_a_duplicate_of_the_first(client, redis):
    alert = {"labels": {"alertname": "DiskFull", "instance": "web1"}, "startsAt": "2026-11-25T10:00:00Z"}
    answer = post_json(client, "/api/v2/alerts", [alert, alert]).get_json()
    assert answer["accepted"] == 1
    assert answer["duplicate_of"] == answer["signals"]
    assert redis.zcard(brain.key_pending()) == 1
    assert redis.llen(brain.key_signal_index(source="alertmanager")) == 1


def test_reception_survives_a_script_cache_flush(client, redis):
    """Redis forgets loaded scripts on restart (or SCRIPT FLUSH); reception must load it again."""
    assert post_json(client, "/hooks/generic", ALERT).status_code == 202
    redis.script_flush()
    again = post_json(client, "/hooks/generic", ALERT)
    assert again.status_code == 202
    assert redis.exists(brain.key_signal(again.get_json()["signals"][0]))
