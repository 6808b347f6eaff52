"""Alertmanager API v2 silences: `GET/POST /api/v2/silences`, `GET/DELETE /api/v2/silence/{id}`.

A silence *is* a snooze (router/snoozes/silences.py says how one reads as the other). Writes go
through the `snooze` and `unsnooze` commands' own functions (router/commands/snooze.py `create`,
`end`) with the checks and audit of chat (router/api/acting.py): permissions.yml for the person,
the suppression guardrails, an audit entry per command.

- `POST /api/v2/silences` acts as `createdBy`, looked up in people.yml by name, Slack id, GitHub
  login or e-mail. The snooze ends at `endsAt`; `comment` is its reason. A refusal (permissions,
  a guardrail) is a 400 whose body, a JSON string, says why: the status amtool prints.
- With an `id` (amtool's `silence import` and `silence update`, Grafana's edit): an unknown id is
  a 404 `"silence not found"` (amtool then imports it as a new silence); the same silence asked
  again is kept; any change makes a new snooze and ends the old one (`unsnooze`, checked before
  anything is made), and the answer is the new id, as Alertmanager does when matchers change.
- `DELETE /api/v2/silence/{id}` ends the snooze (`unsnooze`) now. The request names no person:
  it acts as `?user=` when given, else as the snooze's creator (the token holder may act as
  anyone, router/api/acting.py), and the audit entry says it came through this API. An ended
  silence answers 200 again, as Alertmanager's does; an unknown one 404.
- Alertmanager's own checks come first, with its words: at least one matcher that does not match
  the empty string, a start before the end, an end not in the past.
- Snoozes start when they are made: a `startsAt` in the past (or Go's zero time) is now, one more
  than START_SLACK ahead is refused (no pending silences).
"""
from __future__ import annotations

import time

from flask import Blueprint, jsonify, request
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from router.alerts import lookup
from router.api import acting, am_shared
from router.api.am_shared import AMError
from router.api.openapi import documents
from router.commands import permissions
from router.commands import snooze as snoozing
from router.commands.context import Context
from router.commands.declare import Refused, UsageError
from router.core import am_matchers, matchers
from router.core.durations import MAX_SECONDS, Until
from router.core.matchers import Matcher, MatcherError
from router.core.times import from_epoch, parse_time
from router.engine import RulesUnavailable
from router.snoozes import silences

bp = Blueprint("am_silences_api", __name__)
am_shared.register(bp)

START_SLACK = 60.0        # seconds a client's clock may run ahead of Sparky's
HOW_TO_GIVE_REASON = "give the silence a comment"
NOT_FOUND = "silence not found"


class Time(fields.Field):
    """An RFC 3339 time, as epoch seconds; Go's zero time (year 1, what unset fields hold) is None."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise ValidationError("not an RFC 3339 time")
        try:
            moment = parse_time(value)
        except ValueError:
            raise ValidationError(f"{value!r} is not an RFC 3339 time") from None
        return None if moment.year <= 1 else moment.timestamp()


class MatcherBody(Schema):
    class Meta:
        unknown = EXCLUDE

    name = fields.String(required=True)
    value = fields.String(required=True)
    isRegex = fields.Boolean(required=True)
    isEqual = fields.Boolean(load_default=True)


class PostableSilence(Schema):
    """Alertmanager's `postableSilence`; the fields a `gettableSilence` adds (status, updatedAt)
    are ignored, so `amtool -o json silence query` output imports as it is."""

    class Meta:
        unknown = EXCLUDE

    id = fields.String()
    matchers = fields.List(fields.Nested(MatcherBody), required=True, validate=validate.Length(min=1, max=20))
    startsAt = Time(required=True)
    endsAt = Time(required=True)
    createdBy = fields.String(required=True, validate=validate.Length(min=1, max=100))
    comment = fields.String(required=True, validate=validate.Length(max=500))


class SilencesQuery(Schema):
    filter = fields.List(fields.String(), metadata={"description": "Alertmanager matchers; a silence is listed "
                                                                  "when it has each one exactly"})


class ExpireQuery(Schema):
    user = fields.String(metadata={"description": "who ends it (default: who made it)"})


def _refused(exc: Refused):
    # POST: 400 is the refusal amtool and Grafana show; DELETE has no 4xx in the spec, keep ours.
    status = acting.STATUS.get(exc.kind, 403)
    return am_shared.am_error(404 if exc.kind == "missing" else 400 if request.method == "POST" else status,
                              exc.reason)


def _no_rules(exc: RulesUnavailable):
    response = am_shared.am_error(503, "no rules in force, so permissions cannot be checked: "
                                       + (exc.problems[0] if exc.problems else str(exc)))
    response.headers["Retry-After"] = "30"
    return response


bp.register_error_handler(Refused, _refused)
bp.register_error_handler(UsageError, lambda exc: am_shared.am_error(400, str(exc)))
bp.register_error_handler(RulesUnavailable, _no_rules)


@bp.get("/api/v2/silences")
@documents(query=SilencesQuery, tags=am_shared.TAGS)
def get_silences():
    """Alertmanager API v2: every snooze as a silence, active first (amtool silence query)."""
    wanted = am_shared.filters(request.args)
    return jsonify(silences.listing(am_shared.sparky().conn, time.time(), list(wanted)))


def _find(given_id: str, now: float) -> tuple[dict | None, str]:
    snooze_id = silences.snooze_id(given_id)
    if snooze_id is None:
        return None, ""
    return snoozing.find_snooze(am_shared.sparky().conn, snooze_id, now)


@bp.get("/api/v2/silence/<silence_id>")
@documents(tags=am_shared.TAGS, bare=(404,))
def get_silence(silence_id: str):
    """Alertmanager API v2: one silence (404 with no body, as the spec has it, when unknown)."""
    found, state = _find(silence_id, time.time())
    if found is None:
        return "", 404
    return jsonify(silences.view(found, state == "active"))


def _matchers(given: list[dict]) -> list[Matcher]:
    try:
        found = [am_matchers.from_api(m, f"matchers[{i}]") for i, m in enumerate(given)]
    except MatcherError as exc:
        raise AMError(400, str(exc)) from None
    if all(am_matchers.matches_empty(m) for m in found):
        raise AMError(400, "silence invalid: at least one matcher must not match the empty string")
    return found


def _window(given: dict, now: float) -> float:
    """The end a silence asks for, after Alertmanager's checks and the one Sparky adds."""
    starts, ends = given["startsAt"], given["endsAt"]
    if ends is None:
        raise AMError(400, "endsAt: missing")
    if starts is not None and starts > now + START_SLACK:
        raise AMError(400, f"startsAt {from_epoch(starts)} is in the future: Sparky's snoozes start when they are "
                           "made (pending silences are not supported)")
    if ends <= (starts if starts is not None else now):
        raise AMError(400, "Failed to create silence: start time must be before end time")
    if ends <= now:
        raise AMError(400, "Failed to create silence: end time can't be in the past")
    if ends - now > MAX_SECONDS:
        raise AMError(400, "endsAt: too far away: a snooze lasts at most a year")
    return ends


