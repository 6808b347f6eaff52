"""The admin-token gate on `/api` (SPEC §9): SPARKY_ADMIN_TOKEN as a bearer token, when it is set.

Alertmanager's API v2 lives under `/api/v2/` and is gated like the rest: amtool sends the token
with `--http.config.file` (`authorization: {credentials: <token>}`), Grafana and karma with their
data source's headers. Only Prometheus' push, `POST /api/v2/alerts`, stays open (it has the hook
token, SPEC §3); reading alerts there needs the admin token like `GET /api/alerts`. Alertmanager's
`POST /-/reload` is outside `/api` but reloads the rules, so it is gated too; its probes are not.
"""
from __future__ import annotations

from flask import current_app, request

from router.api.errors import error_answer as _error
from sources.common import same

# Open even when SPARKY_ADMIN_TOKEN is set: Prometheus posts here with its own auth (SPEC §3).
OPEN_API = frozenset({("POST", "/api/v2/alerts")})
# Outside /api, gated all the same: a write.
GATED_PATHS = frozenset({"/-/reload"})


def require_admin_token():
    """before_app_request hook: `/api` needs SPARKY_ADMIN_TOKEN as a bearer token when it is set."""
    token = current_app.extensions["sparky"].config.admin_token
    if not token or (request.method, request.path) in OPEN_API:
        return None
    if not request.path.startswith("/api/") and request.path not in GATED_PATHS:
        return None
    auth = request.headers.get("Authorization", "")
    given = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
    if not given or not same(given, token):
        return _error(401, "this endpoint needs SPARKY_ADMIN_TOKEN as Authorization: Bearer <token>")
    return None
