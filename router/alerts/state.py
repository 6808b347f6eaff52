"""Alert state per fingerprint in the brain: firing since, last seen, acked by, resolved.

`record(conn, signal)` is called by the evaluation job for every alert signal, before the rules
run, so the brain-derived facts (`acked`, `firing_count`, `repeat`) and escalation see the latest
state. It is idempotent and order-safe: signal ids are ULIDs, sortable by time of receipt, and a
signal older than the one already recorded changes nothing.

Transitions: firing/flapping after anything else starts a new episode (`firing_since`) and clears
`acked_by` (an ack holds "until it changes state", SPEC §6); resolved ends it and clears `acked_by`
too; acknowledged (Nagios ACKNOWLEDGEMENT) sets `acked_by`; downtime / downtime_end set or clear
`downtime`. The issue-5 `ack` command writes `acked_by` on the same hash.

`last_seen` is when Sparky last heard of the alert (the signal's receipt, or a re-delivery's:
router/core/brain/accept.py); `firing_since` when the episode began (the source's start time).

Resends (RESENT_WHILE_FIRING): Prometheus re-sends every firing alert each evaluation interval,
with a new `startsAt` after a restart, and a resolved one for a while after it resolved. For these
sources a signal whose status is the one already recorded (firing while firing, resolved while
resolved) is a resend: it refreshes `last_seen` and returns RESEND, and the evaluation records it
without running the rules (router/engine/decisions.py): the alert is not paged again, and a
resolution Sparky found by expiry (router/alerts/expiry.py) is not announced twice.
"""
from __future__ import annotations

from redis import Redis

from router.core import brain, fastjson
from router.core.brain import script

FIRING = brain.FIRING_STATES
# Sources that re-send an alert while it lasts (see the module docstring): for them, a signal
# repeating the recorded status is a resend, not news.
RESENT_WHILE_FIRING = frozenset({"alertmanager"})
# What `record_many` answers per signal.
IGNORED, RECORDED, RESEND = 0, 1, 2

# KEYS: alert hash, firing set, firing-by-host set, firing-by-app set, expiry zset
# ARGV: signal id, status, fingerprint, subject, severity, source, summary, labels json,
#       actor, occurred_at, ttl, has host, has app, received_at, resent source (1/0)
# (The `repeat` history is written by the facts that read it, router/alerts/facts.py, only while a
# rule reads `repeat`: writing it here for every firing alert cost 3 commands an alert for nothing.)
# → 0 ignored (older than what is recorded), 1 recorded, 2 a resend (last_seen refreshed only)
RECORD = """
local seen = redis.call('HMGET', KEYS[1], 'signal', 'status')
local last = seen[1]
if last and ARGV[1] <= last then return 0 end
local prev = seen[2] or ''
local status = ARGV[2]
local firing = status == 'firing' or status == 'flapping'
local was_firing = prev == 'firing' or prev == 'flapping'
-- Every field this signal writes goes in one HSET at the end (the HDELs below never name one).
local fields = {'signal', ARGV[1], 'fingerprint', ARGV[3], 'subject', ARGV[4], 'severity', ARGV[5],
                'source', ARGV[6], 'summary', ARGV[7], 'labels', ARGV[8], 'last_seen', ARGV[14]}
local function set(name, value) fields[#fields + 1] = name; fields[#fields + 1] = value end
local expires = redis.call('ZSCORE', KEYS[5], ARGV[3])
if firing and expires then set('expires', expires) end
if ARGV[15] == '1' and ((firing and was_firing) or (status == 'resolved' and prev == 'resolved')) then
  redis.call('HSET', KEYS[1], unpack(fields))
  redis.call('EXPIRE', KEYS[1], tonumber(ARGV[11]))
  return 2
end
local forget = nil
local function leave_firing_sets()
  redis.call('SREM', KEYS[2], ARGV[3])
  if ARGV[12] == '1' then redis.call('SREM', KEYS[3], ARGV[3]) end
  if ARGV[13] == '1' then redis.call('SREM', KEYS[4], ARGV[3]) end
end
if firing then
  set('status', status)
  if not was_firing then
    set('firing_since', ARGV[10])
    forget = {'acked_by', 'acked_at', 'resolved_at'}
  end
  redis.call('SADD', KEYS[2], ARGV[3])
  if ARGV[12] == '1' then redis.call('SADD', KEYS[3], ARGV[3]) end
  if ARGV[13] == '1' then redis.call('SADD', KEYS[4], ARGV[3]) end
elseif status == 'resolved' then
  set('status', status)
  set('resolved_at', ARGV[10])
  forget = {'acked_by', 'acked_at', 'expires'}
  leave_firing_sets()
elseif status == 'acknowledged' then
  set('acked_by', ARGV[9])
  set('acked_at', ARGV[10])
  if prev == '' then set('status', 'firing') end
elseif status == 'downtime' then
  set('downtime', '1')
elseif status == 'downtime_end' then
  forget = {'downtime'}
else
  set('status', status)
end
redis.call('HSET', KEYS[1], unpack(fields))
if forget then redis.call('HDEL', KEYS[1], unpack(forget)) end
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[11]))
return 1
"""


def record(conn: Redis, signal: dict) -> bool:
    """Fold an alert signal into its fingerprint's state. False when it is not an alert, or is
    older than what is recorded (already seen, or arrived out of order)."""
    return record_many(conn, [signal])[0] != IGNORED


def record_many(conn: Redis, signals: list[dict]) -> list[int]:
    """`record` for a batch of signals, in order, in one round trip: IGNORED, RECORDED or RESEND each."""
    found = [_script_args(signal) for signal in signals]
    todo = [args for args in found if args is not None]
    if not todo:
        return [IGNORED] * len(signals)
    with conn.pipeline(transaction=False) as pipe:
        for keys, args in todo:
            script(conn, RECORD, keys, args, client=pipe)
        answers = iter(pipe.execute())
    return [int(next(answers)) if args is not None else IGNORED for args in found]


def _script_args(signal: dict) -> tuple[list, list] | None:
    fingerprint = signal.get("fingerprint") or ""
    if signal.get("kind") != "alert" or not fingerprint:
        return None
    labels = signal.get("labels") or {}
    host, app = labels.get("host", ""), labels.get("app", "")
    keys = [brain.key_alert(fingerprint), brain.key_firing(), brain.key_firing_by("host", host),
            brain.key_firing_by("app", app), brain.key_alert_expiry()]
    received = signal.get("received_at", "")
    args = [signal["id"], signal.get("status", ""), fingerprint, signal.get("subject", ""),
            signal.get("severity", ""), signal.get("source", ""), signal.get("summary", ""),
            fastjson.dumps(labels, sort_keys=True), signal.get("actor") or signal.get("source", ""),
            signal.get("occurred_at") or received, brain.ALERT_STATE_TTL,
            "1" if host else "0", "1" if app else "0", received or signal.get("occurred_at", ""),
            "1" if signal.get("source") in RESENT_WHILE_FIRING else "0"]
    return keys, args


def state(conn: Redis, fingerprint: str) -> dict:
    """The alert's state hash ({} if never seen); `labels` decoded."""
    return brain.load_alert(conn, fingerprint)


def acked_by(conn: Redis, fingerprint: str) -> str:
    value = conn.hget(brain.key_alert(fingerprint), "acked_by")
    return value.decode() if value else ""


def is_firing(alert: dict) -> bool:
    return alert.get("status") in FIRING
