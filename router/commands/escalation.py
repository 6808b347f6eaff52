"""`escalate <alert>`, `resolve <alert> [reason]` and `timeline <alert>`: moving an alert's
escalation on by hand, ending the alert from chat, and everything that happened to it.

`escalate` pages the next notify step of the alert's running escalation chains now (router/oncall/
escalation.py); the wait that was pending is then skipped. `resolve` sends a `resolved` signal for
the alert through reception, like a source would (the rules announce it in the firing message's
thread, the alert state ends the episode, escalation stops). Both go through permissions.yml
(`args: {env: ...}` from the alert's `env` label) and are audited.
"""
from __future__ import annotations

from router.alerts import lookup
from router.alerts.lines import name_of
from router.commands.ack import one_alert
from router.commands.context import Context
from router.commands.declare import Reply, UsageError, command
from router.commands.parse import words
from router.core import brain
from router.core.signal import Signal
from router.core.times import from_epoch
from router.oncall import escalation, timeline
from router.pipeline import reception

MAX_LINES = 30   # of a timeline in chat; the API has all of it


@command("escalate", public=True)
def escalate(ctx: Context, args: str) -> Reply:
    """Page the next step of an alert's escalation now, without waiting.

    Usage: escalate <alert id or fingerprint>

    The alert must be firing, not acknowledged, with an escalation running (a rule's `escalate`
    action started it); `why <alert>` shows where it stands.

    Examples:
      escalate 3f9a2c1
    """
    alert, _ = one_alert(ctx, args, "escalate")
    if alert.get("status") not in ("firing", "flapping"):
        return Reply(f"{name_of(alert)} is {alert.get('status') or 'not firing'}: there is nothing to escalate.")
    done, busy = escalation.escalate_now(ctx.conn, ctx.config, alert["fingerprint"], ctx.who.name, ctx.now)
    if busy and not done:
        return Reply(f"{name_of(alert)} is being paged right now ({'; '.join(busy)}); `why {alert['id']}` "
                     "shows who, and `escalate` again pages the step after.")
    if not done:
        runs = brain.escalations(ctx.conn, alert["fingerprint"])
        why = "; ".join(escalation.describe(r) for r in runs) or "no rule escalates it"
        return Reply(f"No escalation of {name_of(alert)} is running ({why}).")
    ctx.audit("alert.escalated", what=f"escalate {name_of(alert)}", alert=alert["fingerprint"],
              alert_id=alert["id"], outcome="ok", rule=ctx.rule)
    return Reply(f"{ctx.who.name} escalated `{alert['id']}` {name_of(alert)}: " + "; ".join(done), public=True)


@command("resolve", public=True)
def resolve(ctx: Context, args: str) -> Reply:
    """Resolve an alert from chat: it is announced as resolved and its escalation stops.

    Usage: resolve <alert id or fingerprint> [reason]

    For alerts whose source will not say so itself (a check removed, a one-off page). If the
    source sends the alert again it fires anew.

    Examples:
      resolve 3f9a2c1 fixed by restarting nginx
    """
    alert, reason = one_alert(ctx, args, "resolve")
    if alert.get("status") not in ("firing", "flapping"):
        return Reply(f"{name_of(alert)} is {alert.get('status') or 'not firing'} already.")
    fingerprint = alert["fingerprint"]
    signal = Signal(
        source=alert.get("source") or "sparky", kind="alert", status="resolved",
        severity=alert.get("severity") or "warning", subject=alert.get("subject", ""), fingerprint=fingerprint,
        labels=alert.get("labels") or {}, summary=alert.get("summary", ""), occurred_at=from_epoch(ctx.now),
        actor=ctx.who.name, text=f"Resolved by {ctx.who.name} from chat" + (f": {reason}" if reason else "."),
        dedup=f"{fingerprint}:resolved-by-hand:{alert.get('firing_since', '')}", ends_at="")
    answer = reception.accept(ctx.conn, ctx.config.with_(max_backlog=0), signal.source, [signal])
    ctx.audit("alert.resolved", what=f"resolve {name_of(alert)}", alert=fingerprint, alert_id=alert["id"],
              reason=reason, signal_id=(answer.ids or answer.duplicate_of or [""])[0], outcome="ok", rule=ctx.rule)
    return Reply(f"{ctx.who.name} resolved `{alert['id']}` {name_of(alert)}" + (f": {reason}" if reason else ""),
                 public=True)


@command("timeline", public=True)
def timeline_command(ctx: Context, args: str) -> Reply:
    """Everything that happened to an alert, in order: signals, decisions, messages, acks, escalation.

    Usage: timeline <alert id or fingerprint>

    Times are in your time zone. The whole record, with rules versions and signal ids:
    GET /api/alerts/<id>/timeline.

    Examples:
      timeline 3f9a2c1
    """
    tokens = words(args)
    if not tokens:
        raise UsageError("The timeline of which alert? `alerts` lists them with their ids.")
    found = lookup.find(ctx.conn, " ".join(tokens))
    if not found:
        raise UsageError(f"No alert `{' '.join(tokens)[:60]}` is known. `alerts` lists the firing ones.")
    if len(found) > 1:
        ids = ", ".join(f"`{a['id']}` {name_of(a)}" for a in found[:5])
        raise UsageError(f"`{' '.join(tokens)}` could be several alerts: {ids}. Use one id.")
    alert = found[0]
    events = timeline.timeline(ctx.conn, alert["fingerprint"])
    shown = timeline.lines(events[-MAX_LINES:], ctx.tz, ctx.now)
    more = f"\n… {len(events) - MAX_LINES} earlier events: GET /api/alerts/{alert['id']}/timeline" \
        if len(events) > MAX_LINES else ""
    head = f"`{alert['id']}` {name_of(alert)} ({alert.get('status') or '?'})"
    return Reply("\n".join([head, *shown]) + more, public=True)
