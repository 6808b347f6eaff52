"""Snoozes over HTTP (SPEC §9), Sparky's silences: list, look at, make and end them.

- `GET /api/snoozes?state=active|ended|all&limit=`: active ones soonest end first, ended ones
  newest first, each with the firing alerts it matches now.
- `GET /api/snoozes/<id>`: one snooze, active or ended.
- `POST /api/snoozes` `{"user", "matchers": ["host=web-01"] | "alert": "5aee4b7",
  "duration": "2h" | "ends_at": "<ISO 8601>", "reason"?, "room"?}` → 201 the snooze.
- `DELETE /api/snoozes/<id>` `{"user", "reason"?}` (body or query) → 200 the ended snooze.
Writes act for `user` through the `snooze` / `unsnooze` commands' own functions
(router/commands/snooze.py: guardrails, permissions.yml by environment, audit); see router/api/acting.py.
"""
from __future__ import annotations

import time

from flask import Blueprint, current_app, jsonify, request
from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema
from redis import Redis

from router.alerts import lookup
from router.api import acting
from router.api.errors import json_error
from router.api.openapi import documents
from router.commands import snooze as snoozing
from router.commands.context import Context
from router.commands.declare import UsageError
from router.commands.parse import words
from router.core import brain, matchers
from router.core.durations import MAX_SECONDS, DurationError, Until, resolve
from router.core.times import from_epoch, iso

bp = Blueprint("snoozes_api", __name__)
acting.register(bp)

TAGS = ("snoozes",)
STATES = ("active", "ended", "all")
HOW_TO_GIVE_REASON = 'add "reason" to the request'


class MatcherSchema(Schema):
    name = fields.String(metadata={"description": "a label, or a signal field (source, fingerprint, ...)"})
    op = fields.String(metadata={"description": "=, !=, =~ or !~ (regexes match the whole value)"})
    value = fields.String()


class AlertRef(Schema):
    id = fields.String(metadata={"description": "the short alert id chat shows"})
    fingerprint = fields.String()


class SnoozeSchema(Schema):
    """A snooze as the API shows it (times ISO 8601 UTC)."""

    id = fields.String(metadata={"description": "s1, s2, ..."})
    state = fields.String(metadata={"description": "active or ended"})
    matchers = fields.List(fields.Nested(MatcherSchema))
    text = fields.String(metadata={"description": "the matchers as chat writes them"})
    created_by = fields.String()
    reason = fields.String()
    created_at = fields.String()
    ends_at = fields.String()
    envs = fields.List(fields.String(), metadata={"description": "environments it covers (guardrails)"})
    room = fields.String()
    channel = fields.String(metadata={"description": "where it was made: api, room, cli, slash, ..."})
    ended_at = fields.String()
    ended_by = fields.String()
    end_note = fields.String()
    matching = fields.List(fields.Nested(AlertRef), metadata={"description": "firing alerts it matches now"})
    still_firing = fields.List(fields.Nested(AlertRef),
                               metadata={"description": "DELETE: alerts it silenced that still fire "
                                                        "(posted again)"})


class SnoozesQuery(Schema):
    class Meta:
        unknown = RAISE

    state = fields.String(load_default="active", validate=validate.OneOf(STATES))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class SnoozeBody(acting.Acting):
    """Exactly one of `matchers` and `alert`; exactly one of `duration` and `ends_at`."""

    matchers = fields.List(fields.String(validate=validate.Length(min=1, max=500)),
                           validate=validate.Length(min=1, max=20),
                           metadata={"description": 'chat matchers: ["host=web-01", "service=~HTTP.*"]'})
    alert = fields.String(validate=validate.Length(min=1, max=200),
                          metadata={"description": "an alert id, fingerprint or signal id instead of matchers"})
    duration = fields.String(validate=validate.Length(min=1, max=100),
                             metadata={"description": "30m, 2h, 1d, 1h30m, or `until tomorrow 09:00` "
                                                      "(the user's time zone)"})
    ends_at = fields.AwareDateTime(metadata={"description": "ISO 8601 with a zone, instead of duration"})
    reason = fields.String(load_default="", validate=validate.Length(max=500))

    @validates_schema
    def _one_of_each(self, data, **kwargs):
        if ("matchers" in data) == ("alert" in data):
            raise ValidationError('give either "matchers" or "alert"', "matchers")
        if ("duration" in data) == ("ends_at" in data):
            raise ValidationError('give either "duration" or "ends_at"', "duration")


class EndBody(acting.Acting):
    reason = fields.String(load_default="", validate=validate.Length(max=500))


def _conn():
    return current_app.extensions["sparky"].conn


def _refs(alerts: list[dict]) -> list[dict]:
    return [{"id": a["id"], "fingerprint": a["fingerprint"]} for a in alerts]


def view(snooze: dict, state: str, firing: list[dict] | None = None, now: float | None = None) -> dict:
    """A stored snooze (router/core/brain/engine.py) as SnoozeSchema shows it."""
    shown = {"id": snooze["id"], "state": state, "matchers": snooze.get("matchers") or [],
             "text": snooze.get("text") or matchers.render(snooze.get("matchers") or []),
             "created_by": snooze.get("created_by", ""), "reason": snooze.get("reason", ""),
             "created_at": snooze.get("created_at", ""), "ends_at": from_epoch(snooze["ends_at"]),
             "envs": snooze.get("envs") or [], "room": snooze.get("room", ""), "channel": snooze.get("channel", "")}
    for name in ("ended_at", "ended_by", "end_note"):
        if snooze.get(name):
            shown[name] = snooze[name]
    if firing is not None:
        now = time.time() if now is None else now
        shown["matching"] = _refs([a for a in firing if lookup.matches(shown["matchers"], a, now)])
    return SnoozeSchema().dump(shown)


