"""`why <alert id, fingerprint or signal id>`: what the rules decided about a signal, in a few lines.

An alert (its short id from `alerts`, or its fingerprint) stands for its latest signal, so a person
goes from `alerts` to `why` without the API.

From the decision the evaluation job stored (router/engine/decisions.py, `brain.key_decision`):
the rules version, per ruleset the rule(s) that matched with their actions and the closest rules
that did not, with the first condition that failed; what became of each action (queued, done,
suppressed); and the snoozes and acks that applied to the signal. The full JSON is one link away.
"""
from __future__ import annotations

import json
import math

from router.alerts import inhibitors, lookup
from router.alerts.lines import name_of
from router.commands.context import Context
from router.commands.declare import Reply, UsageError, command
from router.commands.parse import words
from router.core import brain
from router.core.durations import local_time
from router.core.times import parse_time
from router.engine.explained import explained
from router.jobs.runner import outcomes
from router.oncall import escalation

MISSES_SHOWN = 3


def _action(action: dict) -> str:
    if not isinstance(action, dict) or len(action) != 1:
        return str(action)
    (name, params), = action.items()
    if isinstance(params, dict):
        where = params.get("room") or params.get("url") or params.get("key") or params.get("reason") or ""
        return f"{name} {where}".strip()
    return str(name)


def _ruleset_line(name: str, outcome: dict) -> list[str]:
    matched = outcome.get("matched") or []
    misses = [m for m in outcome.get("not_matched") or [] if not str(m.get("failed", "")).startswith("not evaluated")]
    lines = []
    if outcome.get("error"):
        lines.append(f"*{name}*: not evaluated: {outcome['error']}")
    elif matched:
        rules = "; ".join(f"`{m['rule']}` → " + (", ".join(_action(a) for a in m.get("actions") or []) or "nothing")
                          for m in matched)
        lines.append(f"*{name}*: matched {rules}")
    else:
        lines.append(f"*{name}*: no rule matched")
    if misses:
        shown = misses[-MISSES_SHOWN:] if matched else misses[:MISSES_SHOWN]
        more = f" (+{len(misses) - len(shown)} more)" if len(misses) > len(shown) else ""
        lines.append("   not matched: " + ", ".join(f"`{m['rule']}` ({m.get('failed', '?')})" for m in shown) + more)
    return lines


def _outcomes(ctx: Context, signal_id: str) -> dict[tuple, dict]:
    return {(o.get("ruleset"), o.get("rule"), o.get("index")): o for o in outcomes(ctx.conn, signal_id)
            if not o.get("step")}


def _actions_line(ctx: Context, decision: dict) -> str:
    planned = decision.get("actions") or []
    if not planned:
        return "Done: nothing (no action)."
    done = _outcomes(ctx, decision.get("signal", ""))
    parts = []
    for p in planned[:6]:
        outcome = done.get((p.get("ruleset"), p.get("rule"), p.get("index")))
        state = outcome.get("outcome") or outcome.get("state") if outcome else p.get("state", "?")
        parts.append(f"{p.get('action')} ({p.get('rule')}): {state}")
    more = f" (+{len(planned) - 6} more)" if len(planned) > 6 else ""
    return "Done: " + "; ".join(parts) + more + "."


def _epoch(iso: str) -> float | None:
    try:
        return parse_time(iso).timestamp()
    except (ValueError, TypeError, AttributeError):
        return None


def _snoozes_applied(ctx: Context, signal: dict) -> list[dict]:
    """Snoozes (active or ended) that covered the signal when it was received."""
    at = _epoch(signal.get("received_at", ""))
    if at is None or signal.get("kind") != "alert":
        return []
    found = []
    for s in brain.active_snoozes(ctx.conn, 0) + brain.snooze_history(ctx.conn, 200):
        # Signal times are written to the millisecond (truncated): a snooze made earlier in the
        # same millisecond as the signal must still count as started.
        start = math.floor(1000 * (s.get("starts_at") or _epoch(s.get("created_at", "")) or 0)) / 1000
        stop = _epoch(s.get("ended_at", "")) or s.get("ends_at", 0)
        if start <= at <= stop and lookup.matches(s.get("matchers") or [], signal, at) \
                and s["id"] not in {f["id"] for f in found}:
            found.append(s)
    return found


def _ack_line(ctx: Context, signal: dict) -> str:
    if signal.get("kind") != "alert" or not signal.get("fingerprint"):
        return ""
    alert = lookup.state(ctx.conn, signal["fingerprint"])
    if not alert.get("acked_by"):
        return ""
    acked_at = _epoch(alert.get("acked_at", ""))
    received = _epoch(signal.get("received_at", ""))
    when = f" at {local_time(acked_at, ctx.tz, ctx.now)}" if acked_at else ""
    if acked_at and received and acked_at > received:
        return f"Acked later by {alert['acked_by']}{when}."
    return f"Acked by {alert['acked_by']}{when}" + (f": {alert['ack_reason']}" if alert.get("ack_reason") else "") + "."


