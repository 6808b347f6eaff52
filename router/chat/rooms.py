"""Built-in rooms: chat kept in the brain when no SLACK_BOT_TOKEN is set (SPEC §2).

A room is a capped list of messages, newest first, under `brain.key_room(room)`; the set of rooms
is a sorted set by last activity. Posting is one Lua script that also sets the message's delivery
marker, so a retried or re-run job never posts the same message twice: exactly once, not merely
at least once. Readers are the rooms API, `sparky rooms tail` and the dashboard.
"""
from __future__ import annotations

import json
import time

from redis import Redis

from router.core import brain
from router.core.brain import script
from router.core.signal import new_id
from router.core.times import from_epoch, utcnow

ROOMS_CAP = 1_000                # rooms kept in the index
ROOM_TTL = 30 * 24 * 3600        # a room nobody posts to for this long is forgotten

# KEYS: delivery marker, room list, room index, alert threads (or "" without an anchor).
# ARGV: message, room, now, cap, marker ttl, marker, rooms cap, room ttl, message id, threads ttl,
# the room's name in the alert's threads (the rule's `builtin:#ops` for the room `#ops`).
# → {1, marker} when posted now, {0, marker} when it was posted before.
POST = """
local marker = redis.call('GET', KEYS[1])
if marker then return {0, marker} end
redis.call('SET', KEYS[1], ARGV[6], 'EX', tonumber(ARGV[5]))
redis.call('LPUSH', KEYS[2], ARGV[1])
redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[4]) - 1)
redis.call('EXPIRE', KEYS[2], tonumber(ARGV[8]))
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[2])
redis.call('ZREMRANGEBYRANK', KEYS[3], 0, -tonumber(ARGV[7]) - 1)
if KEYS[4] ~= '' then
  redis.call('HSET', KEYS[4], ARGV[11], ARGV[9])
  redis.call('EXPIRE', KEYS[4], tonumber(ARGV[10]))
end
return {1, ARGV[6]}
"""


def post(conn: Redis, room: str, delivery_key: str, message: dict, anchor: str = "",
         named: str = "") -> tuple[str, bool]:
    """Append `message` to `room` unless `delivery_key` was posted already; with `anchor` (an
    alert fingerprint), remember it as that alert's thread in the room (under `named`, the room's
    name as the rule wrote it, when that differs).

    Returns (message id, posted now?). The message gets `id`, `ts` and `room` filled in.
    """
    message = {"id": new_id(), "ts": utcnow(), "room": room, **message}
    marker = json.dumps({"state": "sent", "room": room, "ts": message["id"], "transport": "rooms"})
    keys = [brain.key_delivery(delivery_key), brain.key_room(room), brain.key_rooms(),
            brain.key_alert_threads(anchor) if anchor else ""]
    posted, stored = script(conn, POST, keys, [
        json.dumps(message), room, time.time(), brain.ROOM_CAP, brain.ACTION_OUTCOME_TTL, marker, ROOMS_CAP,
        ROOM_TTL, message["id"], brain.ALERT_STATE_TTL, named or room])
    return json.loads(stored)["ts"], bool(posted)


def list_rooms(conn: Redis) -> list[dict]:
    """Every room with messages, most recently active first."""
    rooms = [(r.decode(), score) for r, score in conn.zrevrange(brain.key_rooms(), 0, -1, withscores=True)]
    pipe = conn.pipeline(transaction=False)
    for room, _ in rooms:
        pipe.llen(brain.key_room(room))
    counts = pipe.execute()
    return [{"room": room, "messages": count, "last_at": from_epoch(score)}
            for (room, score), count in zip(rooms, counts) if count]


def exists(conn: Redis, room: str) -> bool:
    return bool(conn.exists(brain.key_room(room)))


def messages(conn: Redis, room: str, limit: int = 50, after: str = "") -> list[dict]:
    """The newest `limit` messages of `room`, oldest first; with `after`, only those newer than
    the message with that id (all `limit` newest if it is no longer kept)."""
    newest_first = [json.loads(raw) for raw in conn.lrange(brain.key_room(room), 0, limit - 1)]
    if after:
        for position, message in enumerate(newest_first):
            if message.get("id") == after:
                newest_first = newest_first[:position]
                break
    return list(reversed(newest_first))


def format_line(message: dict) -> str:
    """One message as a terminal line: time, thread mark, text, buttons."""
    when = message.get("ts", "")[11:19]
    thread = "  ↳ " if message.get("thread") else ""
    text = message.get("text", "")
    buttons = "".join(f"  [{b.get('text')}]" for b in message.get("buttons") or [])
    lines = text.splitlines() or [""]
    head = f"{when} {thread}{lines[0]}{buttons}"
    indent = " " * (len(when) + 1 + len(thread))
    return "\n".join([head, *(indent + line for line in lines[1:])])
