"""Runscope test-run webhooks → one `test_run` signal per run.

Runscope sends `response_status_code` as a string or a number depending on the era of the
payload (corpus README quirk 10); both read the same here.

Choices where SPEC is silent:
- `result` "pass"/"fail" (and "passed"/"failed") map to passed/failed; anything else is refused.
- occurred_at: `finished_at` (float seconds), else `started_at`.
- summary names the first failing request ("POST <url> → 503"); text lists every request.
- Label `status_code`: the first failing request's response code (absent when none failed);
  label `region` is Runscope's region code (`us1`), `region_name` its long name.
"""
from __future__ import annotations

from typing import Mapping

from router.core.signal import Signal
from sources.common import Refused, epoch_iso, first_line, json_object, require, seq, string

NAME = "runscope"
AUTH = "token"

RESULT_STATUS = {"pass": "passed", "passed": "passed", "fail": "failed", "failed": "failed"}

SEVERITY = {"failed": "warning"}


def load(raw: bytes, headers: Mapping[str, str]) -> dict:
    """Decode the JSON body."""
    return json_object(raw, headers)


def _request_line(request: dict) -> str:
    parts = [string(request, "result").upper() or "?", string(request, "method"), string(request, "url"),
             "→", string(request, "response_status_code") or "-"]
    took = string(request, "response_time_ms")
    return " ".join(p for p in parts if p) + (f" ({took} ms)" if took else "")


def parse(payload: object, headers: Mapping[str, str]) -> list[Signal]:
    """One signal for one test run."""
    if not isinstance(payload, dict):
        raise Refused(400, f"expected a JSON object, got {type(payload).__name__}")
    result = require(string(payload, "result").lower(), "result")
    status = RESULT_STATUS.get(result)
    if status is None:
        raise Refused(400, f"result: unknown {result!r}")
    test_id = require(string(payload, "test_id"), "test_id")
    test = string(payload, "test_name") or test_id
    requests = [r for r in seq(payload, "requests") if isinstance(r, dict)]
    failed = [r for r in requests if string(r, "result").lower() in ("fail", "failed")]
    environment = string(payload, "environment_name")

    summary = f"{test} {status}" + (f" in {environment}" if environment else "")
    if failed:
        first = failed[0]
        code = string(first, "response_status_code")
        summary += f": {string(first, 'method')} {string(first, 'url')} → {code}"
    labels = {
        "test": test,
        "test_id": test_id,
        "bucket": string(payload, "bucket_name"),
        "bucket_key": string(payload, "bucket_key"),
        "environment": environment,
        "region": string(payload, "region"),
        "region_name": string(payload, "region_name"),
        "status_code": string(failed[0], "response_status_code") if failed else "",
    }
    return [Signal(
        source=NAME,
        kind="test_run",
        status=status,
        severity=SEVERITY.get(status, "info"),
        subject=test,
        fingerprint=test_id,
        labels={k: v for k, v in labels.items() if v},
        summary=first_line(summary),
        text="\n".join(_request_line(r) for r in requests),
        url=string(payload, "test_run_url"),
        occurred_at=epoch_iso(payload.get("finished_at")) or epoch_iso(payload.get("started_at")),
        dedup=string(payload, "test_run_id"),
    )]
