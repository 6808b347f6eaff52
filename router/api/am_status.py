"""Alertmanager API v2 status and receivers, and Alertmanager's probes: `/-/healthy`, `/-/ready`, `/-/reload`.

`GET /api/v2/status` is what every amtool command asks first, and what `amtool cluster show`,
`config show` and `config routes` print:
- `versionInfo.version` is the Alertmanager API version Sparky speaks, `0.25.0` (amtool compares
  it with its own and warns on stderr when they differ); `revision` is Sparky's version and
  `branch` the rules version in force (also in `sparky`, with their own names);
- `cluster`: `disabled`, no peers (one Sparky is one Alertmanager; its web processes share a brain);
- `config.original`: the routing ruleset as an Alertmanager routing tree (router/alerts/routes.py),
  a file amtool's own loader reads, with Sparky's and the rules' versions in its first lines;
- `uptime`: when this process started (a time, as Alertmanager gives it).
`GET /api/v2/receivers`: the receivers of that tree. `/-/healthy` is up, `/-/ready` is `/readyz`
(brain and rules), `POST /-/reload` is `POST /api/rules/reload` and needs SPARKY_ADMIN_TOKEN
when it is set, as that does (router/api/gate.py).
"""
from __future__ import annotations

import platform
import time
from importlib import metadata

from flask import Blueprint, current_app, jsonify
from redis.exceptions import RedisError

from router.alerts import routes
from router.api import am_shared
from router.api.errors import json_error
from router.api.openapi import documents
from router.core.times import from_epoch
from router.engine import in_force, reload

bp = Blueprint("am_status_api", __name__)
am_shared.register(bp)

API_VERSION = "0.25.0"        # the Alertmanager whose API v2 (and amtool) Sparky is tested against
STARTED = time.time()


def sparky_version() -> str:
    try:
        return metadata.version("sparky")
    except metadata.PackageNotFoundError:
        return "unknown"


def config_header(version: str, rules_version: str) -> list[str]:
    return [f"Sparky {version} serves Alertmanager's API v2; rules version {rules_version or 'none in force'}.",
            "This is its routing ruleset (routing.yml) as an Alertmanager routing tree, for amtool and",
            "Grafana: one route per rule that can route a firing alert, its room as the receiver.",
            "Conditions that are not label matchers are comments under their route. Sparky routes",
            "by its rule files; `sparky rules test` shows what it does with a payload."]


@bp.get("/api/v2/status")
@documents(tags=am_shared.TAGS)
def get_status():
    """Alertmanager API v2: versions, cluster, the routing ruleset as Alertmanager config (amtool config show)."""
    rules = am_shared.rules_in_force()
    version, rules_version = sparky_version(), rules.version if rules is not None else ""
    tree = routes.tree(rules)
    return jsonify({
        "cluster": {"status": "disabled", "peers": []},
        "versionInfo": {"version": API_VERSION, "revision": f"sparky {version}",
                        "branch": f"rules {rules_version or 'none'}", "buildUser": "sparky",
                        "buildDate": "", "goVersion": f"python {platform.python_version()}"},
        "config": {"original": routes.config_yaml(tree, config_header(version, rules_version))},
        "uptime": from_epoch(STARTED),
        "sparky": {"version": version, "rules_version": rules_version},
    })


@bp.get("/api/v2/receivers")
@documents(tags=am_shared.TAGS)
def get_receivers():
    """Alertmanager API v2: the receivers of the routing tree (the rooms the routing ruleset names)."""
    return jsonify([{"name": name} for name in am_shared.routing_tree().receivers])


def _text(body: str, status: int = 200):
    return current_app.response_class(body, status=status, mimetype="text/plain")


@bp.get("/-/healthy")
@documents(content="text/plain", brain=False)
def healthy():
    """Alertmanager's liveness probe: 200 `OK` while the process is up."""
    return _text("OK")


@bp.get("/-/ready")
@documents(content="text/plain", error_content="text/plain", errors=(503,))
def ready():
    """Alertmanager's readiness probe: 200 `OK` when the brain answers and rules are in force, else 503."""
    sparky = am_shared.sparky()
    try:
        ok, detail = sparky.rules_ready()
    except RedisError:
        ok, detail = False, "brain (Redis) unreachable"
    if ok:
        return _text("OK")
    response = _text(f"not ready: {detail}", 503)
    response.headers["Retry-After"] = "5"
    return response


@bp.post("/-/reload")
@documents(content="text/plain", errors=(422,))
def reload_config():
    """Alertmanager's reload: check the rules dir and publish it (`POST /api/rules/reload`)."""
    sparky = am_shared.sparky()
    outcome = reload(sparky.conn, sparky.config.rules_dir, by="api")
    if not outcome.ok:
        return json_error(422, "rules refused; the version in force stays", version=in_force(sparky.conn),
                          problems=[str(p) for p in outcome.problems])
    return _text("")
