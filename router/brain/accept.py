"""Reception's write, as one Lua script: de-duplicate, store, index, count, mark pending.

Why a script: the same work as a SET NX/GET pipeline followed by a MULTI of ~10 commands cost two
round trips and ~12 replies parsed by redis-py per request — about half of the web tier's CPU
(bench/RESULTS.md). One EVALSHA does it in one round trip, and being atomic it needs no "release
the delivery keys if the store failed" step: a signal is stored together with its delivery key or
not at all. The delivery key is written last, so should Redis refuse a write half-way (out of
memory), the sender's retry is taken as new: a duplicate is possible, a loss is not.
"""
from __future__ import annotations

import json

from redis import Redis

from router.brain.shared import key_metrics
from router.brain.signals import (SIGNAL_INDEX_CAP, key_dedup, key_drain_flag, key_pending,
                                  key_signal, signal_indexes)

__all__ = ["accept_signals"]

# KEYS: pending set, drain flag, metrics hash, then six per signal: delivery key ("" when the
#       source sends none), signal key, and its four index lists.
# ARGV: now, signal TTL, delivery-key TTL, drain-flag TTL, index cap, metric field for accepted,
#       metric field for duplicates, then id and JSON body per signal.
# Returns: {1 if the drain flag was taken else 0, holder id per signal} — the holder is the
#          signal's own id when it is new, the original's id when it is a re-delivery.
ACCEPT_LUA = """
local now, ttl, dedup_ttl, flag_ttl, cap = ARGV[1], ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5])
local holders = {}
local accepted, duplicates = 0, 0
for i = 1, (#KEYS - 3) / 6 do
  local k = 3 + (i - 1) * 6
  local id, body = ARGV[6 + 2 * i], ARGV[7 + 2 * i]
  local dedup = KEYS[k + 1]
  local holder = false
  if dedup ~= '' then holder = redis.call('GET', dedup) end
  if holder then
    duplicates = duplicates + 1
  else
    redis.call('SET', KEYS[k + 2], body, 'EX', ttl)
    for j = k + 3, k + 6 do
      redis.call('LPUSH', KEYS[j], id)
      redis.call('LTRIM', KEYS[j], 0, cap - 1)
    end
    redis.call('ZADD', KEYS[1], now, id)
    if dedup ~= '' then redis.call('SET', dedup, id, 'EX', dedup_ttl) end
    holder = id
    accepted = accepted + 1
  end
  holders[i + 1] = holder
end
holders[1] = 0
if accepted > 0 then
  redis.call('HINCRBY', KEYS[3], ARGV[6], accepted)
  if redis.call('SET', KEYS[2], '1', 'NX', 'EX', flag_ttl) then holders[1] = 1 end
end
if duplicates > 0 then redis.call('HINCRBY', KEYS[3], ARGV[7], duplicates) end
return holders
"""

_script = None  # a redis-py Script: EVALSHA, loading the script on NOSCRIPT


def _accept_script(conn: Redis):
    global _script
    if _script is None:
        _script = conn.register_script(ACCEPT_LUA)
    return _script


def accept_signals(conn: Redis, source: str, signals: list[dict], delivery_keys: list[str], *,
                   now: float, signal_ttl: int, dedup_ttl: int, flag_ttl: int,
                   metric_fields: tuple[str, str]) -> tuple[bool, list[str]]:
    """Store the signals that are not re-deliveries; returns (drain flag taken?, holder per signal).

    A delivery key of "" means the source gave none: the signal is always new.
    """
    keys = [key_pending(), key_drain_flag(), key_metrics()]
    args: list = [repr(now), signal_ttl, dedup_ttl, flag_ttl, SIGNAL_INDEX_CAP, *metric_fields]
    for data, delivery in zip(signals, delivery_keys):
        keys.append(key_dedup(source, delivery) if delivery else "")
        keys.append(key_signal(data["id"]))
        keys.extend(signal_indexes(data))
        args.append(data["id"])
        args.append(json.dumps(data))
    taken, *holders = _accept_script(conn)(keys=keys, args=args, client=conn)
    return bool(taken), [h.decode() if isinstance(h, bytes) else h for h in holders]
