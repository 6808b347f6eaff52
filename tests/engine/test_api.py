"""`GET /api/rules`, `POST /api/rules/test`, `POST /api/rules/reload`: JSON in, JSON out, 4xx for
anything a client sends wrong — never a 500."""
from __future__ import annotations

import json
import shutil

import pytest

from router.app import create_app
from router.core.config import DEFAULT_RULES_DIR
from tests.conftest import payload


@pytest.fixture
def rules_dir(tmp_path):
    target = tmp_path / "rules"
    shutil.copytree(DEFAULT_RULES_DIR, target)
    return target


@pytest.fixture
def client(config, redis, rules_dir):
    return create_app(config.with_(rules_dir=rules_dir, rules_poll=0)).test_client()


def test_get_rules_lists_the_version_in_force(client):
    answer = client.get("/api/rules")
    assert answer.status_code == 200
    body = answer.get_json()
    assert len(body["version"]) == 12 and body["by"] == "bootstrap" and body["refused"] is None
    assert "people.yml" in body["files"]
    routing = next(r for r in body["rulesets"] if r["name"] == "routing")
    assert routing["file"] == "routing.yml" and routing["tests"] > 0
    assert routing["rules"][-1] == {"name": "everything-else", "line": routing["rules"][-1]["line"],
                                    "when": [], "then": [{"notify": {"room": "#ops-noise",
                                                                     "template": "{source} {kind} {status}: {summary}"}}],
                                    "continue": False}


def test_a_vendor_payload_through_adapter_and_rules(client):
    raw, headers = payload("nagios/slack_nagios_pl.service_problem.form")
    answer = client.post("/api/rules/test", json={"source": "nagios", "payload": raw.decode(), "headers": headers,
                                                  "at": "2026-11-20T09:00:00Z"})
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert set(body) == {"signals", "results"}
    (signal,) = body["signals"]
    assert signal["subject"] == "web-01/HTTP" and signal["received_at"] == "2026-11-20T09:00:00.000Z"
    (result,) = body["results"]
    assert result["signal"] == signal["id"]
    routing = result["rulesets"]["routing"]
    assert [m["rule"] for m in routing["matched"]] == ["critical-alerts"]
    assert routing["matched"][0]["actions"] == [
        {"notify": {"room": "#ops", "mention": "@oncall", "template": ":red_circle: {summary}"}}]
    assert {"rule": "prod-critical-to-oncall", "failed": "labels.env: [production, prod]"} in routing["not_matched"]
    assert set(result["rulesets"]) == {"routing", "suppression", "deploy", "stale", "oncall"}


def test_a_json_payload_and_ready_made_signals(client):
    raw, headers = payload("runscope/webhook.test_run.fail.json")
    body = client.post("/api/rules/test", json={"source": "runscope", "payload": json.loads(raw),
                                                "at": "2026-12-09T09:00:00Z"}).get_json()     # office hours
    assert [m["rule"] for m in body["results"][0]["rulesets"]["routing"]["matched"]] == ["runscope-log", "runscope-failed"]
    body = client.post("/api/rules/test", json={"signals": [{"kind": "ping", "status": "ok"}]}).get_json()
    assert [m["rule"] for m in body["results"][0]["rulesets"]["routing"]["matched"]] == ["github-ping"]


def test_a_dry_run_has_no_side_effects(client, redis):
    client.get("/api/rules")                      # the first use publishes the rules dir
    before = sorted(redis.keys("*"))
    client.post("/api/rules/test", json={"signals": [{"source": "jenkins", "kind": "build", "status": "failed",
                                                      "labels": {"job": "j", "branch": "main"}}]})
    assert sorted(redis.keys("*")) == before


