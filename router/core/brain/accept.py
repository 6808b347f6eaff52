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

from redis import Redis

from router.core import fastjson
from router.core.brain.actions import ALERT_STATE_TTL
from router.core.brain.base import script
from router.core.brain.shared import key_alert, key_alert_expiry, key_expiry_sweep, key_metrics
from router.core.brain.signals import (
    SIGNAL_INDEX_CAP,
    key_dedup,
    key_drain_flag,
    key_pending,
    key_pending_by_source,
    key_pending_source,
    key_signal,
    signal_indexes,
)
from router.core.times import from_epoch

__all__ = ["accept_signals", "settle_pending", "pending_by_source", "OverBound"]

# KEYS: pending set, drain flag, metrics hash, alert expiry set, expiry sweep flag, pending count
#       per source (hash), source per pending id (hash), then seven per signal: delivery key
#       ("" when the source sends none), signal key, its four index lists, and its alert state
#       hash ("" unless it is an alert that lives only while re-sent: a "living alert", below).
# ARGV: now, signal TTL, delivery-key TTL, drain-flag TTL, index cap, metric field for accepted,
#       metric field for duplicates, now as ISO 8601, alert state TTL, sweep flag margin, source,
#       room for pending signals (-1 = no bound), the source's share of it (-1 = no bound), then
#       five per signal: id, JSON body, fingerprint, status, and the epoch second it expires
#       ("" unless living).
# Returns: {1 if the drain flag was taken else 0, when to schedule an expiry sweep ("" = no need),
#          holder id per signal} — the holder is the signal's own id when it is new, the
#          original's id when it is a re-delivery. Or, storing nothing, {-1, pending signals} when
#          the new signals would not fit the room, {-2, the source's pending signals} when they
#          would take the source over its share.
#
# The bounds count signals, not requests, and only new ones (a re-delivery adds nothing): the
# quick test counts every signal of the request; only when that fails are the re-deliveries
# found (reads only) and left out — so a batch of re-sends is not refused for what it re-sends.
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
local source, room, share = ARGV[11], tonumber(ARGV[12]), tonumber(ARGV[13])
local count = (#KEYS - 7) / 7

-- The holder of signal i's delivery key when it is a re-delivery, else false (reads only).
local function holder_of(i)
  local k = 7 + (i - 1) * 7
  local a = 13 + (i - 1) * 5
  local dedup, alert = KEYS[k + 1], KEYS[k + 7]
  if dedup == '' then return false end
  local holder = redis.call('GET', dedup)
  if holder and alert ~= '' and (ARGV[a + 4] == 'firing' or ARGV[a + 4] == 'flapping') then
    local state = redis.call('HMGET', alert, 'status', 'signal')
    if state[1] == 'resolved' and state[2] and state[2] > holder then return false end
  end
  return holder
end

-- The counts per source heal themselves: with nothing pending they are reset (whatever removed
-- ids without settling them, say a drain of an older version), and none exceeds the pending set.
local pending = redis.call('ZCARD', KEYS[1])
if pending == 0 then redis.call('DEL', KEYS[6], KEYS[7]) end
if room >= 0 or share >= 0 then
  local mine = share >= 0 and math.min(pending, tonumber(redis.call('HGET', KEYS[6], source) or '0')) or 0
  if (room >= 0 and pending + count > room) or (share >= 0 and mine + count > share) then
    local new = 0
    for i = 1, count do
      if not holder_of(i) then new = new + 1 end
    end
    if room >= 0 and new > 0 and pending + new > room then return {-1, pending} end
    if share >= 0 and new > 0 and mine + new > share then return {-2, mine} end
  end
end

local holders = {}
local accepted, duplicates = 0, 0
local soonest = false
local pushes, lists = {}, {}   -- index list -> ids to push: one LPUSH and one LTRIM per list per batch
for i = 1, count do
  local k = 7 + (i - 1) * 7
  local a = 13 + (i - 1) * 5
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
    redis.call('HSET', KEYS[7], id, source)
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
  redis.call('HINCRBY', KEYS[6], source, accepted)
  redis.call('HINCRBY', KEYS[3], ARGV[6], accepted)
  if redis.call('SET', KEYS[2], '1', 'NX', 'EX', flag_ttl) then holders[1] = 1 end
end
if duplicates > 0 then redis.call('HINCRBY', KEYS[3], ARGV[7], duplicates) end
return holders
"""

# The drain's end of a batch: take the evaluated ids off the pending set, and each off its
# source's count — only the ids this call removed, so two drains settling the same batch (after
# a flag expired) count nothing twice. KEYS: pending set, pending count per source, source per
# pending id, drain flag. ARGV: drain-flag TTL, then the ids. Returns how many were removed.
SETTLE_LUA = """
local removed = 0
local by_source = {}
for i = 2, #ARGV do
  local id = ARGV[i]
  if redis.call('ZREM', KEYS[1], id) == 1 then
    removed = removed + 1
    local source = redis.call('HGET', KEYS[3], id)
    if source then
      redis.call('HDEL', KEYS[3], id)
      by_source[source] = (by_source[source] or 0) + 1
    end
  end
end
for source, n in pairs(by_source) do
  if redis.call('HINCRBY', KEYS[2], source, -n) <= 0 then redis.call('HDEL', KEYS[2], source) end
end
if redis.call('ZCARD', KEYS[1]) == 0 then redis.call('DEL', KEYS[2], KEYS[3]) end
redis.call('EXPIRE', KEYS[4], ARGV[1])
return removed
"""


class OverBound(Exception):
    """Reception stored nothing: the new signals would not fit the backlog or the source's share."""

    def __init__(self, which: str, held: int):
        super().__init__(f"{which}: {held}")
        self.which = which    # "backlog" or "source"
        self.held = held      # pending signals, in all or of the source


_script = None  # a redis-py Script: EVALSHA, loading the script on NOSCRIPT


def _accept_script(conn: Redis):
    global _script
    if _script is None:
        _script = conn.register_script(ACCEPT_LUA)
    return _script


def accept_signals(conn: Redis, source: str, signals: list[dict], delivery_keys: list[str], *,
                   now: float, signal_ttl: int, dedup_ttl: int, flag_ttl: int,
                   metric_fields: tuple[str, str], expiries: list[float | None] | None = None,
                   sweep_margin: int = 60, room: int | None = None, share: int | None = None,
                   replicas: int = 0, replicas_wait_ms: int = 1000,
                   ) -> tuple[bool, list[str], float | None, bool]:
    """Store the signals that are not re-deliveries; returns (drain flag taken?, holder per signal,
    when to schedule an expiry sweep or None, replicated?).

    A delivery key of "" means the source gave none: the signal is always new. `expiries` gives,
    per signal, the epoch second a living alert resolves unless re-sent (None: not a living alert).
    `room` bounds the pending signals, `share` the source's pending signals (None: no bound);
    new signals that would go over either are not stored: OverBound says which.
    With `replicas`, the script is followed on the same connection by WAIT: replicated is whether
    that many replicas had the write within `replicas_wait_ms` (always True without).
    """
    expiries = expiries or [None] * len(signals)
    keys = [key_pending(), key_drain_flag(), key_metrics(), key_alert_expiry(), key_expiry_sweep(),
            key_pending_by_source(), key_pending_source()]
    args: list = [repr(now), signal_ttl, dedup_ttl, flag_ttl, SIGNAL_INDEX_CAP, *metric_fields,
                  from_epoch(now), ALERT_STATE_TTL, sweep_margin, source,
                  -1 if room is None else max(room, 0), -1 if share is None else max(share, 0)]
    for data, delivery, expires in zip(signals, delivery_keys, expiries):
        living = expires is not None and data.get("kind") == "alert" and bool(data.get("fingerprint"))
        keys.append(key_dedup(source, delivery) if delivery else "")
        keys.append(key_signal(data["id"]))
        keys.extend(signal_indexes(data))
        keys.append(key_alert(data["fingerprint"]) if living else "")
        args.extend((data["id"], fastjson.dumps(data), data.get("fingerprint", ""), data.get("status", ""),
                     repr(float(expires)) if living else ""))
    replicated = True
    if not replicas:
        taken, sweep_at, *holders = _accept_script(conn)(keys=keys, args=args, client=conn)
    else:
        # WAIT counts the replicas that have this connection's last write, so it must follow the
        # script on the same connection: one pipeline (no MULTI: WAIT is not allowed in one).
        pipe = conn.pipeline(transaction=False)
        _accept_script(conn)(keys=keys, args=args, client=pipe)
        pipe.execute_command("WAIT", replicas, replicas_wait_ms)
        (taken, sweep_at, *holders), acked = pipe.execute()
        replicated = int(acked) >= replicas
    if taken < 0:
        raise OverBound("backlog" if taken == -1 else "source", int(sweep_at))
    return (bool(taken), [h.decode() if isinstance(h, bytes) else h for h in holders],
            float(sweep_at) if sweep_at else None, replicated)


def settle_pending(conn: Redis, signal_ids: list[str], flag_ttl: int) -> int:
    """Take evaluated signals off the pending set and their sources' counts; refresh the drain flag."""
    if not signal_ids:
        return 0
    return int(script(conn, SETTLE_LUA, [key_pending(), key_pending_by_source(), key_pending_source(),
                                         key_drain_flag()], [flag_ttl, *signal_ids]))


def pending_by_source(conn: Redis) -> dict[str, int]:
    """How many signals of each source wait for evaluation."""
    return {k.decode(): int(v) for k, v in conn.hgetall(key_pending_by_source()).items()}
