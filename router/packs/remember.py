"""`pack`: the action that lets rules feed a pack's brain, e.g. the traffic source's visitor ids
into the `traffic` pack's HyperLogLog for the day:

    then:
      - pack: {pack: traffic, op: hll add, key: "visits:{{ occurred_at[:10] }}", value: "{text}"}

The same ops as a pack command's `brain:` (router/packs/run.py), on the same namespace; `value`
and `key` are templates over the signal (plus `occurred_date`, the day it happened, UTC). For
`hll add` each line of the value is one member.
"""
from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate
from redis import Redis

from router.core import brain
from router.core.config import Config
from router.core.durations import seconds
from router.core.outcomes import Permanent
from router.core.templates import render
from router.packs.run import RedisStore
from router.packs.schema import BRAIN_OPS, DEFAULT_CAP

WRITES = tuple(op for op in BRAIN_OPS if op not in ("get", "list", "pick random", "hll count"))


class PackParams(Schema):
    class Meta:
        unknown = RAISE

    pack = fields.String(required=True, validate=validate.Regexp(r"^[a-z][a-z0-9_-]*$"))
    op = fields.String(required=True, validate=validate.OneOf(WRITES))
    key = fields.String(required=True)
    value = fields.String(load_default="")
    by = fields.Integer(strict=True, load_default=1)
    ttl = fields.String()
    cap = fields.Integer(strict=True, load_default=DEFAULT_CAP, validate=validate.Range(min=1, max=100_000))


def remember(signal: dict, conn: Redis, config: Config, *, pack: str, op: str, key: str, value: str = "",
             by: int = 1, ttl: str | None = None, cap: int = DEFAULT_CAP, ctx=None) -> str:
    name = render(key, signal).strip()
    if not name:
        raise Permanent(f"pack: the key {key!r} renders empty for this signal")
    text = render(value, signal)
    member = [line.strip() for line in text.splitlines() if line.strip()] if op == "hll add" else text
    store = RedisStore(conn, lambda k: brain.key_pack(pack, k))
    result, changed = store.op(op, name, member, by=by, ttl=seconds(ttl) if ttl else None, cap=cap)
    shown = f"{len(result)} items" if isinstance(result, list) else result
    return f"{pack}: {op} {name} → {shown}" + ("" if changed else " (unchanged)")
