"""The dashboard's forms: act on an alert, approve and deny a deploy, say something in a room,
test a payload.

An alert row's Ack, Snooze, Unsnooze, Escalate, Resolve and Why write the chat command a person would have typed
(`ack 3f9a2c1 looking`, `snooze host=web-01 for 2h because …`) and run that command's own
function through `run_as`, as `/api` does: the same identity lookup, permissions.yml check,
guardrails (inside the command) and audit entries (channel `api`), synchronously, so the answer
is the command's reply, shown as a note after the redirect. Why's answer is long, so it is shown
on the alert's page directly rather than kept in the session cookie.

Each goes through the function its API endpoint uses — `deploys_api.decide` (run_as: people.yml,
permissions.yml, the request's own rules, audit with channel `api`), `chat_api.say_in_room` (the
line becomes a chat command signal that a worker answers in the room), `rules_api.try_payload`
(a dry run) — so the dashboard can do nothing the API would refuse. A refusal is shown on the page
the form was on, with the API's status code; a success redirects (post/redirect/get) with a note.
"""
from __future__ import annotations

import json
import shlex
from urllib.parse import parse_qsl

from flask import Blueprint, current_app, flash, redirect, request, url_for
from marshmallow import ValidationError

from router.api.acting import STATUS
from router.api.chat import say_in_room
from router.api.deploys import decide
from router.api.rules import try_payload
from router.commands.declare import Refused, Reply, UsageError, commands
from router.commands.execute import run_as
from router.commands.parse import split_command, words
from router.commands.snooze import find_snooze, normalise_id
from router.dashboard import clock, gate, pages
from router.engine import RulesUnavailable
from router.engine.dryrun import DryRunError
from router.pipeline.reception import Backpressure

bp = Blueprint("writes", __name__)

ROOM_LIMIT, TEXT_LIMIT, REASON_LIMIT, TARGET_LIMIT, DURATION_LIMIT = 80, 2000, 500, 500, 40
FORM_COMMANDS = ("ack", "snooze", "unsnooze", "why", "escalate", "resolve", "deploy", "approve", "deny")
NAME_LIMIT = 100
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


def run_command(text: str, room: str = "") -> Reply:
    """Run chat command `text` as "You are", from `room`, through the command's own function.
    The audit trail shows it as typed, without the quotes that keep a reason one argument."""
    name, args = split_command(text)
    if name not in FORM_COMMANDS:
        raise gate.Refusal(f"The dashboard does not run `{name}` from a form.", 400)
    shown = " ".join(words(text))
    sparky = _sparky()
    try:
        return run_as(sparky.conn, sparky.config, gate.acting_as(), name, shown,
                      lambda ctx: commands()[name].func(ctx, args), room=room, outcome=lambda reply: reply.outcome)
    except (Refused, UsageError, RulesUnavailable) as exc:
        raise refusal(exc) from None


def _field(name: str, limit: int, what: str, required: bool = False) -> str:
    value = " ".join(request.form.get(name, "").split())
    if len(value) > limit or (required and not value):
        raise gate.Refusal(f"{what}: {'1 to ' if required else 'at most '}{limit} characters, please.", 400)
    return value


def _back(alert_id: str):
    """Where the form came from (a page of this site), at the alert's row."""
    target = gate.local(request.form.get("next", ""), url_for("dashboard.pages.overview"))
    return redirect(target.split("#")[0] + (f"#alert-{alert_id}" if alert_id else ""))


def _room(alert_id: str) -> str:
    return pages.alert_room(_sparky().conn, alert_id)


def _reason(words: str) -> str:
    return " ".join(shlex.quote(w) for w in words.split())


def _with_reason(verb: str, alert_id: str):
    """`<verb> <id> [reason]` as "You are", the answer flashed on the alert's row."""
    reason = _field("reason", REASON_LIMIT, "Reason")
    reply = run_command(f"{verb} {shlex.quote(alert_id)} {_reason(reason)}".strip(), _room(alert_id))
    flash(reply.text, f"alert:{alert_id}")
    return _back(alert_id)


