"""The timeline of an alert: everything that happened to it, in order, with who and when.

Gathered from what the brain keeps, plus what the on-call feature adds:
- every signal of the alert (recorded per fingerprint as each batch is evaluated — `record`,
  called by the on-call fact provider before the other providers, so re-sends count too);
- each signal's decision: the rules version, the rules that matched, suppression;
- each action's outcome (messages posted, groups, webhooks) and escalation pages, from the
  action outcomes the job runner keeps per signal;
- acks, escalations by hand and resolutions from chat, from the audit trail (`alert` field), and
  the snoozes whose matchers hold for the alert (made and ended);
- escalation runs starting, paging, stopping (router/oncall/escalation.py).
Signals, decisions and outcomes live as long as their signal (SPARKY_SIGNAL_TTL); the timeline's
own list is capped (brain TIMELINE_CAP) and kept 90 days.
"""
from __future__ import annotations

import json

from redis import Redis

from router.alerts import lookup
from router.core import brain, matchers
from router.core.durations import local_time
from router.core.times import epoch_of
from router.jobs.runner import outcomes

AUDITED = ("alert.acked", "alert.escalated", "alert.resolved")
SNOOZES = 100      # the latest snoozes looked at for the ones that held the alert


def record(conn: Redis, signals: list[dict]) -> None:
    """Note each alert signal on its alert's timeline (one round trip for the batch)."""
    pipe = conn.pipeline(transaction=False)
    noted = False
    for signal in signals:
        if signal.get("kind") not in ("alert", "heartbeat") or not signal.get("fingerprint"):
            continue
        brain.add_timeline(conn, signal["fingerprint"], {
            "at": signal.get("received_at") or signal.get("occurred_at") or "", "event": "signal",
            "who": signal.get("actor") or signal.get("source", ""), "signal": signal["id"],
            "what": f"{signal.get('source')} {signal.get('kind')} {signal.get('status')}: "
                    f"{signal.get('summary') or signal.get('subject', '')}".strip()}, pipe=pipe)
        noted = True
    if noted:
        pipe.execute()


def timeline(conn: Redis, fingerprint: str, audit_scan: int = 10_000) -> list[dict]:
    """Every event of the alert, oldest first: {at, event, who, what, ...}."""
    kept = brain.timeline(conn, fingerprint)
    events = list(kept)
    signal_ids = [e["signal"] for e in kept if e.get("event") == "signal"]
    state = brain.load_alert(conn, fingerprint)
    if state.get("signal") and state["signal"] not in signal_ids:
        signal_ids.append(state["signal"])     # recorded before the timeline existed
    for signal_id in dict.fromkeys(signal_ids):
        raw = conn.get(brain.key_decision(signal_id))
        if raw:
            decision = json.loads(raw)
            events.append(_decision_event(signal_id, decision))
        for outcome in outcomes(conn, signal_id):
            if outcome.get("step", "").startswith("escalation/"):
                continue   # the run's own events say who was paged
            events.append({"at": outcome.get("at", ""), "event": f"action.{outcome.get('state', '')}",
                           "who": "sparky", "signal": signal_id, "rule": f"{outcome['ruleset']}/{outcome['rule']}",
                           "what": f"{outcome.get('action')}: {outcome.get('outcome', '')}"})
    for event in AUDITED:
        found, _ = brain.audit_entries(conn, 50, filters={"event": event, "alert": fingerprint}, scan_cap=audit_scan)
        for entry in found:
            events.append({"at": entry.get("at", ""), "event": event, "who": entry.get("who", ""),
                           "what": entry.get("what", "") + (f": {entry['reason']}" if entry.get("reason") else ""),
                           "room": entry.get("room", "")})
    if state:
        events += _snoozes(conn, state, audit_scan)
    return sorted(events, key=lambda e: (epoch_of(e.get("at")) or 0.0, _ORDER.get(e.get("event", ""), 5)))


def _snoozes(conn: Redis, state: dict, audit_scan: int) -> list[dict]:
    """Snoozes made (and ended) whose matchers hold for the alert."""
    made, _ = brain.audit_entries(conn, SNOOZES, filters={"event": "snooze.created"}, scan_cap=audit_scan)
    out, ids = [], set()
    for entry in made:
        try:
            found = [m.as_dict() for m in matchers.parse((entry.get("matchers") or "").split())]
        except matchers.MatcherError:
            continue
        if lookup.matches(found, state, epoch_of(entry.get("at")) or 0.0):
            ids.add(entry.get("snooze", ""))
            out.append({"at": entry.get("at", ""), "event": "snooze.created", "who": entry.get("who", ""),
                        "what": entry.get("what", "") + (f" because {entry['reason']}" if entry.get("reason") else ""),
                        "snooze": entry.get("snooze", "")})
    if ids:
        ended, _ = brain.audit_entries(conn, SNOOZES, filters={"event": "snooze.ended"}, scan_cap=audit_scan)
        out += [{"at": e.get("at", ""), "event": "snooze.ended", "who": e.get("who", ""), "what": e.get("what", ""),
                 "snooze": e.get("snooze", "")} for e in ended if e.get("snooze") in ids]
    return out


# at the same moment: what a person did comes before the signal it sent, a signal before its decision
_ORDER = {"alert.resolved": -1, "signal": 0, "decision": 1, "escalation.started": 2}


def _decision_event(signal_id: str, decision: dict) -> dict:
    matched = [f"{name}/{m['rule']}" for name, outcome in (decision.get("rulesets") or {}).items()
               for m in outcome.get("matched") or []]
    what = f"rules version {decision.get('rules_version') or '?'}: " + (", ".join(matched) or "no rule matched")
    if decision.get("suppressed_by"):
        sup = decision["suppressed_by"]
        what += f"; suppressed by {sup.get('ruleset')}/{sup.get('rule')}"
    if decision.get("resend"):
        what = f"rules version {decision.get('rules_version') or '?'}: {decision['resend']}"
    return {"at": decision.get("evaluated_at", ""), "event": "decision", "who": "sparky", "signal": signal_id,
            "rules_version": decision.get("rules_version", ""), "what": what}


def lines(events: list[dict], zone, now: float) -> list[str]:
    """For chat: `10:02 CET  decision: rules version …  (who)`."""
    out = []
    for e in events:
        at = epoch_of(e.get("at"))
        when = local_time(at, zone, now) if at is not None else "?"
        who = f" ({e['who']})" if e.get("who") and e["who"] != "sparky" else ""
        out.append(f"{when}  {e.get('event')}: {e.get('what', '')}{who}")
    return out

