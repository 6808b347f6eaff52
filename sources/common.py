"""What every adapter shares: the refusal type, body decoding, header lookup, token checks.

Pure code: no Flask, no Redis. Reception (router/pipeline/hooks.py) turns a `Refused` into a 4xx JSON
answer and a dead letter.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import math
import re
from typing import Mapping
from urllib.parse import parse_qs

from router.core.times import from_epoch, iso, parse_time


class Refused(Exception):
    """A request Sparky will not take; `status` is the HTTP status, `reason` says what is wrong."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


def header(headers: Mapping[str, str], name: str, default: str = "") -> str:
    """Case-insensitive header lookup that works for plain dicts and werkzeug Headers alike."""
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered:
            return value
    return default


def media_type(headers: Mapping[str, str]) -> str:
    return header(headers, "Content-Type").split(";")[0].strip().lower()


def is_form(headers: Mapping[str, str]) -> bool:
    return media_type(headers) == "application/x-www-form-urlencoded"


def is_json(headers: Mapping[str, str]) -> bool:
    kind = media_type(headers)
    return kind == "application/json" or kind.endswith("+json")


# Unicode policy at reception: text that is not valid Unicode is refused with a 400 naming the
# field (and dead-lettered by router/pipeline/hooks.py), never stored. Raw bytes that are not UTF-8 are
# refused by the decoders below; what remains are escapes that decode to lone surrogates, which
# Python accepts but Redis, Slack and every UTF-8 writer refuse later, far from the request: a JSON
# "\ud800" not paired with a low surrogate, or a form value whose %-escapes are not UTF-8 (%ED%A0%80).
# Only a JSON text containing a \uD800-\uDFFF escape can hold one, so the walk runs only then.
SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
HIGH_ESCAPE = re.compile(r"%[89a-fA-F][0-9a-fA-F]")


def not_unicode(value: str) -> str:
    """Empty when `value` is valid Unicode, else its first offending character as an escape (\\ud800)."""
    try:
        value.encode("utf-8")
        return ""
    except UnicodeEncodeError as exc:
        return ascii(value[exc.start])[1:-1]


def _refuse_bad_text(data: object, where: str) -> None:
    """Refuse (400, naming the field) the first key or string in `data` that is not valid Unicode."""
    stack = [(data, where)]
    while stack:
        value, path = stack.pop()
        if isinstance(value, str):
            if bad := not_unicode(value):
                raise Refused(400, f"{path or 'body'}: not valid Unicode (lone surrogate {bad}); send UTF-8 text")
        elif isinstance(value, dict):
            for key, item in value.items():
                if bad := not_unicode(key):
                    raise Refused(400, f"{path or 'body'}: a name is not valid Unicode (lone surrogate {bad}): "
                                       f"{ascii(key)}")
                stack.append((item, f"{path}.{key}" if path else key))
        elif isinstance(value, list):
            stack.extend((item, f"{path}[{index}]") for index, item in enumerate(value))


