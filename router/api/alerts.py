"""`GET /api/alerts` (SPEC §9): what is firing now, and who acked or snoozed it.

The same reader as the `alerts` chat command (router/commands/alerts.py `select`: the firing
set, most severe first; `filter` takes the command's matchers or an alert id) and the same
snooze test as the engine (`covering`), so the API, chat and the suppression ruleset agree.
A read: SPARKY_ADMIN_TOKEN is the whole check, as for the other reads of `/api`.
"""
from __future__ import annotations

import time

from flask import Blueprint, current_app, jsonify, request
from marshmallow import RAISE, Schema, fields, validate
from redis import Redis

from router.alerts import inhibitors
from router.api import acting, am_shared
from router.api.openapi import documents
from router.commands.alerts import covering, is_firing, select
from router.core import brain
from router.core.times import from_epoch

bp = Blueprint("alerts_api", __name__)
acting.register(bp)     # a bad `filter` is the command's UsageError: 400 naming the word


class AlertsQuery(Schema):
    class Meta:
        unknown = RAISE

    filter = fields.List(fields.String(validate=validate.Length(max=500)), load_default=list,
                         metadata={"description": "chat matchers (host=web-01, service=~HTTP.*) or an alert "
                                                  "id, one per parameter; repeat it, all must hold"})
    acked = fields.Boolean(metadata={"description": "only acked (true) or unacked (false) alerts"})
    snoozed = fields.Boolean(metadata={"description": "only snoozed (true) or unsnoozed (false) alerts"})
    inhibited = fields.Boolean(metadata={"description": "only inhibited (true) or uninhibited (false) alerts"})
    limit = fields.Integer(load_default=1000, validate=validate.Range(min=1, max=10_000))


class SnoozedBy(Schema):
    id = fields.String()
    created_by = fields.String()
    reason = fields.String()
    ends_at = fields.String()


class InhibitedBy(Schema):
    fingerprint = fields.String()
    id = fields.String(metadata={"description": "its short id"})


class AlertSchema(Schema):
    """An alert's state per fingerprint (router/alerts/state.py), as the API shows it."""

    id = fields.String(metadata={"description": "the short id chat shows; `ack` and `snooze` take it"})
    fingerprint = fields.String()
    status = fields.String(metadata={"description": "firing or flapping"})
    severity = fields.String()
    source = fields.String()
    subject = fields.String()
    summary = fields.String()
    labels = fields.Dict(keys=fields.String(), values=fields.String())
    firing_since = fields.String()
    last_seen = fields.String()
    signal = fields.String(metadata={"description": "the latest signal of the alert (GET /api/signals/<id>)"})
    acked = fields.Boolean()
    acked_by = fields.String()
    acked_at = fields.String()
    ack_reason = fields.String()
    downtime = fields.Boolean(metadata={"description": "in a Nagios downtime"})
    snoozed = fields.Boolean()
    snoozed_by = fields.List(fields.Nested(SnoozedBy), metadata={"description": "the active snoozes that "
                                                                                "silence it"})
    inhibited = fields.Boolean(metadata={"description": "a firing alert inhibits it (suppression.yml inhibit_rules)"})
    inhibited_by = fields.List(fields.Nested(InhibitedBy), metadata={"description": "the alerts inhibiting it"})


class AlertsAnswer(Schema):
    alerts = fields.List(fields.Nested(AlertSchema))
    count = fields.Integer(metadata={"description": "how many match, before `limit`"})


def _view(alert: dict, snoozes: list[dict], now: float, inhibited_by: list[str] = ()) -> dict:
    covered = covering(alert, snoozes, now)
    return {
        **{name: alert.get(name, "") for name in ("id", "fingerprint", "status", "severity", "source", "subject",
                                                  "summary", "firing_since", "last_seen", "signal", "acked_by",
                                                  "acked_at", "ack_reason")},
        "labels": alert.get("labels") or {}, "acked": bool(alert.get("acked_by")),
        "downtime": bool(alert.get("downtime")), "snoozed": bool(covered),
        "snoozed_by": [{"id": s["id"], "created_by": s.get("created_by", ""), "reason": s.get("reason", ""),
                        "ends_at": from_epoch(s["ends_at"])} for s in covered],
        "inhibited": bool(inhibited_by),
        "inhibited_by": [{"fingerprint": fp, "id": brain.alert_id(fp)} for fp in inhibited_by],
    }


def firing_alerts(conn: Redis, filters: list[str], now: float, data: dict | None = None) -> list[dict]:
    """The firing alerts `filters` pick out, most severe first, as AlertSchema shows them (the
    dashboard's reader too); UsageError names a filter that is not a usable matcher. `data`: the
    rules in force' data, for who inhibits what (none without it)."""
    found, _, _ = select(conn, filters, now)
    snoozes = brain.active_snoozes(conn, now)
    shown = [a for a in found if is_firing(a)]
    inhibited = inhibitors.inhibited_by(conn, shown, now, data)
    return [_view(a, snoozes, now, inhibited.get(a["fingerprint"], [])) for a in shown]


@bp.get("/api/alerts")
@documents(query=AlertsQuery, response=AlertsAnswer, tags=("alerts",))
def list_alerts():
    """What is firing now, most severe first, with who acked it and which snoozes silence it."""
    args = {**request.args.to_dict(), "filter": request.args.getlist("filter")}
    query = AlertsQuery().load(args)
    conn, now = current_app.extensions["sparky"].conn, time.time()
    # One matcher per `filter`, taken as written: a value may hold spaces (service=Disk Space).
    rules = am_shared.rules_in_force()
    shown = firing_alerts(conn, [f.strip() for f in query["filter"] if f.strip()], now,
                          rules.data if rules is not None else None)
    for name in ("acked", "snoozed", "inhibited"):
        if name in query:
            shown = [a for a in shown if a[name] == query[name]]
    return jsonify(AlertsAnswer().dump({"alerts": shown[:query["limit"]], "count": len(shown)}))
