"""Keys several features read: alert state, snoozes, windows, deploys in progress, rules
versions, the audit stream, rooms, locks, metrics."""
from __future__ import annotations

import json

from redis import Redis

from router.core.brain.base import PREFIX, digest, now_iso, script

AUDIT_CAP = 100_000              # approximate MAXLEN of the audit stream
ROOM_CAP = 1_000                 # messages kept per built-in room


# -- alert state, snoozes, acks, windows ------------------------------------------------------------

FIRING_STATES = ("firing", "flapping")
ALERT_ID_LENGTH = 7              # short alert ids shown in chat: the start of the fingerprint digest


def alert_id(fingerprint: str) -> str:
    """The short id chat shows for an alert (like a short git sha of its fingerprint)."""
    return digest(fingerprint)[:ALERT_ID_LENGTH]


def decode_alert(raw: dict) -> dict:
    """An alert state hash as read from Redis: text, `labels` decoded, and its short `id`."""
    alert = {(k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
             for k, v in raw.items()}
    try:
        alert["labels"] = json.loads(alert.get("labels") or "{}")
    except ValueError:
        alert["labels"] = {}
    if alert.get("fingerprint"):
        alert["id"] = alert_id(alert["fingerprint"])
    return alert


def load_alert(conn: Redis, fingerprint: str) -> dict:
    """The alert's state (router/alerts/state.py keeps it); {} if never seen."""
    raw = conn.hgetall(key_alert(fingerprint))
    return decode_alert(raw) if raw else {}


def key_alert(fingerprint: str) -> str:
    """Hash per alert fingerprint: status, firing_since, last_seen, acked_by, snoozed_by, signal."""
    return f"{PREFIX}alert:{digest(fingerprint)}"


def key_inhibited_targets(source: str) -> str:
    """Set of `target fingerprint NUL signal id` an alert inhibited (router/alerts/inhibitors.py):
    the targets whose signals its firing suppressed, posted again when it resolves."""
    return f"{PREFIX}inhibits:{digest(source)}"


def key_inhibition(signal_id: str) -> str:
    """JSON list of the fingerprints that inhibited one signal when it was evaluated (for `why`)."""
    return f"{PREFIX}inhibition:{signal_id}"


INHIBITION_TTL = 7 * 86400       # an inhibition's records outlive the episodes they explain

# Every firing alert's fingerprint and the state inhibition reads, in one command that can sit in
# the evaluation's pipeline. The alert hash's key is built here as key_alert builds it (the SHA-1
# of the fingerprint), so this assumes one Redis server, as the rest of the brain does.
# KEYS: firing set; ARGV: the alert keys' prefix → flat [fp, status, labels, severity, source, subject, ...]
FIRING_ALERTS = """
local out = {}
for _, fp in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local v = redis.call('HMGET', ARGV[1] .. redis.sha1hex(fp), 'status', 'labels', 'severity', 'source', 'subject')
  if v[1] then
    table.insert(out, fp)
    for i = 1, 5 do table.insert(out, v[i] or '') end
  end
end
return out
"""
FIRING_ALERT_FIELDS = ("fingerprint", "status", "labels", "severity", "source", "subject")


def queue_firing_alerts(pipe) -> None:
    """Queue the read of every firing alert (FIRING_ALERTS) on `pipe`; `decode_firing` reads the reply."""
    script(pipe, FIRING_ALERTS, [key_firing()], [f"{PREFIX}alert:"], client=pipe)


def decode_firing(reply: list) -> list[dict]:
    """FIRING_ALERTS' reply as alert states (`labels` decoded), like lookup.firing's but lighter."""
    width = len(FIRING_ALERT_FIELDS)
    out = []
    for i in range(0, len(reply or []), width):
        alert = decode_alert(dict(zip(FIRING_ALERT_FIELDS, reply[i:i + width])))
        out.append(alert)
    return out


def key_alert_expiry() -> str:
    """Sorted set of the fingerprints of alerts that live only while re-sent (Prometheus pushing to
    /api/v2/alerts), scored by the epoch second they resolve unless re-sent (router/alerts/expiry.py)."""
    return f"{PREFIX}alerts:expiry"


def key_expiry_sweep() -> str:
    """The epoch second of the next scheduled expiry sweep (with a TTL a little past it), so a
    sweep is scheduled only for an expiry earlier than the one already waiting."""
    return f"{PREFIX}alerts:expiry:sweeping"


def key_firing() -> str:
    """Set of fingerprints now firing."""
    return f"{PREFIX}alerts:firing"


def key_firing_by(label: str, value: str) -> str:
    """Set of firing fingerprints sharing a `host` or `app` label value (for `firing_count`)."""
    return f"{PREFIX}alerts:firing:{label}:{value}"


def key_repeat(fingerprint: str) -> str:
    """Sorted set of firing times of one fingerprint (for `repeat`, last hour)."""
    return f"{PREFIX}repeat:{digest(fingerprint)}"


def key_repeat_chain(fingerprint: str, room: str) -> str:
    """The decision (its context key) whose `repeat:` chain re-announces an alert in a room now
    (actions/repeat.py): a later notification's chain replaces an earlier one."""
    return f"{PREFIX}repeating:{digest(fingerprint + chr(0) + room)}"


REPEAT_CHAIN_TTL = 30 * 86400


def key_window(ruleset: str, rule: str, same: str) -> str:
    """Sorted set of signal ids in a rule's `count` window, per `same` value tuple."""
    return f"{PREFIX}window:{ruleset}:{rule}:{digest(same)}"


def key_snooze(snooze_id: str) -> str:
    return f"{PREFIX}snooze:{snooze_id}"


def key_snoozes() -> str:
    """Sorted set of active snooze ids, scored by end time."""
    return f"{PREFIX}snoozes"


def key_deploying(app: str) -> str:
    return f"{PREFIX}deploying:{app}"


# -- rules --------------------------------------------------------------------------------------

def key_rules_version() -> str:
    return f"{PREFIX}rules:version"


def key_rules(version: str) -> str:
    return f"{PREFIX}rules:{version}"


# -- audit, rooms, misc -------------------------------------------------------------------------------

def key_audit() -> str:
    return f"{PREFIX}audit"


def key_room(room: str) -> str:
    return f"{PREFIX}room:{room}"


def key_rooms() -> str:
    return f"{PREFIX}rooms"


def key_lock(name: str) -> str:
    return f"{PREFIX}lock:{name}"


def key_metrics() -> str:
    """Hash of Prometheus counter/summary values shared by every process (router/core/metrics.py)."""
    return f"{PREFIX}metrics"



def audit(conn: Redis, event: str, **fields: str) -> str:
    """Append one entry to the audit stream (who did what, when, which rule decided it).

    Conventional fields: who, what, room, rule, outcome (see "chat commands and audit" below);
    `at` (ISO 8601, this process's clock) is added unless given.
    """
    fields.setdefault("at", now_iso())
    entry = {"event": event, **{k: "" if v is None else str(v) for k, v in fields.items()}}
    entry_id = conn.xadd(key_audit(), entry, maxlen=AUDIT_CAP, approximate=True)
    return entry_id.decode() if isinstance(entry_id, bytes) else entry_id