@bp.post("/alerts/<alert_id>/ack")
def ack(alert_id: str):
    """`ack <id> [reason]` as "You are"."""
    return _with_reason("ack", alert_id)


@bp.post("/alerts/<alert_id>/snooze")
def snooze(alert_id: str):
    """`snooze <target> for <duration> [because <reason>]` as "You are"; `preview` only shows
    what the target matches now, and snoozes nothing."""
    target = _field("target", TARGET_LIMIT, "What to snooze", required=True)
    if request.form.get("do") == "preview":
        return pages.show_alert(alert_id, preview=pages.preview_of(target), form=request.form)
    duration = _field("duration", DURATION_LIMIT, "For how long (30m, 2h, 1d)", required=True)
    reason = _field("reason", REASON_LIMIT, "Reason")
    keyword = "until" if duration.lower().startswith("until ") else "for"
    duration = duration[len("until "):] if keyword == "until" else duration
    text = f"snooze {target} {keyword} {duration}" + (f" because {_reason(reason)}" if reason else "")
    flash(run_command(text, _room(alert_id)).text, f"alert:{alert_id}")
    return _back(alert_id)


@bp.post("/alerts/<alert_id>/escalate")
def escalate(alert_id: str):
    """`escalate <id>` as "You are": page the next step of the alert's escalation now."""
    flash(run_command(f"escalate {shlex.quote(alert_id)}", _room(alert_id)).text, f"alert:{alert_id}")
    return _back(alert_id)


@bp.post("/alerts/<alert_id>/resolve")
def resolve(alert_id: str):
    """`resolve <id> [reason]` as "You are": the alert is announced resolved, its escalation stops."""
    return _with_reason("resolve", alert_id)


@bp.post("/snoozes/<snooze_id>/end")
def unsnooze(snooze_id: str):
    """`unsnooze <id> [reason]` as "You are"."""
    reason = _field("reason", REASON_LIMIT, "Reason")
    found, _ = find_snooze(_sparky().conn, normalise_id(snooze_id) or "", clock.now())
    text = f"unsnooze {shlex.quote(snooze_id)} {_reason(reason)}".strip()
    alert_id = request.form.get("alert", "")[:40]
    flash(run_command(text, (found or {}).get("room", "")).text, f"alert:{alert_id}" if alert_id else "message")
    return _back(alert_id)


@bp.post("/alerts/<alert_id>/why")
def why(alert_id: str):
    """`why <id>` as "You are", answered on the alert's page."""
    reply = run_command(f"why {shlex.quote(alert_id)}", _room(alert_id))
    return pages.show_alert(alert_id, answer=reply.text)


@bp.post("/deploys")
def ask_deploy():
    """`deploy <app>[/<ref>] to <env>` as "You are", from the room given (news of it goes there)."""
    app = _field("app", NAME_LIMIT, "App", required=True)
    env = _field("env", NAME_LIMIT, "Environment", required=True)
    ref = _field("ref", NAME_LIMIT, "Ref")
    room = _field("room", ROOM_LIMIT, "Room")
    if any(" " in v or v.lower() == "to" for v in (app, env, ref)):
        raise gate.Refusal("App, ref and environment are single words, e.g. web-api, main, production.", 400)
    flash(run_command(f"deploy {app}{'/' + ref if ref else ''} to {env}", room).text)
    return redirect(url_for("dashboard.pages.overview", _anchor="deploys"))


@bp.post("/requests/<request_id>/approve")
def approve_request(request_id: str):
    """`approve <id>` as "You are": a stale clean-up (`st-…`) or any other pending request."""
    flash(run_command(f"approve {shlex.quote(request_id)}").text)
    return redirect(url_for("dashboard.pages.overview", _anchor="stale"))


@bp.post("/requests/<request_id>/deny")
def deny_request(request_id: str):
    """`deny <id> [reason]` as "You are"."""
    reason = _field("reason", REASON_LIMIT, "Reason")
    flash(run_command(f"deny {shlex.quote(request_id)} {_reason(reason)}".strip()).text)
    return redirect(url_for("dashboard.pages.overview", _anchor="stale"))
