"""What the write endpoints of `/api` share: they act for a named person, as chat does.

SPARKY_ADMIN_TOKEN says who is *calling* (the dashboard, a script); it does not say who is
*acting*. So every write names its person (`"user": "alice"`, a people.yml name, Slack id,
GitHub login or e-mail) and runs through `router.commands.execute.run_as`: the same identity
lookup, permissions.yml check, domain function and audit entries as the chat command it stands
for. The token holder may act as anyone, as with the dashboard's chat box
(`POST /api/rooms/<room>/messages`); what that person may do is still permissions.yml's call.

A refusal keeps its reason and rule and gets a status from its kind (router.commands.Refused):
forbidden 403, guardrail 422, conflict 409, missing 404, invalid 400, upstream 502; an argument
the command cannot use (UsageError) is 400; no rules in force is 503.
"""
from __future__ import annotations

import time
from typing import Callable, TypeVar

from flask import Blueprint, current_app, request
from marshmallow import RAISE, Schema, ValidationError, fields, validate

from router.api.errors import invalid, json_error
from router.commands.context import Context
from router.commands.declare import Refused, UsageError
from router.commands.execute import run_as
from router.engine import RulesUnavailable

T = TypeVar("T")

STATUS = {"forbidden": 403, "guardrail": 422, "conflict": 409, "missing": 404, "invalid": 400, "upstream": 502}
ERRORS = (*sorted(set(STATUS.values())), 503)     # what a write acting for a person may answer (/openapi.json)


class Acting(Schema):
    """Who acts, and from which room: the fields every write body has."""

    class Meta:
        unknown = RAISE

    user = fields.String(required=True, validate=validate.Length(min=1, max=100),
                         metadata={"description": "the person acting: a people.yml name, Slack id, "
                                                  "GitHub login or e-mail"})
    room = fields.String(load_default="", validate=validate.Length(max=80),
                         metadata={"description": "where they act from: permissions.yml `rooms:` are "
                                                  "checked against it, and news goes there"})


def body(schema: Schema, allow_query: bool = False) -> dict:
    """The JSON object body loaded by `schema` (ValidationError names the field). With
    `allow_query`, a request without a body is read from the query string (DELETE: some HTTP
    clients cannot send a body with it)."""
    data = request.get_json(silent=True)
    if data is None and allow_query and not request.get_data():
        data = request.args.to_dict()
    if not isinstance(data, dict):
        raise ValidationError("expected a JSON object", "body")
    return schema.load(data)


def act(acting: dict, command: str, what: str, work: Callable[[Context], T], now: float | None = None,
        outcome: Callable[[T], str] = lambda _: "ok") -> T:
    """Run `work(ctx)` as `acting["user"]` with the checks and audit of chat command `command`."""
    sparky = current_app.extensions["sparky"]
    return run_as(sparky.conn, sparky.config, acting["user"].strip(), command, what, work,
                  room=acting.get("room", "").strip(), now=time.time() if now is None else now, outcome=outcome)


def _refused(exc: Refused):
    return json_error(STATUS.get(exc.kind, 403), exc.reason, rule=exc.rule)


def _usage(exc: UsageError):
    return json_error(400, str(exc))


def _no_rules(exc: RulesUnavailable):
    first = exc.problems[0] if exc.problems else str(exc)
    response = json_error(503, f"no rules in force, so permissions cannot be checked: {first}")
    response.headers["Retry-After"] = "30"
    return response


def register(bp: Blueprint) -> None:
    """The error answers of a blueprint whose views act for people."""
    bp.register_error_handler(ValidationError, invalid)
    bp.register_error_handler(Refused, _refused)
    bp.register_error_handler(UsageError, _usage)
    bp.register_error_handler(RulesUnavailable, _no_rules)
