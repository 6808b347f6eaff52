"""`GET /api/v2/alerts` and `GET /api/v2/alerts/groups`: what is firing, as Alertmanager's API v2.

The firing set is the one `alerts` and `GET /api/alerts` read (router/alerts/lookup.py); each alert
is shaped and filtered by router/alerts/gettable.py, its `silencedBy` are the snoozes that silence
it as silences (router/snoozes/silences.py), its `inhibitedBy` what router/alerts/inhibitors.py
answers, its `receivers` the routing tree's (router/alerts/routes.py). `POST /api/v2/alerts`, what
Prometheus pushes, is a source (sources/alertmanager.py, router/pipeline/hooks.py).

A read: SPARKY_ADMIN_TOKEN is the whole check, as for the other reads of `/api` (the POST stays
open for Prometheus).
"""
from __future__ import annotations

import re
import time

from flask import Blueprint, jsonify, request
from marshmallow import Schema, fields

from router.alerts import gettable, inhibitors, lookup
from router.api import am_shared
from router.api.am_shared import AMError
from router.api.openapi import documents
from router.core import brain
from router.snoozes import silences

bp = Blueprint("am_alerts_api", __name__)
am_shared.register(bp)


class AlertsQuery(Schema):
    filter = fields.List(fields.String(), metadata={"description": 'Alertmanager matchers (alertname="DiskFull", '
                                                                  'job=~"api.*"), one per parameter; all must hold'})
    active = fields.Boolean(metadata={"description": "include active alerts (default true)"})
    silenced = fields.Boolean(metadata={"description": "include alerts a snooze silences (default true)"})
    inhibited = fields.Boolean(metadata={"description": "include inhibited alerts (default true)"})
    unprocessed = fields.Boolean(metadata={"description": "accepted; every alert Sparky lists is processed"})
    receiver = fields.String(metadata={"description": "a regex one of the alert's receivers must match whole"})


def _asked() -> gettable.Filters:
    args = request.args
    receiver = None
    if args.get("receiver"):
        try:
            receiver = re.compile(args["receiver"])
        except re.error as exc:
            raise AMError(400, f"receiver: bad regex: {exc}") from None
    am_shared.flag(args, "unprocessed")      # checked, as the others are; it selects nothing
    return gettable.Filters(am_shared.filters(args), am_shared.flag(args, "active"),
                            am_shared.flag(args, "silenced"), am_shared.flag(args, "inhibited"), receiver)


def _inputs(now: float) -> tuple:
    """What both views read: the firing alerts, their latest signals, the tree, who silences and inhibits."""
    sparky = am_shared.sparky()
    conn = sparky.conn
    firing = [a for a in lookup.firing(conn) if a.get("status") in brain.FIRING_STATES]
    signals = {s["id"]: s for s in brain.load_signals(conn, [a["signal"] for a in firing if a.get("signal")])}
    active = brain.active_snoozes(conn, now)
    silenced = {a["fingerprint"]: silences.silenced_by(a, active, now) for a in firing}
    rules = am_shared.rules_in_force()
    inhibited = inhibitors.inhibited_by(conn, firing, now, rules.data if rules is not None else None)
    return firing, signals, am_shared.routing_tree(), silenced, inhibited


@bp.get("/api/v2/alerts")
@documents(query=AlertsQuery, tags=am_shared.TAGS)
def get_alerts():
    """Alertmanager API v2: the firing alerts, filtered as Alertmanager filters them (amtool alert query)."""
    asked, now = _asked(), time.time()
    shown = gettable.alerts(*_inputs(now), asked, am_shared.sparky().config.resolve_timeout, now)
    return jsonify(shown)


@bp.get("/api/v2/alerts/groups")
@documents(query=AlertsQuery, tags=am_shared.TAGS)
def get_alert_groups():
    """Alertmanager API v2: the firing alerts in groups, per route and group labels (karma, Grafana)."""
    asked, now = _asked(), time.time()
    return jsonify(gettable.groups(*_inputs(now), asked, am_shared.sparky().config.resolve_timeout, now))
