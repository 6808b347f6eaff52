"""`sparky rules test` and `POST /api/rules/test`: a real payload through the real adapter and
the real rules, with no side effects (no signal stored, no window or history updated, no job).

Signature and token checks are skipped: a dry run has no secret to check against. With `at`,
the signals are taken as received at that time, and durations are measured from it.
"""
from __future__ import annotations

import datetime as dt
from typing import Mapping

from redis import Redis

from router.core.registry import current
from router.core.times import iso, parse_time
from router.engine.loader import did_you_mean
from router.engine.results import evaluate
from router.engine.rules import Rules
from sources.common import Refused

# Source names besides the adapters': the Alertmanager v2 push API (what Prometheus posts).
V2_SOURCES = ("alertmanager-v2", "prometheus")


class DryRunError(Exception):
    """Bad input to a dry run (unknown source, unparseable payload, bad time): a 4xx, not a crash."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def parse_at(text: str) -> float:
    """`2026-11-20T09:00:00Z`, `2026-11-20 09:00` (UTC when no zone is given) → epoch seconds."""
    try:
        return parse_time(text).timestamp()
    except ValueError:
        raise DryRunError(f'bad time "{text}" (use ISO 8601, e.g. 2026-11-20T09:00:00Z)') from None


def signals_from(source: str, raw: bytes, headers: Mapping[str, str]) -> list[dict]:
    adapters = current().sources   # the sources registered (router/core/registry.py)
    names = list(adapters) + list(V2_SOURCES)
    if source not in names:
        raise DryRunError(f'unknown source "{source}"{did_you_mean(source, names)}; '
                          f'one of: {", ".join(sorted(names))}')
    try:
        if source in V2_SOURCES:
            adapter = adapters["alertmanager"]
            signals = adapter.parse_v2(adapter.load_v2(raw, headers), headers)
        else:
            adapter = adapters[source]
            signals = adapter.parse(adapter.load(raw, headers), headers)
    except Refused as exc:
        raise DryRunError(f"{source}: {exc.reason}", 415 if exc.status == 415 else 400) from None
    return [s.to_dict() for s in signals]


def dry_run(conn: Redis | None, rules: Rules, signals: list[dict], at: float | None = None) -> dict:
    """SPEC §4's JSON: `{"signals": [...], "results": [...]}`; the brain is only read."""
    if at is not None:
        for signal in signals:
            if signal.get("occurred_at") == signal.get("received_at"):
                signal["occurred_at"] = iso(dt.datetime.fromtimestamp(at, dt.timezone.utc))
            signal["received_at"] = iso(dt.datetime.fromtimestamp(at, dt.timezone.utc))
    results = evaluate(conn, rules, signals, now=at, write=False)
    return {"signals": signals, "results": results}


def default_headers(payload_name: str) -> dict:
    """The Content-Type a payload file's extension implies, for when no headers are given."""
    if payload_name.endswith(".json"):
        return {"Content-Type": "application/json"}
    if payload_name.endswith(".form"):
        return {"Content-Type": "application/x-www-form-urlencoded"}
    return {}
