"""Signals, their decisions and indexes, delivery keys, dead letters, the pending set."""
from __future__ import annotations

import json

from redis import Redis

from router.core import fastjson
from router.core.brain.base import PREFIX, digest

# Caps on everything that can grow without bound.
SIGNAL_INDEX_CAP = 10_000        # newest signal ids kept per index list
DEAD_LETTER_CAP = 10_000         # SPEC §3: the newest 10,000
DEAD_LETTER_BODY_CAP = 64 * 1024  # SPEC §3: the first 64 KiB of a refused body


# -- signals -----------------------------------------------------------------------------------

def key_signal(signal_id: str) -> str:
    return f"{PREFIX}signal:{signal_id}"


def key_decision(signal_id: str) -> str:
    """What the rules decided for one signal (written by the evaluation job)."""
    return f"{PREFIX}decision:{signal_id}"


def key_signal_index(source: str = "", kind: str = "") -> str:
    """Newest-first lists of signal ids: all, per source, per kind, per source+kind."""
    if source and kind:
        return f"{PREFIX}signals:source:{source}:kind:{kind}"
    if source:
        return f"{PREFIX}signals:source:{source}"
    if kind:
        return f"{PREFIX}signals:kind:{kind}"
    return f"{PREFIX}signals"


def key_dedup(source: str, delivery_key: str) -> str:
    return f"{PREFIX}dedup:{source}:{digest(delivery_key)}"


def key_dead_letters() -> str:
    return f"{PREFIX}dead-letters"


def key_self_alert(alertname: str) -> str:
    """String "firing" or "resolved": the state of one of Sparky's own alerts last raised
    (router/api/selfalert.py), so each change is raised once, by whichever process saw it first."""
    return f"{PREFIX}self-alert:{alertname}"


def key_pending() -> str:
    """Sorted set of signal ids waiting for evaluation, scored by receipt time (router/pipeline/intake.py)."""
    return f"{PREFIX}pending"


def key_pending_by_source() -> str:
    """Hash source -> how many of its signals are pending evaluation: each source's share of the
    backlog (router/pipeline/reception.py), kept by reception's script and the drain's settle."""
    return f"{PREFIX}pending:by-source"


def key_pending_source() -> str:
    """Hash signal id -> its source, for the pending signals: what the drain's settle decrements."""
    return f"{PREFIX}pending:source"


def key_drain_flag() -> str:
    """Held (with a TTL) while a drain job for the pending set is queued or running."""
    return f"{PREFIX}pending:draining"


def signal_indexes(data: dict) -> tuple[str, ...]:
    return (key_signal_index(), key_signal_index(source=data["source"]), key_signal_index(kind=data["kind"]),
            key_signal_index(source=data["source"], kind=data["kind"]))


def store_signals(pipe, signals: list[dict], ttl: int) -> None:
    """Queue the writes of signals and their index entries on `pipe` (the caller executes it).

    For signals made inside Sparky (chat, deploy requests), which skip reception's de-duplication;
    reception itself stores with one Lua script (router/core/brain/accept.py).
    """
    by_index: dict[str, list[str]] = {}
    for data in signals:
        pipe.set(key_signal(data["id"]), fastjson.dumps(data), ex=ttl)
        for index in signal_indexes(data):
            by_index.setdefault(index, []).append(data["id"])
    for index, ids in by_index.items():
        pipe.lpush(index, *ids)
        pipe.ltrim(index, 0, SIGNAL_INDEX_CAP - 1)


def load_signal(conn: Redis, signal_id: str) -> dict | None:
    raw = conn.get(key_signal(signal_id))
    return fastjson.loads(raw) if raw else None


def load_signals(conn: Redis, ids: list[str]) -> list[dict]:
    """The signals that still exist, in the order asked."""
    if not ids:
        return []
    raws = conn.mget([key_signal(i) for i in ids])
    return [fastjson.loads(raw) for raw in raws if raw]


def recent_signals(conn: Redis, source: str = "", kind: str = "", limit: int = 50) -> list[dict]:
    ids = [i.decode() if isinstance(i, bytes) else i
           for i in conn.lrange(key_signal_index(source, kind), 0, limit - 1)]
    return load_signals(conn, ids)


def push_dead_letter(conn: Redis, letter: dict) -> None:
    pipe = conn.pipeline(transaction=True)
    pipe.lpush(key_dead_letters(), json.dumps(letter))
    pipe.ltrim(key_dead_letters(), 0, DEAD_LETTER_CAP - 1)
    pipe.execute()


def dead_letters(conn: Redis, limit: int = 100) -> list[dict]:
    return [json.loads(raw) for raw in conn.lrange(key_dead_letters(), 0, limit - 1)]
