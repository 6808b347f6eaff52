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

EXAMPLES = 15     # per operation and generation mode
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]
# The operations, listed from an app that is never asked anything (its Redis is not there); each
# with positive input, and negative too where it has a query or a body to get wrong.
SPEC = build(create_app(Config(redis_url="redis://127.0.0.1:1/0", startup_warnings=False)))
RUNS = [(f"{method.upper()} {path}", mode) for path, ops in SPEC["paths"].items() for method, op in ops.items()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
        if mode is GenerationMode.POSITIVE or "requestBody" in op
        or any(p["in"] == "query" for p in op.get("parameters", ()))]


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