def decode_json(raw: bytes, where: str = "") -> object:
    """Decode a UTF-8 JSON body; Refused(400) when it is not UTF-8, not JSON, or not valid Unicode.

    `where` prefixes the path named in a refusal (JSON carried in a form field: "payload").
    """
    try:
        data = loads_finite(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise Refused(400, "body is not UTF-8") from None
    except json.JSONDecodeError as exc:
        raise Refused(400, f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise Refused(400, "invalid JSON: nested too deeply") from None
    except ValueError as exc:  # e.g. an integer longer than Python's int-to-str limit
        raise Refused(400, f"invalid JSON: {exc}") from None
    if SURROGATE_ESCAPE.search(raw):
        _refuse_bad_text(data, where)
    return data


class _NonFinite:
    """Stands in for a number JSON cannot hold, so the walk in `loads_finite` can name its field."""

    def __init__(self, literal: str):
        self.literal = literal


def loads_finite(text: str) -> object:
    """json.loads, refusing (400, naming the field) NaN, ±Infinity and numbers beyond a double.

    JSON has none of them, but Python's json reads the first three and turns `1e400` into inf,
    which then became a label "inf". Only float literals pass through the hook, so the common case
    costs nothing, and the document is walked only when one was found.
    """
    found: list[_NonFinite] = []

    def refuse(literal: str) -> object:
        found.append(_NonFinite(literal))
        return found[-1]

    def number(literal: str) -> object:
        value = float(literal)
        return value if math.isfinite(value) else refuse(literal)

    data = json.loads(text, parse_constant=refuse, parse_float=number)
    if found:
        shown = found[0].literal if len(found[0].literal) <= 40 else found[0].literal[:40] + "…"
        raise Refused(400, f"{_path_of(data, found[0]) or 'body'}: {shown} is not a finite number")
    return data


def _path_of(data: object, target: object) -> str:
    """Where `target` sits in decoded JSON, as `a.b[2].c` ("" for the document itself)."""
    stack: list[tuple[object, str]] = [(data, "")]
    while stack:
        node, path = stack.pop()
        if node is target:
            return path
        if isinstance(node, dict):
            items = [(v, f"{path}.{k}" if path else str(k)) for k, v in node.items()]
        elif isinstance(node, list):
            items = [(v, f"{path}[{i}]") for i, v in enumerate(node)]
        else:
            continue
        stack.extend(reversed(items))
    return ""


def decode_form(raw: bytes) -> dict[str, str]:
    """A form body as a flat dict (the last value wins for repeated keys).

    %-escapes that are not UTF-8 are refused naming the field, as raw bytes that are not UTF-8 are
    (surrogateescape keeps them apart from a real U+FFFD so they can be found).
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused(400, "form body is not UTF-8") from None
    pairs = parse_qs(text, keep_blank_values=True, errors="surrogateescape")
    form = {key: values[-1] for key, values in pairs.items()}
    if not HIGH_ESCAPE.search(text):  # only a %-escaped byte over 0x7F can be one that is not UTF-8
        return form
    for key, values in pairs.items():
        if not_unicode(key):
            raise Refused(400, f"form field name {key.encode('utf-8', 'surrogateescape')!r}: not valid UTF-8")
        if any(not_unicode(value) for value in values):
            raise Refused(400, f"form field {key}: not valid UTF-8")
    return form


def json_object(raw: bytes, headers: Mapping[str, str], allow_form_payload: bool = False) -> dict:
    """Decode a JSON object body; with `allow_form_payload`, also a form body carrying `payload=<json>`."""
    if is_form(headers) and allow_form_payload:
        form = decode_form(raw)
        if "payload" not in form:
            raise Refused(400, "form body has no payload field")
        data = decode_json(form["payload"].encode("utf-8"), "payload")
    elif is_json(headers) or not media_type(headers):
        data = decode_json(raw)
    else:
        raise Refused(415, f"unsupported content type {media_type(headers)!r}; send application/json")
    if not isinstance(data, dict):
        raise Refused(400, f"expected a JSON object, got {type(data).__name__}")
    return data


def hmac_sha256_hex(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def same(a: str, b: str) -> bool:
    """Constant-time comparison of two secrets or signatures."""
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


def presented_token(headers: Mapping[str, str], query: Mapping[str, str]) -> str:
    """The token a source that cannot sign sent, from any of SPEC §3's carriers."""
    auth = header(headers, "Authorization")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return header(headers, "X-Sparky-Token") or header(headers, "X-API-KEY") or query.get("token", "")


def check_token(headers: Mapping[str, str], query: Mapping[str, str], tokens: tuple[str, ...]) -> None:
    """Refuse with 401 unless one of `tokens` was presented; no tokens configured = check off."""
    if not tokens:
        return
    given = presented_token(headers, query)
    if not given:
        raise Refused(401, "missing token: send Authorization: Bearer, X-Sparky-Token, X-API-KEY or ?token=")
    # Compare against every token so the time taken does not say which one nearly matched.
    ok = False
    for token in tokens:
        ok |= same(given, token)
    if not ok:
        raise Refused(401, "invalid token")


def text(value: object) -> str:
    """Vendor values as strings: None → "", numbers without a trailing `.0`."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# Lenient readers for vendor payloads: any shape in, a plain value out, never an exception.
# The fuzz tests feed random JSON through every adapter, so adapters read through these.

SCALARS = (str, int, float, bool)


def dig(data: object, *path: str) -> object:
    """The value at `path` in nested objects; None when a step is missing or not an object."""
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def string(data: object, *path: str) -> str:
    """The scalar at `path` as text; "" when missing, null, or an object/list."""
    value = dig(data, *path)
    return text(value) if isinstance(value, SCALARS) else ""


def obj(data: object, *path: str) -> dict:
    """The object at `path`, or {} when it is missing or something else."""
    value = dig(data, *path)
    return value if isinstance(value, dict) else {}


def seq(data: object, *path: str) -> list:
    """The list at `path`, or [] when it is missing or something else."""
    value = dig(data, *path)
    return value if isinstance(value, list) else []


def epoch_iso(value: object, per_second: int = 1) -> str:
    """A unix time (number or numeric string; ms with per_second=1000) as ISO 8601, "" if unusable."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return ""
    try:
        return from_epoch(float(value) / per_second)
    except (ValueError, OverflowError, OSError):
        return ""


def time_iso(value: object) -> str:
    """An ISO 8601 time string normalised to Sparky's form, "" if missing or unparseable."""
    if not isinstance(value, str) or not value:
        return ""
    try:
        return iso(parse_time(value))
    except (ValueError, OverflowError):
        return ""


def first_line(value: str, limit: int = 200) -> str:
    """The first line of `value`, cut to `limit` characters (summaries are one line)."""
    line = value.strip().split("\n", 1)[0].strip()
    return line if len(line) <= limit else line[: limit - 1] + "…"


def require(value: str, field: str) -> str:
    """`value` when non-empty, else Refused(400) naming the field."""
    if not value:
        raise Refused(400, f"{field}: missing")
    return value


def payload_object(payload: object) -> dict:
    """Guard for parse(): adapters take the object their load() returned, anything else is a 400."""
    if not isinstance(payload, dict):
        raise Refused(400, f"expected a JSON object, got {type(payload).__name__}")
    return payload
