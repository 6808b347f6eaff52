"""Per-channel pace for Slack (SPARKY_SLACK_RATE messages per second), held in Redis.

Slack allows about one message per second per channel. Every worker process asks Redis for the
next free send time of the channel ("slot"); a message whose slot is later is not dropped and
not slept on: the job comes back at that time (RQ's scheduler), and its slot is kept for it under
its delivery key, so it does not queue behind messages that asked after it.

The same round trip answers whether the message was already sent (its delivery marker), and
marks it "sending" when it may go now: one script, one round trip per message.
"""
from __future__ import annotations

import json
import time

from redis import Redis

from router.core import brain
from router.core.brain import script

# KEYS: delivery marker, channel's next free time, channel's reserved slots
# ARGV: now (ms), spacing (ms, 0 = no limit), delivery key, marker ttl (s), marker value, slot ttl (ms)
# → {"sent"|"sending", marker} | {"wait", slot ms} | {"go", ""}
ACQUIRE = """
local marker = redis.call('GET', KEYS[1])
if marker then
  local state = cjson.decode(marker)['state']
  if state == 'sent' or state == 'sending' then return {state, marker} end
end
local now = tonumber(ARGV[1])
local spacing = tonumber(ARGV[2])
if spacing > 0 then
  local slot = tonumber(redis.call('HGET', KEYS[3], ARGV[3]) or '-1')
  if slot < 0 then
    slot = tonumber(redis.call('GET', KEYS[2]) or '0')
    if slot < now then slot = now end
    redis.call('SET', KEYS[2], tostring(slot + spacing), 'PX', tonumber(ARGV[6]) + slot - now)
    if slot > now then
      redis.call('HSET', KEYS[3], ARGV[3], tostring(slot))
      redis.call('PEXPIRE', KEYS[3], tonumber(ARGV[6]) + slot - now)
    end
  end
  if slot > now then return {'wait', tostring(slot)} end
  redis.call('HDEL', KEYS[3], ARGV[3])
end
redis.call('SET', KEYS[1], ARGV[5], 'EX', tonumber(ARGV[4]))
return {'go', ''}
"""

# KEYS: channel's next free time, reserved slots. ARGV: delivery key, until (ms), spacing (ms), ttl (ms)
# Slack said 429: nothing goes to the channel before `until`, and this message goes first then.
HOLD = """
local after = tonumber(ARGV[2]) + tonumber(ARGV[3])
local nxt = tonumber(redis.call('GET', KEYS[1]) or '0')
if nxt < after then
  redis.call('SET', KEYS[1], tostring(after), 'PX', tonumber(ARGV[4]))
end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[4]))
return 1
"""

SLOT_TTL_MS = 3600 * 1000


def spacing_ms(rate: float) -> int:
    return int(round(1000 / rate)) if rate and rate > 0 else 0


def acquire(conn: Redis, room: str, delivery_key: str, rate: float, marker_value: dict,
            marker_ttl: int = brain.ACTION_OUTCOME_TTL, now: float | None = None) -> tuple[str, object]:
    """May the message with `delivery_key` go to `room` now?

    Returns ("sent"|"sending", marker dict) when a marker exists, ("wait", slot epoch seconds)
    when its turn is later, or ("go", None) after marking it sending.
    """
    now = time.time() if now is None else now
    now_ms = int(now * 1000)
    state, value = script(conn, ACQUIRE, [brain.key_delivery(delivery_key), brain.key_rate_next(room),
                                          brain.key_rate_slots(room)],
                          [now_ms, spacing_ms(rate), delivery_key, marker_ttl, json.dumps(marker_value),
                           SLOT_TTL_MS])
    state = state.decode() if isinstance(state, bytes) else state
    if state in ("sent", "sending"):
        return state, json.loads(value)
    if state == "wait":
        return "wait", int(value) / 1000
    return "go", None


def hold(conn: Redis, room: str, delivery_key: str, until: float, rate: float) -> None:
    """After a 429: keep the channel quiet until `until` and give this message the first slot."""
    spacing = spacing_ms(rate)
    if not spacing:
        return  # no pacing: nothing reads the channel's slots
    until_ms = int(until * 1000)
    script(conn, HOLD, [brain.key_rate_next(room), brain.key_rate_slots(room)],
           [delivery_key, until_ms, spacing, SLOT_TTL_MS + max(0, until_ms - int(time.time() * 1000))])


def reserved(conn: Redis, room: str) -> dict[str, float]:
    """Slots reserved now for a channel: delivery key → send time (for tests and the dashboard)."""
    raw = conn.hgetall(brain.key_rate_slots(room))
    return {k.decode(): int(v) / 1000 for k, v in raw.items()}