def _named(ctx: Context, args: str) -> tuple[str, str]:
    """(the signal id `args` names, and a line saying which alert it came from, if one did)."""
    tokens = words(args)
    if not tokens:
        raise UsageError("Why what? Give an alert id or fingerprint (`alerts` lists them) or a signal id.")
    ref = " ".join(tokens).strip("`")
    as_signal = ref.upper()
    is_signal_id = len(tokens) == 1 and lookup.SIGNAL_ID.match(as_signal)
    if is_signal_id and ctx.conn.exists(brain.key_signal(as_signal), brain.key_decision(as_signal)):
        return as_signal, ""
    found = lookup.find(ctx.conn, ref)
    if len(found) > 1:
        ids = ", ".join(f"`{a['id']}` {name_of(a)}" for a in found[:5])
        raise UsageError(f"`{ref[:60]}` could be several alerts: {ids}. Use one id.")
    if found and found[0].get("signal"):
        alert = found[0]
        status = alert.get("status") or "?"
        return alert["signal"], f"Alert `{alert['id']}` {name_of(alert)} ({status}), its latest signal:"
    if is_signal_id:
        return as_signal, ""          # answered below: unknown or expired
    raise UsageError(f"No alert `{ref[:60]}` is known, and it is not a signal id (26 letters and digits). "
                     "`alerts` lists the firing ones with their ids.")


@command("why")
def why(ctx: Context, args: str) -> Reply:
    """Why Sparky did what it did with an alert or a signal: rules matched and not, actions, snoozes, acks.

    Usage: why <alert id, fingerprint or signal id>

    An alert id is the short id `alerts` shows; for an alert, why explains its latest signal.
    Signal ids are in every message Sparky posts, and in GET /api/signals.

    Examples:
      why 3f9a2c1
      why web-01/HTTP
      why 01JNE3Q8ZK4M2V6X9T1B5C7D8E
    """
    signal_id, via = _named(ctx, args)
    reply = _explain(ctx, signal_id)
    return Reply(f"{via}\n{reply.text}", outcome=reply.outcome) if via else reply


def _explain(ctx: Context, signal_id: str) -> Reply:
    signal = brain.load_signal(ctx.conn, signal_id)
    raw = ctx.conn.get(brain.key_decision(signal_id))
    if signal is None and raw is None:
        return Reply(f"No signal `{signal_id}`: unknown, or expired (signals are kept for SPARKY_SIGNAL_TTL).")
    head = f"`{signal_id}`"
    if signal:
        head += f" {signal.get('source')} {signal.get('kind')} {signal.get('status')}: {signal.get('subject', '')}"
    if raw is None:
        return Reply(f"{head}\nNot evaluated yet: it is waiting in the queue.")
    decision = explained(ctx.conn, json.loads(raw), signal)
    lines = [head + f" (rules version {decision.get('rules_version') or 'none'})"]
    if decision.get("explanation"):
        lines.append(f"Why rules did not match: {decision['explanation']}.")
    for name, outcome in (decision.get("rulesets") or {}).items():
        lines += _ruleset_line(name, outcome)
    if decision.get("suppressed_by"):
        sup = decision["suppressed_by"]
        lines.append(f"Suppressed by `{sup.get('ruleset')}/{sup.get('rule')}`: recorded, not posted.")
    lines.append(_actions_line(ctx, decision))
    if signal:
        for s in _snoozes_applied(ctx, signal):
            lines.append(f"Snooze `{s['id']}` applied: `{s.get('text', '')}` by {s.get('created_by', '?')}"
                         + (f" because {s['reason']}" if s.get("reason") else "") + ".")
        inhibitors_of = inhibitors.of_signal(ctx.conn, signal_id)
        if inhibitors_of:
            names = []
            for fp in inhibitors_of:
                source = lookup.state(ctx.conn, fp)
                names.append(f"`{brain.alert_id(fp)}` {name_of(source) if source else fp}"
                             + (f" ({source.get('status')})" if source.get("status") else ""))
            lines.append(f"Inhibited by {', '.join(names)} (suppression.yml inhibit_rules): "
                         "it is posted again when that resolves, if it still fires.")
        ack = _ack_line(ctx, signal)
        if ack:
            lines.append(ack)
        for run in brain.escalations(ctx.conn, signal.get("fingerprint") or ""):
            if run["signal_id"] == signal_id:
                lines.append(f"Escalation {escalation.describe(run)}.")
    lines.append(f"Full decision: /api/signals/{signal_id}/decision")
    return Reply("\n".join(lines))
