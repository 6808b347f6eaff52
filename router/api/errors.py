"""JSON error answers shared by every blueprint: `{"error": ..., "status": n}` and nothing else."""
from __future__ import annotations

from flask import jsonify
from marshmallow import ValidationError


def json_error(status: int, message: str, **extra):
    response = jsonify(error=message, status=status, **extra)
    response.status_code = status
    return response


def validation_message(exc: ValidationError) -> str:
    """marshmallow's messages as one line naming each field: `limit: Must be at least 1.`"""
    messages = exc.messages if isinstance(exc.messages, dict) else {"body": exc.messages}
    return "; ".join(f"{k}: {' '.join(map(str, v)) if isinstance(v, list) else v}" for k, v in messages.items())


def invalid(exc: ValidationError):
    """Blueprint error handler: a schema refused the request."""
    return json_error(400, validation_message(exc))
