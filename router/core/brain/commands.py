"""Chat commands and audit: command records, room names, snooze ids and history, audit reads."""
from __future__ import annotations

import json

from redis import Redis

from router.core.brain.base import PREFIX
from router.core.brain.shared import key_audit, key_snooze, key_snoozes

# -- chat commands and audit -------------------------------------------------------------------------
# Written by router/commands: one record per command signal (claim, reply, delivery), the
# channel-name cache, snooze ids, ended snoozes, and reads of the audit stream.

COMMAND_TTL = 7 * 24 * 3600      # a command's record lives as long as its signal
COMMAND_CLAIM_TTL = 300          # seconds one process may take to run a claimed command
SNOOZE_HISTORY_CAP = 1_000       # ended snoozes kept for `why` and the audit trail
SNOOZE_HISTORY_TTL = 30 * 24 * 3600



def key_command(signal_id: str) -> str:
    """JSON per command signal: {"state": running|answered|delivered, "reply": {...}} (idempotence)."""
    return f"{PREFIX}command:{signal_id}"


def key_room_names() -> str:
    """Hash: Slack channel id → channel name, learnt from slash commands and buttons (mentions
    carry only the id, permissions.yml names rooms as `#ops`)."""
    return f"{PREFIX}room-names"


def key_snooze_seq() -> str:
    """Counter behind snooze ids (`s1`, `s2`, ...): short enough to type in `unsnooze`."""
    return f"{PREFIX}snooze-seq"


def key_snooze_history() -> str:
    """List of ended snoozes (JSON, with ended_at/ended_by), newest first, capped."""
    return f"{PREFIX}snoozes:ended"


def key_snooze_ended(snooze_id: str) -> str:
    """Marker that a snooze's end was handled (audit + history once); holds the snooze JSON."""
    return f"{PREFIX}snooze-ended:{snooze_id}"


def key_upstream_silences(snooze_id: str) -> str:
    """Hash per snooze written back to an Alertmanager (router/snoozes/upstream.py): the silence's
    matchers (JSON) → the id that Alertmanager gave it."""
    return f"{PREFIX}snooze-upstream:{snooze_id}"


def upstream_silences(conn: Redis, snooze_id: str) -> dict[str, str]:
    return {k.decode(): v.decode() for k, v in conn.hgetall(key_upstream_silences(snooze_id)).items()}


def add_upstream_silence(conn: Redis, snooze_id: str, matchers: str, silence_id: str, ttl: int) -> None:
    pipe = conn.pipeline(transaction=True)
    pipe.hset(key_upstream_silences(snooze_id), matchers, silence_id)
    pipe.expire(key_upstream_silences(snooze_id), max(1, ttl))
    pipe.execute()


def forget_upstream_silence(conn: Redis, snooze_id: str, matchers: str) -> None:
    conn.hdel(key_upstream_silences(snooze_id), matchers)


def next_snooze_id(conn: Redis) -> str:
    return f"s{conn.incr(key_snooze_seq())}"


def load_snooze(conn: Redis, snooze_id: str) -> dict | None:
    raw = conn.get(key_snooze(snooze_id))
    return json.loads(raw) if raw else None


def is_active_snooze(conn: Redis, snooze_id: str) -> bool:
    return conn.zscore(key_snoozes(), snooze_id) is not None


def retire_snooze(conn: Redis, snooze: dict) -> bool:
    """Record an ended snooze once: history entry, end marker, key and index removed.

    Returns False when it was retired before (a re-run end job); the caller then skips the audit.
    """
    marker = key_snooze_ended(snooze["id"])
    if not conn.set(marker, json.dumps(snooze), nx=True, ex=SNOOZE_HISTORY_TTL):
        return False
    pipe = conn.pipeline(transaction=True)
    pipe.lpush(key_snooze_history(), json.dumps(snooze))
    pipe.ltrim(key_snooze_history(), 0, SNOOZE_HISTORY_CAP - 1)
    pipe.expire(key_snooze_history(), SNOOZE_HISTORY_TTL)
    pipe.delete(key_snooze(snooze["id"]))
    pipe.zrem(key_snoozes(), snooze["id"])
    pipe.execute()
    return True


def ended_snooze(conn: Redis, snooze_id: str) -> dict | None:
    raw = conn.get(key_snooze_ended(snooze_id))
    return json.loads(raw) if raw else None


def snooze_history(conn: Redis, limit: int = SNOOZE_HISTORY_CAP) -> list[dict]:
    return [json.loads(raw) for raw in conn.lrange(key_snooze_history(), 0, limit - 1)]


def _entry(entry_id, fields: dict) -> dict:
    decoded = {(k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
               for k, v in fields.items()}
    return {"id": entry_id.decode() if isinstance(entry_id, bytes) else entry_id, **decoded}


def audit_entries(conn: Redis, limit: int = 100, before: str = "+", filters: dict | None = None,
                  scan_cap: int = 10_000) -> tuple[list[dict], str]:
    """Newest-first audit entries matching `filters` (field → exact value), at most `limit`.

    Reads the stream backwards in chunks, looking at no more than `scan_cap` entries. Returns
    (entries, cursor): pass the cursor as `before` for the next page ("" when there is none).
    """
    filters = {k: v for k, v in (filters or {}).items() if v}
    found: list[dict] = []
    cursor, seen = before or "+", 0
    exclusive = cursor != "+"
    while len(found) < limit and seen < scan_cap:
        chunk = conn.xrevrange(key_audit(), max=f"({cursor}" if exclusive else cursor, min="-",
                               count=min(500, scan_cap - seen))
        if not chunk:
            return found, ""
        for entry_id, fields in chunk:
            entry = _entry(entry_id, fields)
            seen += 1
            cursor, exclusive = entry["id"], True
            if all(entry.get(k) == v for k, v in filters.items()):
                found.append(entry)
                if len(found) == limit:
                    break
    return found, cursor


def audit_after(conn: Redis, last_id: str, block_ms: int = 0, count: int = 100) -> list[dict]:
    """Audit entries newer than `last_id` ("$" = from now on), waiting up to `block_ms` for one."""
    answer = conn.xread({key_audit(): last_id}, count=count, block=block_ms or None)
    return [_entry(entry_id, fields) for _stream, entries in (answer or []) for entry_id, fields in entries]