def _unsnooze_allowed(ctx: Context, old: dict, firing: list[dict]) -> None:
    """Refuse a replacement the person could not finish: ending the old snooze is `unsnooze`'s call."""
    hits = [a for a in firing if lookup.matches(old["matchers"], a, ctx.now)]
    envs = sorted(set(old.get("envs") or []) | set(snoozing.envs_of(old["matchers"], hits)))
    verdict = permissions.check(ctx.policy, ctx.who, "unsnooze", ctx.rooms(), ctx.where(), {"env": envs})
    if not verdict.allowed:
        raise Refused(f"replacing snooze {old['id']} ends it: {verdict.reason}", verdict.rule)


@bp.post("/api/v2/silences")
@documents(body=PostableSilence, tags=am_shared.TAGS, errors=(404,))
def post_silences():
    """Alertmanager API v2: snooze as `createdBy` (amtool silence add/import); answers the silence id."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise AMError(400, "expected a JSON object: a postable silence")
    given = PostableSilence().load(data)
    now = time.time()
    wanted = _matchers(given["matchers"])
    ends = _window(given, now)
    comment = given["comment"].strip()
    old = None
    if given.get("id"):
        found, state = _find(given["id"], now)
        if found is None:
            raise AMError(404, NOT_FOUND)
        if state == "active" and silences.unchanged(found, wanted, ends, comment):
            return jsonify(silenceID=silences.silence_id(found["id"]))
        old = found if state == "active" else None

    shown = matchers.render(wanted)
    acting_as = {"user": given["createdBy"], "room": ""}
    what = f"snooze {shown} until {from_epoch(ends)}" + (f" because {comment}" if comment else "") + " (Alertmanager API)"

    def work(ctx: Context) -> dict:
        firing = lookup.firing(ctx.conn)
        if old is not None:
            _unsnooze_allowed(ctx, old, firing)
        record, _ = snoozing.create(ctx, [m.as_dict() for m in wanted], shown,
                                    Until(ends, ends - ctx.now, from_epoch(ends)), comment, firing, HOW_TO_GIVE_REASON)
        return record

    record = acting.act(acting_as, "snooze", what, work, now=now)
    if old is not None:
        note = f"replaced by {record['id']} (Alertmanager API)"
        acting.act(acting_as, "unsnooze", f"unsnooze {old['id']} {note}",
                   lambda ctx: snoozing.end(ctx, old, note), now=now)
    return jsonify(silenceID=silences.silence_id(record["id"]))


@bp.delete("/api/v2/silence/<silence_id>")
@documents(query=ExpireQuery, tags=am_shared.TAGS, content="", errors=acting.ERRORS)
def delete_silence(silence_id: str):
    """Alertmanager API v2: end a snooze now (amtool silence expire); 200 again for an ended one."""
    now = time.time()
    found, state = _find(silence_id, now)
    if found is None:
        raise AMError(404, NOT_FOUND)
    if state == "ended":
        return "", 200
    user = (request.args.get("user") or "").strip() or found.get("created_by") or ""
    note = "expired through the Alertmanager API"
    acting.act({"user": user, "room": ""}, "unsnooze", f"unsnooze {found['id']} ({note})",
               lambda ctx: snoozing.end(ctx, found, note), now=now)
    return "", 200

