"""Runscope test-run webhooks → test_run signals."""
from __future__ import annotations

import pytest

from sources import runscope
from sources.common import Refused
from tests.sources.expected import EXPECTED, VARIANTS, read, shape

CASES = {name: want for name, want in {**EXPECTED, **VARIANTS}.items() if name.startswith("runscope/")}
JSON = {"Content-Type": "application/json"}


def run(name: str):
    raw, headers = read(name)
    return runscope.parse(runscope.load(raw, headers), headers)


@pytest.mark.parametrize("name", sorted(CASES))
def test_payload_file(name):
    signals = run(name)
    assert [shape(s.to_dict(), want) for s, want in zip(signals, CASES[name])] == CASES[name]
    assert len(signals) == len(CASES[name])


def test_failed_run_fields():
    (signal,) = run("runscope/webhook.test_run.fail.json")
    assert signal.source == "runscope"
    assert signal.url.endswith("/results/c0ffee00-1d2e-4f3a-8b9c-0d1e2f3a4b5c")
    assert signal.dedup == "c0ffee00-1d2e-4f3a-8b9c-0d1e2f3a4b5c"
    assert signal.occurred_at == "2026-03-03T14:05:52.904Z"  # finished_at, float seconds
    assert signal.summary == ("Orders API smoke test failed in Production: "
                              "POST https://api.acme.example/v1/orders → 503")
    assert signal.labels["status_code"] == "503"


def test_numeric_and_string_status_codes_read_the_same():
    as_string = run("runscope/webhook.test_run.fail.json")[0]
    as_number = run("runscope/webhook.test_run.fail_numeric_code.json")[0]
    assert as_number.text == as_string.text
    assert as_number.summary == as_string.summary
    assert as_number.labels == as_string.labels
    assert "→ 503 (2011 ms)" in as_number.text


@pytest.mark.parametrize("code", [503, "503", 503.0])
def test_code_types(code):
    body = {"result": "fail", "test_id": "t", "requests": [{"result": "fail", "response_status_code": code}]}
    assert runscope.parse(body, JSON)[0].labels["status_code"] == "503"


def test_passed_run_has_no_status_code_label():
    (signal,) = run("runscope/webhook.test_run.pass.json")
    assert "status_code" not in signal.labels


@pytest.mark.parametrize("body, reason", [
    ({"test_id": "t"}, "result: missing"),
    ({"test_id": "t", "result": "maybe"}, "result: unknown 'maybe'"),
    ({"result": "pass"}, "test_id: missing"),
])
def test_invalid_runs_are_400_naming_the_field(body, reason):
    with pytest.raises(Refused) as caught:
        runscope.parse(body, JSON)
    assert (caught.value.status, caught.value.reason) == (400, reason)
