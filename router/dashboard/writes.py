"""The dashboard's forms: approve and deny a deploy, say something in a room, test a payload.

Each goes through the function its API endpoint uses — `deploys_api.decide` (run_as: people.yml,
permissions.yml, the request's own rules, audit with channel `api`), `chat_api.say_in_room` (the
line becomes a chat command signal that a worker answers in the room), `rules_api.try_payload`
(a dry run) — so the dashboard can do nothing the API would refuse. A refusal is shown on the page
the form was on, with the API's status code; a success redirects (post/redirect/get) with a note.
"""
from __future__ import annotations

import json
from urllib.parse import parse_qsl

from flask import Blueprint, current_app, flash, redirect, request, url_for
from marshmallow import ValidationError

from router.api.acting import STATUS
from router.api.chat import say_in_room
from router.api.deploys import decide
from router.api.rules import try_payload
from router.commands.declare import Refused, UsageError
from router.dashboard import gate, pages
from router.engine import RulesUnavailable
from router.engine.dryrun import DryRunError
from router.pipeline.reception import Backpressure

bp = Blueprint("writes", __name__)

ROOM_LIMIT, TEXT_LIMIT, REASON_LIMIT = 80, 2000, 500
# What the form's "content type" choice sends as Content-Type ("auto": JSON if it parses as JSON).
CONTENT_TYPES = {"json": "application/json", "form": "application/x-www-form-urlencoded"}


def _sparky():
    return current_app.extensions["sparky"]


def refusal(exc: Exception) -> gate.Refusal:
    """What an acting function raised, as the page shows it (the API's status codes)."""
    if isinstance(exc, Refused):
        return gate.Refusal(exc.reason, STATUS.get(exc.kind, 403), exc.rule)
    if isinstance(exc, UsageError):
        return gate.Refusal(str(exc), 400)
    first = exc.problems[0] if exc.problems else str(exc)
    return gate.Refusal(f"No rules in force, so permissions cannot be checked: {first}", 503)


def _decide(request_id: str, approve: bool):
    reason = request.form.get("reason", "").strip()[:REASON_LIMIT]
    try:
        message = decide(request_id, approve, {"user": gate.acting_as(), "room": "", "reason": reason})
    except (Refused, UsageError, RulesUnavailable) as exc:
        raise refusal(exc) from None
    flash(message)
    return redirect(url_for("dashboard.pages.overview", _anchor="deploys"))


@bp.post("/deploys/<request_id>/approve")
def approve(request_id: str):
    """Approve a pending deploy as the person named in "You are"."""
    return _decide(request_id, True)


@bp.post("/deploys/<request_id>/deny")
def deny(request_id: str):
    """Deny (or, as its requester, withdraw) a pending deploy, with an optional reason."""
    return _decide(request_id, False)


@bp.post("/say")
def say():
    """Say a chat command in a built-in room as "You are"; the answer follows from a worker."""
    room = request.form.get("room", "").strip()
    text = request.form.get("text", "").strip()
    if not room or len(room) > ROOM_LIMIT:
        raise gate.Refusal(f"A room name of 1 to {ROOM_LIMIT} characters, e.g. #ops.", 400)
    if not text or len(text) > TEXT_LIMIT:
        raise gate.Refusal(f"Type a command of 1 to {TEXT_LIMIT} characters, e.g. help.", 400)
    sparky = _sparky()
    try:
        say_in_room(sparky.conn, sparky.config, room, gate.acting_as(), text)
    except Backpressure as busy:
        raise gate.Refusal(str(busy), 503) from None
    return redirect(url_for("dashboard.pages.room", room=room, _anchor="say"))


def headers_from(text: str, content_type: str, payload: str) -> dict:
    """`Name: value` lines, plus the Content-Type the form's choice implies when none is given."""
    headers = {}
    for line in text.splitlines():
        name, sep, value = line.partition(":")
        if not line.strip():
            continue
        if not sep or not name.strip():
            raise gate.Refusal(f'Headers: "{line.strip()[:80]}" is not a "Name: value" line.', 400)
        headers[name.strip()] = value.strip()
    if not any(name.lower() == "content-type" for name in headers):
        if content_type == "auto":
            try:
                json.loads(payload)
                content_type = "json"
            except ValueError:
                content_type = "form" if parse_qsl(payload.strip()) else "json"
        headers["Content-Type"] = CONTENT_TYPES.get(content_type, CONTENT_TYPES["json"])
    return headers


@bp.post("/rules/test")
def test_payload():
    """Run a pasted payload through its source's adapter and the rules in force; nothing is stored."""
    form = {name: request.form.get(name, "") for name in ("source", "payload", "headers", "content_type", "at")}
    body = {"source": form["source"], "payload": form["payload"],
            "headers": headers_from(form["headers"], form["content_type"], form["payload"]),
            **({"at": form["at"].strip()} if form["at"].strip() else {})}
    try:
        result = try_payload(_sparky().conn, _sparky().config, body)
    except ValidationError as exc:
        raise gate.Refusal(f"Invalid request: {exc.messages}", 400) from None
    except DryRunError as exc:
        raise gate.Refusal(str(exc), exc.status) from None
    except RulesUnavailable as exc:
        raise gate.Refusal(f"No rules in force: {'; '.join(exc.problems) or exc}", 503) from None
    return pages.show_rules(result=result, form=form)
