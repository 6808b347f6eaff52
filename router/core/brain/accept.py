"""Reception's write, as one Lua script: de-duplicate, store, index, count, mark pending.

Why a script: the same work as a SET NX/GET pipeline followed by a MULTI of ~10 commands cost two
round trips and ~12 replies parsed by redis-py per request — about half of the web tier's CPU
(bench/RESULTS.md). Within the script, a batch pushes to each index list once (an LPUSH of all
its ids) and trims it once: 8 commands per alert before, ~8 per request now. One EVALSHA does it in one round trip, and being atomic it needs no "release
the delivery keys if the store failed" step: a signal is stored together with its delivery key or
not at all. The delivery key is written last, so should Redis refuse a write half-way (out of
memory), the sender's retry is taken as new: a duplicate is possible, a loss is not.
"""
from __future__ import annotations

import json

from redis import Redis

from router.core.brain.actions import ALERT_STATE_TTL
from router.core.brain.shared import key_alert, key_alert_expiry, key_expiry_sweep, key_metrics
from router.core.brain.signals import (
    SIGNAL_INDEX_CAP,
    key_dedup,
    key_drain_flag,
    key_pending,
    key_signal,
    signal_indexes,
)
from router.core.times import from_epoch

__all__ = ["accept_signals"]

# KEYS: pending set, drain flag, metrics hash, alert expiry set, expiry sweep flag, then seven per
#       signal: delivery key
#       ("" when the source sends none), signal key, its four index lists, and its alert state
#       hash ("" unless it is an alert that lives only while re-sent: a "living alert", below).
# ARGV: now, signal TTL, delivery-key TTL, drain-flag TTL, index cap, metric field for accepted,
#       metric field for duplicates, now as ISO 8601, alert state TTL, sweep flag margin, then
#       five per signal: id, JSON body, fingerprint, status, and the epoch second it expires
#       ("" unless living).
# Returns: {1 if the drain flag was taken else 0, when to schedule an expiry sweep ("" = no need),
#          holder id per signal} — the holder is the signal's own id when it is new, the
#          original's id when it is a re-delivery.
#
# A living alert (Alertmanager semantics, router/alerts/expiry.py): a firing re-delivery refreshes the
# alert's last_seen and expiry instead of doing nothing, unless the alert was resolved after the
# original (by its expiry): then the alert fires again and the re-delivery is new. A new firing
# signal sets the expiry, a resolved one removes it. The sweep flag holds the time of the next
# scheduled sweep: a new expiry before it (or with none held) takes the flag and is returned, for
# the caller to schedule a sweep then (router/alerts/expiry.py), as the drain flag works for the drain.
ACCEPT_LUA = """
local now, ttl, dedup_ttl, flag_ttl, cap = ARGV[1], ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5])
local now_iso, state_ttl, margin = ARGV[8], ARGV[9], tonumber(ARGV[10])
local holders = {}
local accepted, duplicates = 0, 0
local soonest = false
local pushes, lists = {}, {}   -- index list -> ids to push: one LPUSH and one LTRIM per list per batch
for i = 1, (#KEYS - 5) / 7 do
  local k = 5 + (i - 1) * 7
  local a = 10 + (i - 1) * 5
  local id, body, fp, status, expires = ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], ARGV[a + 4], ARGV[a + 5]
  local dedup, alert = KEYS[k + 1], KEYS[k + 7]
  local firing = status == 'firing' or status == 'flapping'
  local holder = false
  if dedup ~= '' then holder = redis.call('GET', dedup) end
  if holder and alert ~= '' and firing then
    local state = redis.call('HMGET', alert, 'status', 'signal')
    if state[1] == 'resolved' and state[2] and state[2] > holder then
      holder = false
    else
      redis.call('ZADD', KEYS[4], expires, fp)
      if state[1] == 'firing' or state[1] == 'flapping' then
        redis.call('HSET', alert, 'last_seen', now_iso, 'expires', expires)
        redis.call('EXPIRE', alert, state_ttl)
      end
    end
  end
  if holder then
    duplicates = duplicates + 1
  else
    redis.call('SET', KEYS[k + 2], body, 'EX', ttl)
    for j = k + 3, k + 6 do
      local list = KEYS[j]
      local ids = pushes[list]
      if not ids then ids = {}; pushes[list] = ids; lists[#lists + 1] = list end
      ids[#ids + 1] = id
    end
    redis.call('ZADD', KEYS[1], now, id)
    if dedup ~= '' then redis.call('SET', dedup, id, 'EX', dedup_ttl) end
    if alert ~= '' then
      if firing then
        redis.call('ZADD', KEYS[4], expires, fp)
        if (not soonest) or tonumber(expires) < soonest then soonest = tonumber(expires) end
      else
        redis.call('ZREM', KEYS[4], fp)
      end
    end
    holder = id
    accepted = accepted + 1
  end
  holders[i + 2] = holder
end
for _, list in ipairs(lists) do
  local ids = pushes[list]
  for s = 1, #ids, 1000 do  -- LPUSH of many ids = one LPUSH each, in order; bounded for Lua's stack
    redis.call('LPUSH', list, unpack(ids, s, math.min(s + 999, #ids)))
  end
  redis.call('LTRIM', list, 0, cap - 1)
end
holders[1] = 0
holders[2] = ''
if soonest then
  local held = redis.call('GET', KEYS[5])
  if (not held) or soonest < tonumber(held) then
    redis.call('SET', KEYS[5], string.format('%.3f', soonest), 'EX', math.max(1, math.ceil(soonest - tonumber(now))) + margin)
    holders[2] = string.format('%.3f', soonest)
  end
end
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
                   metric_fields: tuple[str, str], expiries: list[float | None] | None = None,
                   sweep_margin: int = 60) -> tuple[bool, list[str], float | None]:
    """Store the signals that are not re-deliveries; returns (drain flag taken?, holder per signal,
    when to schedule an expiry sweep or None).

    A delivery key of "" means the source gave none: the signal is always new. `expiries` gives,
    per signal, the epoch second a living alert resolves unless re-sent (None: not a living alert).
    """
    expiries = expiries or [None] * len(signals)
    keys = [key_pending(), key_drain_flag(), key_metrics(), key_alert_expiry(), key_expiry_sweep()]
    args: list = [repr(now), signal_ttl, dedup_ttl, flag_ttl, SIGNAL_INDEX_CAP, *metric_fields,
                  from_epoch(now), ALERT_STATE_TTL, sweep_margin]
    for data, delivery, expires in zip(signals, delivery_keys, expiries):
        living = expires is not None and data.get("kind") == "alert" and bool(data.get("fingerprint"))
        keys.append(key_dedup(source, delivery) if delivery else "")
        keys.append(key_signal(data["id"]))
        keys.extend(signal_indexes(data))
        keys.append(key_alert(data["fingerprint"]) if living else "")
        args.extend((data["id"], json.dumps(data), data.get("fingerprint", ""), data.get("status", ""),
                     repr(float(expires)) if living else ""))
    taken, sweep_at, *holders = _accept_script(conn)(keys=keys, args=args, client=conn)
    return (bool(taken), [h.decode() if isinstance(h, bytes) else h for h in holders],
            float(sweep_at) if sweep_at else None)