def active_snoozes(conn: Redis, now: float) -> list[dict]:
    """Active snoozes, soonest end first, each with the firing alerts it matches now (the
    dashboard's reader too)."""
    firing = lookup.firing(conn)
    return [view(s, "active", firing, now)
            for s in sorted(brain.active_snoozes(conn, now), key=lambda s: s["ends_at"])]


@bp.get("/api/snoozes")
@documents(query=SnoozesQuery, tags=TAGS)
def list_snoozes():
    """Snoozes: active ones (soonest end first, with what they match now), ended ones, or all."""
    query = SnoozesQuery().load(request.args.to_dict())
    conn, now = _conn(), time.time()
    found = []
    if query["state"] in ("active", "all"):
        found += active_snoozes(conn, now)
    if query["state"] in ("ended", "all"):
        found += [view(s, "ended") for s in brain.snooze_history(conn, query["limit"])]
    return jsonify(snoozes=found[:query["limit"]], count=len(found[:query["limit"]]))


def _find(snooze_id: str, now: float) -> tuple[str, dict | None, str]:
    normalised = snoozing.normalise_id(snooze_id)
    found, state = snoozing.find_snooze(_conn(), normalised, now) if normalised else (None, "")
    return normalised or snooze_id, found, state


@bp.get("/api/snoozes/<snooze_id>")
@documents(response=SnoozeSchema, tags=TAGS)
def get_snooze(snooze_id: str):
    """One snooze, active or ended (404 when unknown, or ended more than 30 days ago)."""
    now = time.time()
    shown_id, found, state = _find(snooze_id, now)
    if found is None:
        return json_error(404, f"no snooze {shown_id!r}")
    return jsonify(view(found, state, lookup.firing(_conn()) if state == "active" else None, now))


def _until(given: dict, ctx: Context) -> Until:
    """The end the body asks for, checked as chat checks `for <duration>` (UsageError if not)."""
    if "ends_at" in given:
        ends_at = given["ends_at"].timestamp()
        seconds = ends_at - ctx.now
        if seconds <= 0:
            raise UsageError(f"ends_at: {iso(given['ends_at'])} is in the past")
        if seconds > MAX_SECONDS:
            raise UsageError("ends_at: too far away: a snooze lasts at most a year")
        return Until(ends_at, seconds, iso(given["ends_at"]))
    try:
        return resolve(words(given["duration"]), ctx.now, ctx.tz, "for")
    except DurationError as exc:
        raise UsageError(f"duration: {exc}") from None


@bp.post("/api/snoozes")
@documents(body=SnoozeBody, response=SnoozeSchema, tags=TAGS, ok=201, errors=acting.ERRORS)
def create_snooze():
    """Snooze alerts as `user`: the `snooze` command's guardrails, permissions and audit; 201 the snooze.

    403 when permissions.yml refuses the user, 422 when a guardrail does (too long, too broad,
    no reason), with what it would match now in the error.
    """
    given = acting.body(SnoozeBody())
    target = " ".join(given["matchers"]) if "matchers" in given else given["alert"]
    when = f"for {given['duration']}" if "duration" in given else f"until {iso(given['ends_at'])}"
    what = f"snooze {target} {when}" + (f" because {given['reason']}" if given["reason"] else "")

    def work(ctx: Context) -> tuple[dict, list[dict]]:
        firing = lookup.firing(ctx.conn)
        if "matchers" in given:
            if not all(matchers.looks_like_matcher(w) for w in given["matchers"]):
                bad = next(w for w in given["matchers"] if not matchers.looks_like_matcher(w))
                raise UsageError(f'matchers: "{bad}" is not a matcher: write label=value, label!=value, '
                                 'label=~regex or label!~regex (or give "alert")')
            snooze_matchers, shown = snoozing.by_matchers(given["matchers"])
        else:
            snooze_matchers, shown = snoozing.by_alert(ctx, given["alert"].strip(), firing)
        return snoozing.create(ctx, snooze_matchers, shown, _until(given, ctx), given["reason"].strip(), firing,
                               HOW_TO_GIVE_REASON)

    record, hits = acting.act(given, "snooze", what, work)
    shown = view(record, "active")
    shown["matching"] = _refs(hits)
    return jsonify(shown), 201, {"Location": f"/api/snoozes/{record['id']}"}


@bp.delete("/api/snoozes/<snooze_id>")
@documents(body=EndBody, response=SnoozeSchema, tags=TAGS, errors=acting.ERRORS)
def end_snooze(snooze_id: str):
    """End a snooze now as `user` (`unsnooze`): alerts it silenced that still fire are posted again.

    `user` and `reason` come in a JSON body or, for clients that cannot send a body with DELETE,
    as query parameters. 404 for an unknown snooze, 409 for one that has already ended.
    """
    given = acting.body(EndBody(), allow_query=True)
    now = time.time()
    shown_id, found, state = _find(snooze_id, now)
    if found is None:
        return json_error(404, f"no snooze {shown_id!r}")
    if state == "ended":
        return json_error(409, f"snooze {shown_id} has already ended"
                               + (f" ({found['ended_at']})" if found.get("ended_at") else ""))
    what = f"unsnooze {shown_id}" + (f" {given['reason']}" if given["reason"] else "")
    still = acting.act(given, "unsnooze", what, lambda ctx: snoozing.end(ctx, found, given["reason"].strip()),
                       now=now)
    # The end job on a worker retires the snooze; until then its key holds ended_at/ended_by.
    conn = _conn()
    shown = view(brain.load_snooze(conn, shown_id) or brain.ended_snooze(conn, shown_id) or found, "ended")
    shown["still_firing"] = _refs(still)
    return jsonify(shown)
