"""Dead letters: the refused request kept whole enough to replay, with its secrets removed."""
from __future__ import annotations

import base64
from typing import Mapping

from router.core.brain import DEAD_LETTER_BODY_CAP
from router.core.signal import new_id
from router.core.times import utcnow

# Headers that carry a credential or a signature derived from one.
SECRET_HEADERS = frozenset({
    "authorization", "x-sparky-token", "x-api-key", "x-hub-signature", "x-hub-signature-256",
    "x-slack-signature", "cookie", "proxy-authorization",
})
SECRET_QUERY = frozenset({"token", "api_key", "key"})
REDACTED = "[redacted]"


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {k: (REDACTED if k.lower() in SECRET_HEADERS else v) for k, v in headers.items()}


def redact_query(query: Mapping[str, str]) -> dict[str, str]:
    return {k: (REDACTED if k.lower() in SECRET_QUERY else v) for k, v in query.items()}


def letter(endpoint: str, status: int, reason: str, headers: Mapping[str, str],
           query: Mapping[str, str], body: bytes) -> dict:
    """A dead letter as SPEC §3 shapes it: body capped at 64 KiB, base64 when not UTF-8."""
    kept = body[:DEAD_LETTER_BODY_CAP]
    try:
        text, encoding = kept.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        text, encoding = base64.b64encode(kept).decode("ascii"), "base64"
    return {
        "id": new_id(),
        "received_at": utcnow(),
        "endpoint": endpoint,
        "status": status,
        "reason": reason,
        "headers": redact_headers(headers),
        "query": redact_query(query),
        "body": text,
        "body_encoding": encoding,
        "body_size": len(body),
        "body_truncated": len(body) > DEAD_LETTER_BODY_CAP,
    }
