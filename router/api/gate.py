"""The admin-token gate on `/api` (SPEC §9): SPARKY_ADMIN_TOKEN as a bearer token, when it is set."""
from __future__ import annotations

from flask import current_app, request

from router.api.errors import json_error as _error
from sources.common import same

# Open even when SPARKY_ADMIN_TOKEN is set: Prometheus posts here with its own auth (SPEC §3).
OPEN_API_PATHS = frozenset({"/api/v2/alerts"})


def require_admin_token():
    """before_app_request hook: `/api` needs SPARKY_ADMIN_TOKEN as a bearer token when it is set."""
    token = current_app.extensions["sparky"].config.admin_token
    if not token or not request.path.startswith("/api/") or request.path in OPEN_API_PATHS:
        return None
    auth = request.headers.get("Authorization", "")
    given = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
    if not given or not same(given, token):
        return _error(401, "this endpoint needs SPARKY_ADMIN_TOKEN as Authorization: Bearer <token>")
    return None
