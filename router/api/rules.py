"""`GET /api/rules`, `POST /api/rules/test`, `POST /api/rules/reload` (SPEC §4, §9)."""
from __future__ import annotations

import json

from flask import Blueprint, current_app, jsonify, request
from marshmallow import RAISE, Schema, ValidationError, fields, validates_schema
from redis import Redis

from router.api.errors import invalid
from router.api.errors import json_error as _error
from router.api.openapi import documents
from router.core import brain
from router.core.config import Config
from router.core.signal import SignalSchema
from router.engine import RulesUnavailable, current, in_force, reload
from router.engine.dryrun import DryRunError, dry_run, parse_at, signals_from
from router.engine.store import last_refusal

bp = Blueprint("rules_api", __name__)
bp.register_error_handler(ValidationError, invalid)


class TestRequest(Schema):
    """Either a vendor payload for an adapter, or signals already in signal shape."""

    class Meta:
        unknown = RAISE

    source = fields.String()
    payload = fields.Raw()                     # the body: a string as sent, or a JSON value
    headers = fields.Dict(keys=fields.String(), values=fields.String(), load_default=dict)
    signals = fields.List(fields.Dict())
    at = fields.String()

    @validates_schema
    def _one_of(self, data, **kwargs):
        if ("signals" in data) == ("source" in data):
            raise ValidationError('give either "source" and "payload", or "signals"')
        if "source" in data and "payload" not in data:
            raise ValidationError('missing "payload"', "payload")


def _sparky():
    return current_app.extensions["sparky"]


def rules_view(conn: Redis, config: Config) -> dict:
    """The rules in force as `GET /api/rules` and the dashboard show them: version, files, rulesets
    with their rules (conditions and actions as written), and why the last reload was refused."""
    try:
        rules = current(conn, config.rules_dir, config.rules_poll)
    except RulesUnavailable as exc:
        return {"version": None, "rulesets": [], "refused": last_refusal(conn), "problems": exc.problems}
    record = json.loads(conn.get(brain.key_rules(rules.version)) or "{}")
    rulesets = [{
        "name": c.name,
        "file": c.ruleset.file,
        "rules": [{"name": r.rule.name, "line": r.rule.line, "when": [check[0] for check in r.checks],
                   "then": [a.as_written() for a in r.rule.actions], "continue": r.rule.cont}
                  for r in c.rules],
        "tests": len(c.ruleset.tests),
    } for c in rules.rulesets]
    return {"version": rules.version, "published_at": record.get("published_at"), "by": record.get("by"),
            "files": sorted(rules.files), "rulesets": rulesets, "refused": last_refusal(conn)}


def try_payload(conn: Redis, config: Config, body: dict) -> dict:
    """A dry run of a TestRequest body: `{"signals", "results"}`, no side effects (the dashboard's
    "test this payload" form too). Raises ValidationError or DryRunError for bad input, and
    RulesUnavailable when no rules are in force."""
    data = TestRequest().load(body)
    at = parse_at(data["at"]) if data.get("at") else None
    if "signals" in data:
        signals = [SignalSchema().make(s).to_dict() for s in data["signals"]]
    else:
        payload = data["payload"]
        raw = payload.encode("utf-8") if isinstance(payload, str) else json.dumps(payload).encode()
        headers = data["headers"] or ({} if isinstance(payload, str) else {"Content-Type": "application/json"})
        signals = signals_from(data["source"], raw, headers)
    return dry_run(conn, current(conn, config.rules_dir, config.rules_poll), signals, at)


@bp.get("/api/rules")
def get_rules():
    sparky = _sparky()
    return jsonify(rules_view(sparky.conn, sparky.config))


@bp.post("/api/rules/test")
@documents(errors=(400, 415), tags=("rules",))
def test_rules():
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return _error(400, "send a JSON object: {source, payload, headers?, at?} or {signals, at?}")
    sparky = _sparky()
    try:
        return jsonify(try_payload(sparky.conn, sparky.config, body))
    except ValidationError as exc:
        return _error(400, "invalid request", fields=exc.messages)
    except DryRunError as exc:
        return _error(exc.status, str(exc))
    except RulesUnavailable as exc:
        response = _error(503, "no rules in force", problems=exc.problems)
        response.headers["Retry-After"] = "30"     # every 503 says when to come back (/openapi.json)
        return response


@bp.post("/api/rules/reload")
@documents(errors=(422,), tags=("rules",))
def reload_rules():
    sparky = _sparky()
    outcome = reload(sparky.conn, sparky.config.rules_dir, by="api")
    if not outcome.ok:
        return _error(422, "rules refused; the version in force stays", version=in_force(sparky.conn),
                      problems=[str(p) for p in outcome.problems])
    return jsonify(version=outcome.version, changed=outcome.changed)
