"""Export the brain to a JSON file and import it back (`sparky brain export|import`).

Every key under the `sparky:` prefix, with its type, remaining TTL and value, in a format a
person can read and diff. Values are text when they are UTF-8, else base64. RQ's queues are not
part of the brain: they are work in flight, and are drained before a migration.
"""
from __future__ import annotations

import base64
from typing import Iterator

from redis import Redis

from router.core.brain import PREFIX

FORMAT = "sparky-brain/1"


def _enc(value: bytes) -> str | dict:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(value).decode("ascii")}


def _dec(value: str | dict) -> bytes:
    return base64.b64decode(value["base64"]) if isinstance(value, dict) else value.encode("utf-8")


def _read(conn: Redis, key: bytes, kind: str):
    if kind == "string":
        return _enc(conn.get(key))
    if kind == "hash":
        return {_enc(k): _enc(v) for k, v in conn.hgetall(key).items()}
    if kind == "list":
        return [_enc(v) for v in conn.lrange(key, 0, -1)]
    if kind == "set":
        return sorted(_enc(v) for v in conn.smembers(key))
    if kind == "zset":
        return [[_enc(m), s] for m, s in conn.zrange(key, 0, -1, withscores=True)]
    if kind == "stream":
        return [[_enc(i), {_enc(k): _enc(v) for k, v in fields.items()}] for i, fields in conn.xrange(key)]
    raise ValueError(f"key {key!r} has unsupported type {kind}")


def export(conn: Redis) -> dict:
    keys = {}
    for key in sorted(conn.scan_iter(match=f"{PREFIX}*", count=1000)):
        kind = conn.type(key).decode()
        ttl = conn.pttl(key)
        keys[key.decode()] = {"type": kind, "ttl_ms": ttl if ttl > 0 else None, "value": _read(conn, key, kind)}
    return {"format": FORMAT, "keys": keys}


def _write(pipe, key: str, kind: str, value) -> None:
    if kind == "string":
        pipe.set(key, _dec(value))
    elif kind == "hash":
        pipe.hset(key, mapping={_dec(k): _dec(v) for k, v in value.items()})
    elif kind == "list":
        pipe.rpush(key, *[_dec(v) for v in value])
    elif kind == "set":
        pipe.sadd(key, *[_dec(v) for v in value])
    elif kind == "zset":
        pipe.zadd(key, {_dec(m): s for m, s in value})
    elif kind == "stream":
        for entry_id, fields in value:
            pipe.xadd(key, {_dec(k): _dec(v) for k, v in fields.items()}, id=_dec(entry_id))
    else:
        raise ValueError(f"key {key!r} has unsupported type {kind}")


def problems(data: dict) -> Iterator[str]:
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        yield f"not a Sparky brain export (expected format {FORMAT!r})"
        return
    for key, entry in data.get("keys", {}).items():
        if not key.startswith(PREFIX):
            yield f"{key}: outside the {PREFIX!r} prefix"
        elif not isinstance(entry, dict) or entry.get("type") not in {"string", "hash", "list", "set", "zset",
                                                                        "stream"}:
            yield f"{key}: unknown type {entry.get('type') if isinstance(entry, dict) else entry!r}"


def import_(conn: Redis, data: dict, replace: bool = False) -> int:
    """Write the keys of an export; existing keys are kept unless `replace`. Returns keys written."""
    found = list(problems(data))
    if found:
        raise ValueError("; ".join(found))
    written = 0
    pipe = conn.pipeline(transaction=True)
    for key, entry in data["keys"].items():
        if conn.exists(key):
            if not replace:
                continue
            pipe.delete(key)
        if entry["value"] in ([], {}, None):
            continue
        _write(pipe, key, entry["type"], entry["value"])
        if entry.get("ttl_ms"):
            pipe.pexpire(key, entry["ttl_ms"])
        written += 1
    pipe.execute()
    return written