@pytest.mark.parametrize("body, status, error", [
    ("not json", 400, "send a JSON object: {source, payload, headers?, at?} or {signals, at?}"),
    ({"source": "nagois", "payload": "x=1"}, 400, 'unknown source "nagois" (did you mean "nagios"?); one of: '
     'alertmanager, alertmanager-v2, generic, github, jenkins, nagios, prometheus, runscope, slack, traffic'),
    ({"source": "nagios"}, 400, "invalid request"),
    ({"source": "nagios", "payload": "x", "signals": []}, 400, "invalid request"),
    ({"signals": [{"severity": "sev1"}]}, 400, "invalid request"),
    ({"signals": [], "at": "tomorrow"}, 400, 'bad time "tomorrow" (use ISO 8601, e.g. 2026-11-20T09:00:00Z)'),
    ({"source": "runscope", "payload": "{not json"}, 400, "runscope: invalid JSON: Expecting property name "
                                                           "enclosed in double quotes at line 1 column 2"),
    ({"wat": 1}, 400, "invalid request"),
])
def test_bad_requests_are_4xx_with_a_reason(client, body, status, error):
    answer = client.post("/api/rules/test", data=body if isinstance(body, str) else json.dumps(body),
                         content_type="application/json")
    assert answer.status_code == status
    assert answer.get_json()["error"] == error


def test_reload_publishes_or_refuses(client, rules_dir):
    version = client.get("/api/rules").get_json()["version"]
    assert client.post("/api/rules/reload").get_json() == {"version": version, "changed": False}

    routing = rules_dir / "routing.yml"
    routing.write_text(routing.read_text().replace("when: {kind: ping}", "when: {kind: {match: ping}}"))
    answer = client.post("/api/rules/reload")
    assert answer.status_code == 422
    body = answer.get_json()
    assert body["version"] == version and len(body["problems"]) == 1
    assert body["problems"][0].endswith('routing.yml:11: rule "github-ping": unknown operator "match" '
                                        '(did you mean "matches"?)')
    assert client.get("/api/rules").get_json()["refused"]["problems"] == body["problems"]

    routing.write_text(routing.read_text().replace("{kind: {match: ping}}", "{kind: ping, status: ok}"))
    answer = client.post("/api/rules/reload").get_json()
    assert answer["changed"] is True and answer["version"] != version


REFUSED = "The last reload was refused"


def test_undoing_a_refused_edit_clears_the_refusal_on_reload_and_after_a_restart(config, redis, rules_dir):
    routing = rules_dir / "routing.yml"
    good = routing.read_text()
    bad = good.replace("when: {kind: ping}", "when: {kind: {match: ping}}")
    client = create_app(config.with_(rules_dir=rules_dir, rules_poll=0)).test_client()
    assert client.get("/api/rules").get_json()["refused"] is None          # the shipped rules, in force

    routing.write_text(bad)
    assert client.post("/api/rules/reload").status_code == 422
    assert client.get("/api/rules").get_json()["refused"] and REFUSED in client.get("/rules").get_data(as_text=True)
    routing.write_text(good)                               # fixed: the version in force again
    assert client.post("/api/rules/reload").get_json()["changed"] is False
    assert client.get("/api/rules").get_json()["refused"] is None
    assert REFUSED not in client.get("/rules").get_data(as_text=True)

    routing.write_text(bad)
    assert client.post("/api/rules/reload").status_code == 422
    routing.write_text(good)                               # fixed while Sparky was down; then it starts
    restarted = create_app(config.with_(rules_dir=rules_dir, rules_poll=0.01)).test_client()
    assert restarted.get("/api/rules").get_json()["refused"] is None
    assert REFUSED not in restarted.get("/rules").get_data(as_text=True)


def test_writes_need_the_admin_token_when_set(config, redis, rules_dir):
    app = create_app(config.with_(rules_dir=rules_dir, rules_poll=0, admin_token="s3cret"))
    client = app.test_client()
    assert client.post("/api/rules/reload").status_code == 401
    assert client.post("/api/rules/reload", headers={"Authorization": "Bearer s3cret"}).status_code == 200
