"""On call over HTTP (docs/oncall.md):

- `GET /api/oncall`: every schedule, who is on each layer now and next, and until when
- `GET /api/oncall/<schedule>.ics`: the schedule as an iCalendar feed (shifts a week back, 90 days ahead)
- `GET /api/alerts/<ref>/escalation`: the alert's escalation runs, their steps and history
- `GET /api/alerts/<ref>/timeline`: everything that happened to the alert, in order, who and when
- `GET /api/reports/response?since=7d&until=`: MTTA and MTTR per route over a period
"""
from __future__ import annotations

import time

from flask import Blueprint, Response, current_app, jsonify, request
from marshmallow import RAISE, Schema, ValidationError, fields

from router.alerts import lookup
from router.api.errors import invalid
from router.api.errors import json_error as _error
from router.api.openapi import documents
from router.core import brain, durations
from router.core.durations import humanize
from router.core.times import epoch_of, from_epoch
from router.engine import RulesUnavailable, store
from router.oncall import escalation, ical, response, rota, timeline
from router.oncall.schedule import now_and_next

bp = Blueprint("oncall_api", __name__)
bp.register_error_handler(ValidationError, invalid)

TAGS = ("oncall",)


def _sparky():
    return current_app.extensions["sparky"]


def _data() -> dict:
    sparky = _sparky()
    return store.current(sparky.conn, sparky.config.rules_dir, poll=sparky.config.rules_poll).data


@bp.errorhandler(RulesUnavailable)
def _no_rules(exc: RulesUnavailable):
    return _error(503, str(exc))


@bp.get("/api/oncall")
@documents(tags=TAGS)
def list_oncall():
    """Every schedule (oncall.yml): for each layer who is on call now, until when, and who is next."""
    conn, now = _sparky().conn, time.time()
    out = []
    for name, schedule in rota.schedules(_data()).items():
        schedule = rota.with_chat_overrides(conn, schedule)
        layers = []
        for layer in schedule.layers:
            current, later = now_and_next(schedule, layer, now)
            layers.append({"layer": layer, "who": current.who, "override": current.override,
                           "until": from_epoch(later.start) if later else None,   # None: nobody else soon
                           "next": later.who if later else None})
        out.append({"schedule": name, "zone": schedule.zone.key, "layers": layers})
    return jsonify(schedules=out, count=len(out))


@bp.get("/api/oncall/<name>.ics")
@documents(tags=TAGS)
def schedule_ics(name: str):
    """The schedule as an iCalendar feed (text/calendar): one event per shift and layer, overrides applied."""
    found = rota.schedules(_data())
    if name not in found:
        return _error(404, f'no schedule "{name}"', schedules=sorted(found))
    body = ical.feed(rota.with_chat_overrides(_sparky().conn, found[name]), time.time())
    return Response(body, mimetype="text/calendar",
                    headers={"Content-Disposition": f'inline; filename="{name}.ics"'})


def _alert(conn, ref: str) -> dict | None:
    found = lookup.find(conn, ref)
    return found[0] if len(found) == 1 else None


@bp.get("/api/alerts/<path:ref>/escalation")
@documents(tags=TAGS)
def alert_escalation(ref: str):
    """The alert's escalation runs: policy, state, where each stands, and every page and stop so far.

    `ref` is an alert id (`alerts`), a fingerprint, or the id of one of its signals.
    """
    conn = _sparky().conn
    alert = _alert(conn, ref)
    if alert is None:
        return _error(404, f"no alert {ref!r} (use an id from GET /api/alerts, a fingerprint or a signal id)")
    runs = brain.escalations(conn, alert["fingerprint"])
    return jsonify(alert=alert["id"], fingerprint=alert["fingerprint"], status=alert.get("status", ""),
                   acked_by=alert.get("acked_by", ""), escalations=[run_view(r) for r in runs], count=len(runs))


def run_view(run: dict) -> dict:
    """An escalation run as the API (and the dashboard's alert page) shows it."""
    return {"id": run["id"], "policy": run.get("policy") or None, "state": run["state"],
            "summary": escalation.describe(run), "signal": run["signal_id"], "round": run["round"],
            "repeat": run["repeat"], "next_at": run.get("next_at"), "started": from_epoch(run["started"]),
            "steps": [_step(s) for s in run["steps"]], "history": run["history"]}


def _step(step: dict) -> dict:
    if "wait" in step:
        return {"wait": humanize(step["wait"])}
    return {"notify": step["notify"]}


@bp.get("/api/alerts/<path:ref>/timeline")
@documents(tags=TAGS)
def alert_timeline(ref: str):
    """Everything that happened to an alert, oldest first: signals, decisions (with the rules version),
    messages posted and other action outcomes, acks, escalation steps, resolutions — with who and when.

    `ref` is an alert id (`alerts`), a fingerprint, or the id of one of its signals.
    """
    conn = _sparky().conn
    alert = _alert(conn, ref)
    if alert is None:
        return _error(404, f"no alert {ref!r} (use an id from GET /api/alerts, a fingerprint or a signal id)")
    events = timeline.timeline(conn, alert["fingerprint"])
    return jsonify(alert=alert["id"], fingerprint=alert["fingerprint"], status=alert.get("status", ""),
                   events=events, count=len(events))


class ResponseQuery(Schema):
    class Meta:
        unknown = RAISE

    since = fields.String(load_default="7d")     # a duration back from `until`, or an ISO 8601 time
    until = fields.String(load_default="")       # ISO 8601; default now


def _moment(value: str, name: str, until: float | None = None) -> float:
    if until is not None and durations.is_duration(value):
        return until - durations.parse(value)
    at = epoch_of(value)
    if at is None:
        raise ValidationError({name: [f'"{value}" is neither an ISO 8601 time nor a duration such as 7d']})
    return at


@bp.get("/api/reports/response")
@documents(query=ResponseQuery, tags=TAGS)
def response_report():
    """MTTA and MTTR per route over a period: alert episodes resolved in it, acked ones, mean seconds.

    `since` is a duration back from `until` (`7d`, `24h`) or an ISO 8601 time; `until` defaults to now.
    The route is the rule that routed the alert (`routing/critical-alerts`). MTTA counts the acked
    episodes only. 400 names a bad parameter.
    """
    query = ResponseQuery().load(request.args.to_dict())
    until = _moment(query["until"], "until") if query["until"] else time.time()
    since = _moment(query["since"], "since", until)
    if since > until:
        return _error(400, "since is after until")
    routes = response.report(_sparky().conn, since, until)
    return jsonify(since=from_epoch(since), until=from_epoch(until), routes=routes, count=len(routes))
