"""The chat layer over HTTP (SPEC §9): saying a command in a built-in room, and the audit trail.

- `POST /api/rooms/<room>/messages` `{"user": "alice", "text": "snooze host=web-01 for 1h"}`:
  the dashboard's chat box. The line is kept in the room, and becomes a chat command signal
  (channel "room") taken in through reception like every hook: 202 once stored and queued; the
  worker answers in the room.
- `GET /api/audit?limit=&before=&event=&who=&room=&outcome=&command=&channel=&signal=&snooze=`:
  newest first; `next` is the cursor for the following page (`before=<next>`).
Both sit behind SPARKY_ADMIN_TOKEN like the rest of `/api`.
"""
from __future__ import annotations

import re

from flask import Blueprint, current_app, jsonify, request
from marshmallow import RAISE, Schema, ValidationError, fields, validate
from redis import Redis

from router.api.errors import invalid
from router.api.errors import json_error as _error
from router.api.openapi import documents
from router.commands.channels import chat_signal, record_said
from router.core import brain
from router.core.config import Config
from router.pipeline.reception import Backpressure, accept

bp = Blueprint("chat_api", __name__)
bp.register_error_handler(ValidationError, invalid)

AUDIT_FILTERS = ("event", "who", "room", "outcome", "command", "channel", "signal", "snooze", "user")


class SayBody(Schema):
    class Meta:
        unknown = RAISE

    user = fields.String(required=True, validate=validate.Length(min=1, max=100))
    text = fields.String(required=True, validate=validate.Length(min=1, max=2000))


STREAM_ID = re.compile(r"\d{1,20}-\d{1,20}")


def _stream_id(value: str) -> None:
    """A cursor Redis takes as an exclusive stream bound: two 64-bit numbers, not both zero (nothing
    is before 0-0). Checked here so a bad cursor is the client's 400, not a Redis error."""
    if not value:
        return
    if not STREAM_ID.fullmatch(value):
        raise ValidationError("a stream id like 1700000000000-0")
    if any(int(part) >= 2 ** 64 for part in value.split("-")):
        raise ValidationError("a stream id like 1700000000000-0, with both numbers below 2^64")
    if value == "0-0" or set(value) <= {"0", "-"}:
        raise ValidationError("nothing is before 0-0; pass the `next` of the previous page")


class AuditQuery(Schema):
    class Meta:
        unknown = RAISE

    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))
    before = fields.String(load_default="", validate=_stream_id)
    event = fields.String(load_default="")     # command, snooze.created, snooze.ended, alert.acked, ...
    who = fields.String(load_default="")
    user = fields.String(load_default="")
    room = fields.String(load_default="")
    outcome = fields.String(load_default="")   # ok, refused, usage, unknown, error
    command = fields.String(load_default="")
    channel = fields.String(load_default="")
    signal = fields.String(load_default="")
    snooze = fields.String(load_default="")


def _sparky():
    return current_app.extensions["sparky"]




def say_in_room(conn: Redis, config: Config, room: str, user: str, text: str) -> dict:
    """Keep `user`'s line in `room` and take it in as a chat command signal, as a hook takes a
    signal in; a worker answers in the room. The dashboard's chat box calls this too.

    Returns {"accepted", "signals", "message": <id of the line in the room>}; raises Backpressure
    when the backlog is full."""
    signal = chat_signal("room", text, room, user)
    message = record_said(conn, room, signal.actor, signal.text, signal.id)
    result = accept(conn, config, "chat", [signal])
    return {**result.answer(), "message": message}


@bp.post("/api/rooms/<path:room>/messages")
@documents(body=SayBody, tags=("chat",), ok=202)
def say(room: str):
    """Say a chat command in a built-in room; the answer is posted in the room by a worker.

    202 {"accepted": 1, "signals": [<signal id>], "message": <id of the line in the room>}.
    """
    if not room.strip() or len(room) > 80:
        return _error(400, "room: a room name of 1 to 80 characters, e.g. %23ops")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return _error(400, 'expected a JSON object: {"user": "<person>", "text": "<command>"}')
    said = SayBody().load(body)
    sparky = _sparky()
    try:
        answer = say_in_room(sparky.conn, sparky.config, room, said["user"].strip(), said["text"].strip())
    except Backpressure as busy:
        response = _error(503, str(busy))
        response.headers["Retry-After"] = "10"
        return response
    response = jsonify(answer)
    response.status_code = 202
    return response


@bp.get("/api/audit")
@documents(query=AuditQuery, tags=("audit",))
def audit():
    """The audit trail, newest first: commands, snoozes, acks, refusals, rules publications.

    Filters are exact and all must hold; `next` is the cursor for the following page (`before=`).
    """
    query = AuditQuery().load(request.args.to_dict())
    filters = {name: query[name] for name in AUDIT_FILTERS if query[name]}
    entries, cursor = brain.audit_entries(_sparky().conn, query["limit"], query["before"] or "+", filters)
    return jsonify(entries=entries, count=len(entries), next=cursor)
