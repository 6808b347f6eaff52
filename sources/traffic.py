"""`/hooks/traffic`: visitor ids from an access-log shipper → one `visits` signal per request.

The body is one visitor id per line (text/plain, or no content type), or a JSON list of ids
(application/json). The signal carries the ids in `text`, one per line, and their count in the
label `visitors`; the shipped rules (rules/routing.yml `traffic-visits`) add them to the day's
HyperLogLog in the `traffic` pack's brain, which `traffic [date]` counts (rules/commands/traffic.yml).

Choices where SPEC is silent:
- Token-checked like every vendor hook (SPARKY_HOOK_TOKENS).
- An id is trimmed; blank lines are skipped; an id longer than 200 characters, more than 10,000
  ids, or a JSON list holding anything but strings and numbers is refused (400), naming it.
- No delivery key: two posts of the same ids are two batches (the count is unique anyway).
- occurred_at: the `X-Traffic-Day` header (YYYY-MM-DD, for a shipper catching up), else now.
"""
from __future__ import annotations

import datetime as dt
from typing import Mapping

from router.core.signal import Signal
from sources.common import Refused, decode_json, header, is_json, media_type, not_unicode

NAME = "traffic"
AUTH = "token"

MAX_IDS = 10_000
MAX_ID = 200


def load(raw: bytes, headers: Mapping[str, str]) -> list[str]:
    """The visitor ids of the body (JSON list or lines)."""
    if is_json(headers):
        data = decode_json(raw)
        if not isinstance(data, list):
            raise Refused(400, f"expected a JSON list of visitor ids, got {type(data).__name__}")
        for i, item in enumerate(data):
            if isinstance(item, bool) or not isinstance(item, (str, int, float)):
                raise Refused(400, f"[{i}]: a visitor id is text or a number, not {type(item).__name__}")
        return [str(item).strip() for item in data if str(item).strip()]
    if media_type(headers) not in ("", "text/plain"):
        raise Refused(415, f"unsupported content type {media_type(headers)!r}; send text/plain or application/json")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused(400, "body is not UTF-8") from None
    return [line.strip() for line in text.splitlines() if line.strip()]


def parse(payload: object, headers: Mapping[str, str]) -> list[Signal]:
    if not isinstance(payload, list):
        raise Refused(400, "expected visitor ids")
    if not payload:
        raise Refused(400, "no visitor ids in the body")
    if len(payload) > MAX_IDS:
        raise Refused(400, f"{len(payload)} visitor ids in one request; send at most {MAX_IDS}")
    for i, visitor in enumerate(payload):
        if len(visitor) > MAX_ID:
            raise Refused(400, f"visitor id {i + 1} is longer than {MAX_ID} characters")
        if not_unicode(visitor):
            raise Refused(400, f"visitor id {i + 1} is not valid Unicode")
    day = header(headers, "X-Traffic-Day").strip()
    occurred = ""
    if day:
        try:
            occurred = dt.datetime.combine(dt.date.fromisoformat(day), dt.time(12), dt.timezone.utc).isoformat()
        except ValueError:
            raise Refused(400, f"X-Traffic-Day: {day!r} is not a date like 2026-12-01") from None
    return [Signal(source=NAME, kind="visits", status="received", severity="info",
                   subject=f"{len(payload)} visitors", fingerprint="traffic",
                   labels={"visitors": str(len(payload))}, summary=f"{len(payload)} visitors",
                   text="\n".join(payload), occurred_at=occurred)]
