"""What the Alertmanager API v2 endpoints share (router/api/am_alerts.py, am_silences.py, am_status.py).

Alertmanager's clients (amtool, Grafana, karma) are generated from its OpenAPI spec, so these
endpoints answer in its shapes, not Sparky's:
- an error body is a JSON *string* (`"bad matcher format: =="`), with a status the spec lists
  for the operation where one fits (amtool prints the body only then; `{"error": ...}` makes it
  fail with `cannot unmarshal object into Go value of type string`);
- `filter=` is repeated, one Alertmanager matcher per value (router/core/am_matchers.py);
- the flags (`active`, `silenced`, ...) default to true and take true/false (also 1/0, yes/no);
  anything else is a 400 naming the flag (Alertmanager reads it as false).
The admin-token gate (router/api/gate.py) is the same as for the rest of `/api`.
"""
from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify
from marshmallow import ValidationError
from werkzeug.datastructures import MultiDict

from router.alerts import routes
from router.api.errors import validation_message
from router.core import am_matchers
from router.core.matchers import Matcher, MatcherError
from router.engine import RulesUnavailable, current
from router.engine.rules import Rules

TAGS = ("alertmanager",)
TRUE, FALSE = ("true", "1", "yes", "y", "on"), ("false", "0", "no", "n", "off")


class AMError(Exception):
    """An answer in Alertmanager's error shape: a status and a JSON string."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def am_error(status: int, message: str) -> Response:
    response = jsonify(message)
    response.status_code = status
    return response


def register(bp: Blueprint) -> None:
    """The error answers of an Alertmanager API blueprint."""
    bp.register_error_handler(AMError, lambda exc: am_error(exc.status, exc.message))
    bp.register_error_handler(ValidationError, lambda exc: am_error(400, validation_message(exc)))


def sparky():
    return current_app.extensions["sparky"]


def filters(args: MultiDict) -> tuple[Matcher, ...]:
    """The `filter=` matchers of a query; AMError 400 with Alertmanager's words for a bad one."""
    try:
        return tuple(am_matchers.parse_filter(text) for text in args.getlist("filter"))
    except MatcherError as exc:
        raise AMError(400, str(exc)) from None


def flag(args: MultiDict, name: str) -> bool:
    value = args.get(name)
    if value is None or value.strip().lower() in TRUE:
        return True
    if value.strip().lower() in FALSE:
        return False
    raise AMError(400, f"{name}: {value!r} is not a boolean (true or false)")


def rules_in_force() -> Rules | None:
    """The rules in force, or None when there are none (the tree is then a bare root)."""
    try:
        return current(sparky().conn, sparky().config.rules_dir, sparky().config.rules_poll)
    except RulesUnavailable:
        return None


def routing_tree() -> routes.Tree:
    return routes.tree(rules_in_force())
