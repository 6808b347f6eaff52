"""Scans and stale items over HTTP (SPEC §8, §9); writes need SPARKY_ADMIN_TOKEN like all of `/api`.

- `POST /api/scans/<name>`: queue a run of the scan now → 202 `{"scan", "run", "job"}`
- `GET /api/scans`: every scan in force, its schedule, next run and last run's summary
- `GET /api/stale?owner=`: the idle items of the last scans (all, or one owner's)
- `GET /api/stale/requests?state=pending`: clean-up requests (`pending`, `approved`, `done`, ...; `all`)
"""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request
from marshmallow import Schema, ValidationError, fields, validate

from router.api.errors import invalid
from router.api.errors import json_error as _error
from router.api.openapi import documents
from router.engine import RulesUnavailable
from router.stale import approvals, cron, inventory, scans
from router.stale.listing import stale_items

bp = Blueprint("stale_api", __name__)
bp.register_error_handler(ValidationError, invalid)

TAGS = ("stale",)
STATES = ("pending", "approved", "denied", "done", "failed", "expired", "all")


class StaleQuery(Schema):
    owner = fields.String(load_default="")
    limit = fields.Integer(load_default=500, validate=validate.Range(min=1, max=10_000))


class RequestsQuery(Schema):
    state = fields.String(load_default="pending", validate=validate.OneOf(STATES))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


def _sparky():
    return current_app.extensions["sparky"]




@bp.errorhandler(RulesUnavailable)
def _no_rules(exc: RulesUnavailable):
    response = _error(503, str(exc))
    response.headers["Retry-After"] = "30"     # every 503 says when to come back (/openapi.json)
    return response


@bp.post("/api/scans/<name>")
@documents(tags=TAGS, ok=202)
def run_scan(name: str):
    """Queue a run of scan `name` (stale.yml `scans:`) now: 202 {scan, run, job}."""
    sparky = _sparky()
    try:
        job_id, run_id = scans.enqueue(sparky.conn, sparky.config, name, trigger="api")
    except scans.UnknownScan as exc:
        return _error(404, str(exc), scans=exc.known)
    return jsonify(scan=name, run=run_id, job=job_id), 202


@bp.get("/api/scans")
@documents(tags=TAGS)
def list_scans():
    """The scans in force: type, schedule, next run and the last run's summary."""
    sparky = _sparky()
    in_force = scans.in_force(sparky.conn, sparky.config)
    upcoming = cron.next_runs(sparky.conn, sparky.config)
    last = inventory.summaries(sparky.conn)
    found = [{"name": s.name, "type": s.type, "schedule": s.schedule, "next_run": upcoming.get(s.name, ""),
              "last_run": last.get(s.name)} for s in in_force.values()]
    return jsonify(scans=found, count=len(found))


@bp.get("/api/stale")
@documents(query=StaleQuery, tags=TAGS)
def list_stale():
    """Idle items of the last scans (all, or one owner's), with nags, snoozes and pending requests."""
    query = StaleQuery().load(request.args.to_dict())
    sparky = _sparky()
    items = stale_items(sparky.conn, query["owner"], sparky.config.rules_dir)
    return jsonify(items=items[:query["limit"]], count=len(items))


@bp.get("/api/stale/requests")
@documents(query=RequestsQuery, tags=TAGS)
def list_requests():
    """Clean-up requests (close/delete/archive) by state, newest first."""
    query = RequestsQuery().load(request.args.to_dict())
    state = "" if query["state"] == "all" else query["state"]
    found = approvals.requests(_sparky().conn, state, query["limit"])
    return jsonify(requests=found, count=len(found))
