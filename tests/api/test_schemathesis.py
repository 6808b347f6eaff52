"""Schemathesis over /openapi.json against the app: every documented operation, with generated
valid and invalid input, must answer no 5xx and only what the document says it answers (status
code, content type, headers, and the body's schema where one is given).

Bounded and repeatable: a fixed number of examples per operation and generation mode,
derandomized (the same inputs every run), through schemathesis' WSGI integration (no sockets, so
the HTTP server's own answers, such as a 414, are documented but not exercised here).
tests/api/test_fuzz.py goes deeper into the write bodies' values; this covers every operation's
shape. One test per operation, so a failure names it.
"""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from router.api.openapi import build
from router.app import create_app
from router.core.config import Config
from tests.conftest import free_port

EXAMPLES = 10     # per operation and generation mode
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]
# The operations, listed from an app that is never asked anything (its Redis is not there); each
# with positive input, and negative too where something can be wrong: a query, or a body whose
# schema is not "any JSON" (a hook's).
SPEC = build(create_app(Config(redis_url="redis://127.0.0.1:1/0", startup_warnings=False)))


def can_be_wrong(op: dict) -> bool:
    bodies = op.get("requestBody", {}).get("content", {}).values()
    return any(p["in"] == "query" for p in op.get("parameters", ())) or any(b.get("schema") for b in bodies)


RUNS = [(f"{method.upper()} {path}", mode) for path, ops in SPEC["paths"].items() for method, op in ops.items()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
        if mode is GenerationMode.POSITIVE or can_be_wrong(op)]


@pytest.mark.slow
@pytest.mark.parametrize("label, mode", RUNS, ids=[f"{label} {mode.value}" for label, mode in RUNS])
def test_every_operation_answers_as_documented(app, alerts, label, mode):
    operation = schemathesis.openapi.from_wsgi("/openapi.json", app).find_operation_by_label(label)

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
              phases=[Phase.explicit, Phase.generate, Phase.shrink], suppress_health_check=list(HealthCheck))
    def answers_as_documented(case):
        case.call_and_validate(checks=CHECKS)

    answers_as_documented()


@pytest.mark.slow
@pytest.mark.parametrize("label", [label for label, mode in RUNS if mode is GenerationMode.POSITIVE])
def test_with_the_brain_out_every_operation_still_answers_as_documented(tmp_path, label):
    """Where the document says an operation needs no brain, it answers without one; the others
    answer a documented 503 with Retry-After, never a 500."""
    app = create_app(Config(redis_url=f"redis://127.0.0.1:{free_port()}/0", data_dir=tmp_path,
                            startup_warnings=False))
    operation = schemathesis.openapi.from_wsgi("/openapi.json", app).find_operation_by_label(label)

    @given(case=operation.as_strategy())
    @settings(max_examples=2, derandomize=True, deadline=None, database=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    def answers_as_documented(case):
        case.call_and_validate(checks=[c for c in CHECKS if c is not not_a_server_error])   # 503: documented

    answers_as_documented()


def test_the_successful_answers_match_the_document_too(app, alerts):
    """Generated input rarely gets past permissions.yml, so the successes are walked explicitly:
    a snooze made, read, listed and ended, a chat line, the audit and Alertmanager's views of it,
    each answer checked against the document by schemathesis' own checks."""
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)

    def call(label, status, **parts):
        response = schema.find_operation_by_label(label).Case(**parts).call_and_validate(checks=CHECKS)
        assert response.status_code == status, response.text
        return response.json() if "json" in response.headers.get("content-type", [""])[0] else response.text

    made = call("POST /api/snoozes", 201, body={"user": "alice", "room": "#ops", "alert": alerts[0].fingerprint,
                                                          "duration": "2h", "reason": "deploying the fix"})
    call("GET /api/snoozes/{snooze_id}", 200, path_parameters={"snooze_id": made["id"]})
    call("GET /api/snoozes", 200, query={"state": "active"})
    call("GET /api/alerts", 200, query={"snoozed": "true"})
    assert call("GET /api/v2/silences", 200)
    call("GET /api/v2/alerts", 200, query={"silenced": "true"})
    call("GET /api/v2/alerts/groups", 200)
    call("GET /api/v2/status", 200)
    call("DELETE /api/snoozes/{snooze_id}", 200, path_parameters={"snooze_id": made["id"]},
         body={"user": "alice", "room": "#ops", "reason": "fixed"})
    call("POST /api/rooms/{room}/messages", 202, path_parameters={"room": "sandbox"},
         body={"user": "alice", "text": "snoozes"})
    call("GET /api/rooms/{room}/messages", 200, path_parameters={"room": "sandbox"})
    assert call("GET /api/audit", 200, query={"event": "snooze.created"})["count"] == 1
    signal = call("POST /hooks/generic", 202, body={"subject": "web-03/HTTP", "status": "firing"},
                  media_type="application/json")["signals"][0]
    call("GET /api/signals/{signal_id}", 200, path_parameters={"signal_id": signal})
    call("POST /api/v2/alerts", 200, body=[{"labels": {"alertname": "DiskFull"}}], media_type="application/json")
    call("GET /readyz", 200)
    call("GET /metrics", 200)
