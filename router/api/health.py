"""Operations: `/healthz` (the process is up), `/readyz` (brain, rules, delivery), `/metrics` (Prometheus)."""
from __future__ import annotations

import json

from flask import Blueprint, current_app, jsonify
from redis.exceptions import RedisError

from router.api import selfalert
from router.api.openapi import documents
from router.core import metrics
from router.jobs.queues import QUEUES

bp = Blueprint("health", __name__)


def _sparky():
    return current_app.extensions["sparky"]


@bp.get("/metrics")
@documents(content="text/plain")
def prometheus_metrics():
    """Prometheus metrics: signals per source and outcome, evaluation time, actions, queue depth."""
    body = metrics.render(_sparky().conn, QUEUES)
    return current_app.response_class(body, mimetype="text/plain; version=0.0.4")


@bp.get("/healthz")
@documents(brain=False)
def healthz():
    """200 while the process is up."""
    return jsonify(status="ok")


@bp.get("/readyz")
@documents(errors=(503,), error_schema={"type": "object", "required": ["ready"]})
def readyz():
    """200 when the brain answers, the rules are loaded and delivery moves (a worker has beaten
    within SPARKY_READY_WORKER_AGE, no signal has waited longer than SPARKY_READY_PENDING_AGE),
    else 503 saying which; a change of the last raises Sparky's own alert (selfalert.py)."""
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
    if checks["brain"]:
        stale = selfalert.check(sparky.conn, sparky.config, sparky.started)
        checks["delivery"] = not stale
        if stale:
            checks["stale"] = stale
    ready = checks["brain"] and checks["rules"] and checks.get("delivery", False)
    response = current_app.response_class(json.dumps({"ready": ready, **checks}), mimetype="application/json")
    response.status_code = 200 if ready else 503
    if not ready:
        response.headers["Retry-After"] = "5"
    return response
