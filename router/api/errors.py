"""JSON error answers shared by every blueprint: `{"error": ..., "status": n}` and nothing else —
except under Alertmanager's API v2 (`/api/v2/`, not the push), where an error is a JSON string
(router/api/am_shared.py), whoever answers it: the gate, the app's handlers, the hardening."""
from __future__ import annotations

from flask import jsonify, request
from marshmallow import ValidationError


def json_error(status: int, message: str, **extra):
    response = jsonify(error=message, status=status, **extra)
    response.status_code = status
    return response


def speaks_alertmanager() -> bool:
    """Is this a request to Alertmanager's API v2, whose errors are JSON strings? (Its push,
    `POST /api/v2/alerts`, is a hook: it answers as every hook does.)"""
    return request.path.startswith("/api/v2/") and request.blueprint != "hooks"


def error_answer(status: int, message: str, **extra):
    """An error in the shape of the API asked: Alertmanager's string, or `{error, status, ...}`."""
    if speaks_alertmanager():
        response = jsonify(message)
        response.status_code = status
        return response
    return json_error(status, message, **extra)


def validation_message(exc: ValidationError) -> str:
    """marshmallow's messages as one line naming each field: `limit: Must be at least 1.`"""
    messages = exc.messages if isinstance(exc.messages, dict) else {"body": exc.messages}
    return "; ".join(f"{k}: {' '.join(map(str, v)) if isinstance(v, list) else v}" for k, v in messages.items())


def invalid(exc: ValidationError):
    """Blueprint error handler: a schema refused the request."""
    return json_error(400, validation_message(exc))
