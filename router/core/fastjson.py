"""JSON on the per-alert path, by orjson: the same documents, 5-10x less CPU.

Every alert is encoded and decoded about ten times between its POST and its delivery (the stored
signal, the decision, the alert's labels and timeline, the outcome record, the webhook's body),
~9 µs a round trip with the standard library against ~1.5 µs with orjson (bench/RESULTS.md).

What differs from `json.dumps`: no spaces after separators, non-ASCII text as UTF-8 rather than
`\\uXXXX` escapes — the same document to any JSON reader — and a float NaN or Infinity (which is
not JSON; reception refuses them) is written as null. What orjson cannot encode (an integer wider
than 64 bits, a type it does not know) goes to the standard library, which encodes it or raises
TypeError as before; a document orjson cannot decode (one stored with `NaN` by an older version)
goes to the standard library's decoder too. Inbound bodies keep the standard library's decoder
(sources/common.py): its errors name the field for the sender's 400.
"""
from __future__ import annotations

import json

import orjson

_OPTIONS = orjson.OPT_NON_STR_KEYS
_SORTED = orjson.OPT_NON_STR_KEYS | orjson.OPT_SORT_KEYS


def dumps(obj, *, sort_keys: bool = False) -> str:
    try:
        return orjson.dumps(obj, option=_SORTED if sort_keys else _OPTIONS).decode()
    except TypeError:   # orjson.JSONEncodeError is one
        return json.dumps(obj, sort_keys=sort_keys)


def loads(raw: str | bytes):
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return json.loads(raw)
