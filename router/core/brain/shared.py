"""Keys several features read: alert state, snoozes, windows, deploys in progress, rules
versions, the audit stream, rooms, locks, metrics."""
from __future__ import annotations

import json

from redis import Redis

from router.core.brain.base import PREFIX, digest, now_iso

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
