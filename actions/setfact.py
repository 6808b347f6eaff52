"""`set`: write a fact into the brain, e.g. `set: {key: "deploying:{labels.app}", ttl: 30m}`.

A fact is a name → value with a lifetime (every fact expires: names are templates, so they could
grow without bound). Facts are listed in an index capped at brain.FACT_INDEX_CAP names; rules and
commands read them with `get`.
"""
from __future__ import annotations

import json
import time

from redis import Redis

from router.core import brain
from router.core.config import Config
from router.core.durations import seconds
from router.core.outcomes import Permanent
from router.core.templates import render
from router.jobs.context import Context

DEFAULT_TTL = 7 * 86400


def set_fact(signal: dict, conn: Redis, config: Config, *, key: str, value: object = "true",
             ttl: object = None, ctx: Context | None = None) -> str:
    """Write `value` (a template when text, else stored as JSON) under the fact name `key` (a template)."""
    fact = render(key, signal).strip()
    if not fact:
        raise Permanent(f"set: the key {key!r} renders empty for this signal")
    text = render(value, signal) if isinstance(value, str) else json.dumps(value, sort_keys=True)
    lifetime = int(seconds(ttl)) if ttl else DEFAULT_TTL
    write(conn, fact, text, lifetime)
    return f"set {fact} = {text!r} for {lifetime}s"


def write(conn: Redis, name: str, value: str, ttl: int) -> None:
    with conn.pipeline(transaction=True) as pipe:
        pipe.set(brain.key_fact(name), value, ex=ttl)
        pipe.zadd(brain.key_facts(), {name: time.time() + ttl})
        pipe.zremrangebyscore(brain.key_facts(), "-inf", time.time())
        pipe.zremrangebyrank(brain.key_facts(), 0, -brain.FACT_INDEX_CAP - 1)
        pipe.execute()


def get(conn: Redis, name: str) -> str | None:
    value = conn.get(brain.key_fact(name))
    return value.decode() if value is not None else None


def all_facts(conn: Redis) -> dict[str, str]:
    """Every fact still alive: name → value."""
    names = [n.decode() for n in conn.zrangebyscore(brain.key_facts(), time.time(), "+inf")]
    values = conn.mget([brain.key_fact(n) for n in names]) if names else []
    return {n: v.decode() for n, v in zip(names, values) if v is not None}
