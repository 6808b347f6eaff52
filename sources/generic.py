"""`/hooks/generic`: bodies already in signal shape (one object or a list), validated strictly.

Unlike the vendor adapters this one is strict (STYLE convention 3): it is our own format, so an
unknown key is a 400 naming it ("signals[1].colour: Unknown field."). Missing fields take
SignalSchema's defaults; `source` defaults to "generic" but a body may name any source.

Choices where SPEC is silent:
- Errors name the field alone for a single object ("colour: Unknown field.") and prefix
  `signals[i].` for a list; several errors are joined with "; " in field order.
- The delivery key is empty: a generic sender has no delivery id to de-duplicate on.
"""
from __future__ import annotations

from typing import Mapping

from marshmallow import ValidationError

from router.core.signal import Signal, SignalSchema
from sources.common import Refused, decode_json, is_json, media_type

NAME = "generic"
AUTH = "token"

SCHEMA = SignalSchema()


def load(raw: bytes, headers: Mapping[str, str]) -> object:
    """Decode a JSON object or list."""
    if media_type(headers) and not is_json(headers):
        raise Refused(415, f"unsupported content type {media_type(headers)!r}; send application/json")
    data = decode_json(raw)
    if not isinstance(data, (dict, list)):
        raise Refused(400, f"expected a JSON object or list of signals, got {type(data).__name__}")
    return data


def _messages(errors: object, path: str) -> list[str]:
    """Flatten marshmallow's nested error dict into "a.b: message" lines."""
    if isinstance(errors, dict):
        return [line for key, sub in errors.items()
                for line in _messages(sub, f"{path}.{key}" if path else str(key))]
    if isinstance(errors, list) and all(isinstance(e, str) for e in errors):
        return [f"{path}: {' '.join(errors)}"]
    if isinstance(errors, list):
        return [line for e in errors for line in _messages(e, path)]
    return [f"{path}: {errors}"]


def parse(payload: object, headers: Mapping[str, str]) -> list[Signal]:
    """Validate each item with SignalSchema; the first invalid one refuses the whole body."""
    if isinstance(payload, dict):
        items, prefix = [payload], None
    elif isinstance(payload, list):
        if not payload:
            raise Refused(400, "signals: empty list")
        items, prefix = payload, "signals"
    else:
        raise Refused(400, f"expected a JSON object or list of signals, got {type(payload).__name__}")
    signals = []
    for index, item in enumerate(items):
        where = f"{prefix}[{index}]" if prefix else ""
        if not isinstance(item, dict):
            raise Refused(400, f"{where or 'body'}: not an object")
        try:
            signals.append(SCHEMA.make(item))
        except ValidationError as exc:
            raise Refused(400, "; ".join(_messages(exc.messages, where))) from None
        except (ValueError, OverflowError) as exc:  # e.g. a date that cannot be expressed in UTC
            raise Refused(400, f"{where + ': ' if where else ''}{exc}") from None
    return signals
