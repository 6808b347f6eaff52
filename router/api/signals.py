"""The read API and health endpoints (SPEC §9), plus the admin-token gate on `/api`."""
from __future__ import annotations

import json

from flask import Blueprint, current_app, jsonify, request
from marshmallow import Schema, ValidationError, fields, validate
from redis.exceptions import RedisError

from router.api.errors import invalid, json_error as _error
from router.core import brain
from router.core import metrics
from router.api.openapi import documents
from router.core.signal import SignalSchema
from router.jobs.queues import QUEUES
from sources.common import same

bp = Blueprint("api", __name__)
bp.register_error_handler(ValidationError, invalid)

# Open even when SPARKY_ADMIN_TOKEN is set: Prometheus posts here with its own auth (SPEC §3).
OPEN_API_PATHS = frozenset({"/api/v2/alerts"})


class SignalQuery(Schema):
    source = fields.String(load_default="")
    kind = fields.String(load_default="")
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=1000))


class LimitQuery(Schema):
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=10_000))


def _sparky():
    return current_app.extensions["sparky"]


def require_admin_token():
    """before_app_request hook: `/api` needs SPARKY_ADMIN_TOKEN as a bearer token when it is set."""
    token = _sparky().config.admin_token
    if not token or not request.path.startswith("/api/") or request.path in OPEN_API_PATHS:
        return None
    auth = request.headers.get("Authorization", "")
    given = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
    if not given or not same(given, token):
        return _error(401, "this endpoint needs SPARKY_ADMIN_TOKEN as Authorization: Bearer <token>")
    return None


def _query(schema: Schema) -> dict:
    return schema.load(request.args.to_dict())



@bp.get("/api/signals/<signal_id>")
@documents(response=SignalSchema, tags=("signals",))
def get_signal(signal_id: str):
    """The signal object itself (404 when unknown or expired)."""
    signal = brain.load_signal(_sparky().conn, signal_id)
    if signal is None:
        return _error(404, f"no signal {signal_id!r} (unknown, or expired after SPARKY_SIGNAL_TTL)")
    return jsonify(signal)


@bp.get("/api/signals/<signal_id>/decision")
@documents(tags=("signals",))
def get_decision(signal_id: str):
    """What the rules decided for a signal: version, matched rules, actions, first failed conditions."""
    raw = _sparky().conn.get(brain.key_decision(signal_id))
    if raw is None:
        return _error(404, f"no decision for signal {signal_id!r} yet")
    return current_app.response_class(raw, mimetype="application/json")


@bp.get("/api/signals")
@documents(query=SignalQuery, tags=("signals",))
def list_signals():
    """Recent signals, newest first, filtered by source and kind."""
    q = _query(SignalQuery())
    signals = brain.recent_signals(_sparky().conn, q["source"], q["kind"], q["limit"])
    return jsonify(signals=signals, count=len(signals))


@bp.get("/api/dead-letters")
@documents(query=LimitQuery, tags=("signals",))
def list_dead_letters():
    """Refused requests and failed deliveries, newest first, with secrets redacted."""
    q = _query(LimitQuery())
    letters = brain.dead_letters(_sparky().conn, q["limit"])
    return jsonify(dead_letters=letters, count=len(letters))


@bp.get("/metrics")
def prometheus_metrics():
    """Prometheus metrics: signals per source and outcome, evaluation time, actions, queue depth."""
    body = metrics.render(_sparky().conn, QUEUES)
    return current_app.response_class(body, mimetype="text/plain; version=0.0.4")


@bp.get("/healthz")
def healthz():
    """200 while the process is up."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    """200 when the brain answers and the rules are loaded, else 503."""
    sparky = _sparky()
    checks = {}
    try:
        checks["brain"] = bool(sparky.conn.ping())
    except RedisError as exc:
        checks["brain"] = False
        checks["brain_error"] = type(exc).__name__
    if checks["brain"]:
        checks["rules"], detail = sparky.rules_ready()
        checks["rules_version" if checks["rules"] else "rules_error"] = detail
    else:
        checks["rules"] = False
    ready = checks["brain"] and checks["rules"]
    response = current_app.response_class(json.dumps({"ready": ready, **checks}), mimetype="application/json")
    response.status_code = 200 if ready else 503
    if not ready:
        response.headers["Retry-After"] = "5"
    return response
