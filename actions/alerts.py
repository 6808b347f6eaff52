"""Alert state per fingerprint in the brain: firing since, last seen, acked by, resolved.

`record(conn, signal)` is called by the evaluation job for every alert signal, before the rules
run, so the brain-derived facts (`acked`, `firing_count`, `repeat`) and escalation see the latest
state. It is idempotent and order-safe: signal ids are ULIDs, sortable by time of receipt, and a
signal older than the one already recorded changes nothing.

Transitions: firing/flapping after anything else starts a new episode (`firing_since`) and clears
`acked_by` (an ack holds "until it changes state", SPEC §6); resolved ends it and clears `acked_by`
too; acknowledged (Nagios ACKNOWLEDGEMENT) sets `acked_by`; downtime / downtime_end set or clear
`downtime`. The issue-5 `ack` command writes `acked_by` on the same hash.
"""
from __future__ import annotations

import json
import time

from redis import Redis

from actions.jobs import script
from router import brain

FIRING = ("firing", "flapping")
REPEAT_WINDOW = 3600

# KEYS: alert hash, firing set, firing-by-host set, firing-by-app set, repeat zset
# ARGV: signal id, status, now, fingerprint, subject, severity, source, summary, labels json,
#       actor, occurred_at, ttl, repeat window, has host, has app
RECORD = """
local last = redis.call('HGET', KEYS[1], 'signal')
if last and ARGV[1] <= last then return 0 end
local prev = redis.call('HGET', KEYS[1], 'status') or ''
local status = ARGV[2]
local firing = status == 'firing' or status == 'flapping'
local was_firing = prev == 'firing' or prev == 'flapping'
redis.call('HSET', KEYS[1], 'signal', ARGV[1], 'fingerprint', ARGV[4], 'subject', ARGV[5],
           'severity', ARGV[6], 'source', ARGV[7], 'summary', ARGV[8], 'labels', ARGV[9],
           'last_seen', ARGV[11])
local function leave_firing_sets()
  redis.call('SREM', KEYS[2], ARGV[4])
  if ARGV[14] == '1' then redis.call('SREM', KEYS[3], ARGV[4]) end
  if ARGV[15] == '1' then redis.call('SREM', KEYS[4], ARGV[4]) end
end
if firing then
  redis.call('HSET', KEYS[1], 'status', status)
  if not was_firing then
    redis.call('HSET', KEYS[1], 'firing_since', ARGV[11])
    redis.call('HDEL', KEYS[1], 'acked_by', 'acked_at', 'resolved_at')
  end
  redis.call('SADD', KEYS[2], ARGV[4])
  if ARGV[14] == '1' then redis.call('SADD', KEYS[3], ARGV[4]) end
  if ARGV[15] == '1' then redis.call('SADD', KEYS[4], ARGV[4]) end
  redis.call('ZADD', KEYS[5], ARGV[3], ARGV[1])
  redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', tonumber(ARGV[3]) - tonumber(ARGV[13]))
  redis.call('EXPIRE', KEYS[5], tonumber(ARGV[13]))
elseif status == 'resolved' then
  redis.call('HSET', KEYS[1], 'status', status, 'resolved_at', ARGV[11])
  redis.call('HDEL', KEYS[1], 'acked_by', 'acked_at')
  leave_firing_sets()
elseif status == 'acknowledged' then
  redis.call('HSET', KEYS[1], 'acked_by', ARGV[10], 'acked_at', ARGV[11])
  if prev == '' then redis.call('HSET', KEYS[1], 'status', 'firing') end
elseif status == 'downtime' then
  redis.call('HSET', KEYS[1], 'downtime', '1')
elseif status == 'downtime_end' then
  redis.call('HDEL', KEYS[1], 'downtime')
else
  redis.call('HSET', KEYS[1], 'status', status)
end
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[12]))
return 1
"""


def record(conn: Redis, signal: dict) -> bool:
    """Fold an alert signal into its fingerprint's state. False when it is not an alert, or is
    older than what is recorded (already seen, or arrived out of order)."""
    return record_many(conn, [signal])[0]


def record_many(conn: Redis, signals: list[dict]) -> list[bool]:
    """`record` for a batch of signals, in order, in one round trip."""
    found = [_script_args(signal) for signal in signals]
    todo = [args for args in found if args is not None]
    if not todo:
        return [False] * len(signals)
    with conn.pipeline(transaction=False) as pipe:
        for keys, args in todo:
            script(conn, RECORD, keys, args, client=pipe)
        answers = iter(pipe.execute())
    return [bool(next(answers)) if args is not None else False for args in found]


def _script_args(signal: dict) -> tuple[list, list] | None:
    fingerprint = signal.get("fingerprint") or ""
    if signal.get("kind") != "alert" or not fingerprint:
        return None
    labels = signal.get("labels") or {}
    host, app = labels.get("host", ""), labels.get("app", "")
    keys = [brain.key_alert(fingerprint), brain.key_firing(), brain.key_firing_by("host", host),
            brain.key_firing_by("app", app), brain.key_repeat(fingerprint)]
    args = [signal["id"], signal.get("status", ""), time.time(), fingerprint, signal.get("subject", ""),
            signal.get("severity", ""), signal.get("source", ""), signal.get("summary", ""),
            json.dumps(labels, sort_keys=True), signal.get("actor") or signal.get("source", ""),
            signal.get("occurred_at") or signal.get("received_at", ""), brain.ALERT_STATE_TTL, REPEAT_WINDOW,
            "1" if host else "0", "1" if app else "0"]
    return keys, args


def state(conn: Redis, fingerprint: str) -> dict:
    """The alert's state hash ({} if never seen); `labels` decoded."""
    raw = {k.decode(): v.decode() for k, v in conn.hgetall(brain.key_alert(fingerprint)).items()}
    if "labels" in raw:
        try:
            raw["labels"] = json.loads(raw["labels"])
        except ValueError:
            raw["labels"] = {}
    return raw


def acked_by(conn: Redis, fingerprint: str) -> str:
    value = conn.hget(brain.key_alert(fingerprint), "acked_by")
    return value.decode() if value else ""


def is_firing(alert: dict) -> bool:
    return alert.get("status") in FIRING
