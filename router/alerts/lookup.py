"""Alerts in the brain by what people call them: every one firing, one by fingerprint, or by a
reference — the short id `alerts` shows, a fingerprint (`web-01/HTTP`), a subject, or the id of
any signal of the alert (what `ack`, `snooze` and `why` take instead of matchers).
"""
from __future__ import annotations

import re

from redis import Redis

from router.core import brain
from router.core.matchers import holds
from router.core.signal import flat

SIGNAL_ID = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")
SHORT_ID = re.compile(r"^[0-9a-f]{4,7}$")  # a prefix of the id `alerts` shows


def as_signal(alert: dict) -> dict:
    """An alert's state (router/alerts/state.py) as the signal fields the rules and snoozes read."""
    return {"id": alert.get("signal", ""), "source": alert.get("source", ""), "kind": "alert",
            "status": alert.get("status", ""), "severity": alert.get("severity", ""),
            "subject": alert.get("subject", ""), "fingerprint": alert.get("fingerprint", ""),
            "summary": alert.get("summary", ""), "labels": alert.get("labels") or {},
            "received_at": alert.get("last_seen", ""), "occurred_at": alert.get("last_seen", "")}


def matches(matchers: list[dict], alert_or_signal: dict, now: float) -> bool:
    """Do the matchers hold for an alert state or a signal (router/core/matchers.py `holds`)?"""
    signal = alert_or_signal if "kind" in alert_or_signal else as_signal(alert_or_signal)
    return holds(matchers, flat(signal, now))


def firing(conn: Redis) -> list[dict]:
    """Every alert now firing (state per fingerprint, see router/alerts/state.py), most severe first."""
    fingerprints = sorted(m.decode() for m in conn.smembers(brain.key_firing()))
    pipe = conn.pipeline(transaction=False)
    for fp in fingerprints:
        pipe.hgetall(brain.key_alert(fp))
    alerts = []
    for fp, raw in zip(fingerprints, pipe.execute()):
        if raw:
            alert = brain.decode_alert(raw)
            alert.setdefault("fingerprint", fp)
            alert["id"] = brain.alert_id(fp)
            alerts.append(alert)
    rank = {"critical": 0, "warning": 1, "info": 2}
    return sorted(alerts, key=lambda a: (rank.get(a.get("severity", ""), 3), a.get("firing_since", ""),
                                         a["fingerprint"]))


def state(conn: Redis, fingerprint: str) -> dict:
    return brain.load_alert(conn, fingerprint)


def find(conn: Redis, ref: str, alerts: list[dict] | None = None) -> list[dict]:
    """Alerts a reference names: exactly one when it is unambiguous, [] when none, several if not."""
    ref = ref.strip()
    if not ref:
        return []
    if SIGNAL_ID.match(ref.upper()):
        signal = brain.load_signal(conn, ref.upper())
        if signal and signal.get("fingerprint"):
            found = state(conn, signal["fingerprint"])
            if found:
                return [found]
    exact = state(conn, ref)
    if exact:
        return [exact]
    alerts = firing(conn) if alerts is None else alerts
    lowered = ref.lower().lstrip("#")
    if SHORT_ID.match(lowered):
        by_id = [a for a in alerts if a["id"].startswith(lowered)]
        if by_id:
            return by_id
    return [a for a in alerts if lowered in (a["fingerprint"].lower(), a.get("subject", "").lower())]
