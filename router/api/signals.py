"""Signals, their decisions, and the dead letters over HTTP (SPEC §9): the read API of reception."""
from __future__ import annotations

import json

from flask import Blueprint, current_app, jsonify, request
from marshmallow import Schema, ValidationError, fields, validate

from router.api.errors import invalid
from router.api.errors import json_error as _error
from router.api.openapi import documents
from router.core import brain
from router.core.signal import SignalSchema
from router.engine.explained import explained

bp = Blueprint("api", __name__)
bp.register_error_handler(ValidationError, invalid)


class SignalQuery(Schema):
    source = fields.String(load_default="")
    kind = fields.String(load_default="")
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=1000))


class LimitQuery(Schema):
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=10_000))


def _sparky():
    return current_app.extensions["sparky"]


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
    conn = _sparky().conn
    raw = conn.get(brain.key_decision(signal_id))
    if raw is None:
        return _error(404, f"no decision for signal {signal_id!r} yet")
    if b'"explain"' in raw:
        # The first failed conditions are computed now, from what the evaluation kept (explained.py).
        raw = json.dumps(explained(conn, json.loads(raw)))
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
