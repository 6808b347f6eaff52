"""Built-in rooms over HTTP (SPEC §9): `GET /api/rooms`, `GET /api/rooms/<room>/messages`.

Room names keep their `#`: clients URL-encode it (`/api/rooms/%23ops/messages`).
"""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request
from marshmallow import Schema, ValidationError, fields, validate

from router.api.errors import invalid
from router.api.errors import json_error as _error
from router.chat import rooms

bp = Blueprint("rooms_api", __name__)
bp.register_error_handler(ValidationError, invalid)


class MessagesQuery(Schema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=1000))
    after = fields.String(load_default="")


def _conn():
    return current_app.extensions["sparky"].conn




@bp.get("/api/rooms")
def list_rooms():
    found = rooms.list_rooms(_conn())
    return jsonify(rooms=found, count=len(found))


@bp.get("/api/rooms/<path:room>/messages")
def room_messages(room: str):
    query = MessagesQuery().load(request.args.to_dict())
    conn = _conn()
    if not rooms.exists(conn, room):
        hint = f" (a channel name starts with #: write /api/rooms/%23{room}/messages)" \
            if not room.startswith("#") and rooms.exists(conn, f"#{room}") else ""
        return _error(404, f"no messages in room {room!r}{hint}")
    found = rooms.messages(conn, room, query["limit"], query["after"])
    return jsonify(room=room, messages=found, count=len(found))
