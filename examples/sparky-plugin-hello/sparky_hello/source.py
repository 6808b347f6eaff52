"""`/hooks/hello`: `{"from": "<name>", "text": "..."}` → one `greeting` signal (token-checked)."""
from __future__ import annotations

from typing import Mapping

from router.core.signal import Signal
from sources.common import Refused, json_object, require, string

NAME = "hello"
AUTH = "token"


def load(raw: bytes, headers: Mapping[str, str]) -> dict:
    return json_object(raw, headers)


def parse(payload: object, headers: Mapping[str, str]) -> list[Signal]:
    if not isinstance(payload, dict):
        raise Refused(400, "expected a JSON object")
    sender = require(string(payload, "from"), "from")
    return [Signal(source=NAME, kind="greeting", status="received", subject=f"hello from {sender}",
                   labels={"from": sender}, summary=string(payload, "text") or f"hello from {sender}",
                   actor=sender)]
