"""Who holds the bot's XMPP connection: one `sparky xmpp` at a time, with its state for the rest.

Two connected holders would each see every command in a room and answer it twice, so the holder
claims `brain.key_xmpp_holder()` (SET NX with a TTL) and refreshes it every REFRESH seconds with
its state (online, rooms joined). A holder that dies stops refreshing and its claim runs out; a
second `sparky xmpp` waits for that. Workers read the record to refuse early ("no `sparky xmpp`
is running") instead of queueing posts nobody will send.
"""
from __future__ import annotations

import json
import os
import socket
import time
import uuid

from redis import Redis

from router.core import brain
from router.core.brain import script

REFRESH = 2.0

# KEYS: holder. ARGV: holder id, new record, ttl. → 1 when still ours (and refreshed), else 0.
REFRESH_IF_OURS = """
local raw = redis.call('GET', KEYS[1])
if raw and cjson.decode(raw)['id'] ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'EX', tonumber(ARGV[3]))
return 1
"""

# KEYS: holder. ARGV: holder id. Deletes the claim only when it is ours.
RELEASE_IF_OURS = """
local raw = redis.call('GET', KEYS[1])
if raw and cjson.decode(raw)['id'] == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 0
"""


def me() -> dict:
    """A new holder record for this process (not yet claimed)."""
    return {"id": uuid.uuid4().hex, "pid": os.getpid(), "host": socket.gethostname(), "online": False,
            "rooms": [], "since": time.time()}


def claim(conn: Redis, record: dict) -> bool:
    return bool(conn.set(brain.key_xmpp_holder(), json.dumps(record), nx=True, ex=brain.XMPP_HOLDER_TTL))


def refresh(conn: Redis, record: dict) -> bool:
    """Write our state and extend the claim; False when another process holds it now."""
    return bool(script(conn, REFRESH_IF_OURS, [brain.key_xmpp_holder()],
                       [record["id"], json.dumps(record), brain.XMPP_HOLDER_TTL]))


def release(conn: Redis, record: dict) -> None:
    script(conn, RELEASE_IF_OURS, [brain.key_xmpp_holder()], [record["id"]])


def current(conn: Redis) -> dict | None:
    """The holder's record, or None when no `sparky xmpp` holds the connection."""
    raw = conn.get(brain.key_xmpp_holder())
    return json.loads(raw) if raw else None
