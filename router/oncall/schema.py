"""oncall.yml's extra keys: `schedules`, `escalations` and `heartbeats`, as the loader checks them.

Registered with the ruleset loader by router/oncall (`register`) for the ruleset named `oncall`;
a shape error is a `file:line` problem of `sparky rules check`. References to people, groups,
schedules and layers are checked once every file is loaded (plugin.py `references`).
"""
from __future__ import annotations

import datetime as dt
import re

from marshmallow import ValidationError, fields, validate, validates_schema

from router.core import durations
from router.core.durations import Duration
from router.engine.schema import NAME, Int, Strict, TimeZone, When

CLOCK = validate.Regexp(r"^([01]\d|2[0-3]):[0-5]\d$", error="use HH:MM, e.g. 09:00")
LENGTHS = ("daily", "weekly")


class Length(fields.String):
    """`daily`, `weekly`, or a duration of at least an hour (`3d`, `2w`, `12h`)."""

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        if value in LENGTHS:
            return value
        try:
            seconds = durations.parse(value)
        except ValueError:
            raise ValidationError(f'bad length "{value}" (use daily, weekly, or a duration such as 3d or 12h)') \
                from None
        if seconds < 3600:
            raise ValidationError("a turn lasts at least 1h")
        return value


class Day(fields.Field):
    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            return value.isoformat()
        try:
            return dt.date.fromisoformat(str(value)).isoformat()
        except ValueError:
            raise ValidationError(f'bad date "{value}" (use e.g. 2026-01-05)') from None


class RotationSchema(Strict):
    members = fields.List(fields.String(validate=NAME), required=True, validate=validate.Length(min=1))
    start = Day(required=True)                  # the first member's first turn begins that day
    handoff = fields.String(load_default="09:00", validate=CLOCK)
    zone = TimeZone()                           # default: the schedule's
    length = Length(load_default="weekly")
    during = fields.String(validate=NAME)       # a time interval of the rules: nobody outside it


class OverrideSchema(Strict):
    layer = fields.String()                     # default: primary (or the first layer)
    who = fields.String(required=True, validate=NAME)
    from_ = When(data_key="from", attribute="from", required=True)
    until = When(required=True)
    reason = fields.String()


class ScheduleSchema(Strict):
    zone = TimeZone(load_default="UTC")
    layers = fields.Dict(keys=fields.String(validate=NAME), values=fields.Nested(RotationSchema), required=True,
                         validate=validate.Length(min=1, error="needs at least one layer, e.g. primary"))
    overrides = fields.List(fields.Nested(OverrideSchema), load_default=list)

    @validates_schema
    def _overrides(self, data, **kwargs):
        layers = data.get("layers") or {}
        for o in data.get("overrides") or []:
            if o.get("layer") and o["layer"] not in layers:
                raise ValidationError(f'override of {o["who"]}: unknown layer "{o["layer"]}" '
                                      f'(known: {", ".join(layers)})', "overrides")
            if dt.datetime.fromisoformat(o["until"]) <= dt.datetime.fromisoformat(o["from"]):
                raise ValidationError(f'override of {o["who"]}: "until" must be after "from"', "overrides")


# -- escalation policies ---------------------------------------------------------------------------

TARGET = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]*(/[A-Za-z0-9][A-Za-z0-9_.-]*)?$")


class NotifySchema(Strict):
    """Whom one step pages: the on-call of a schedule layer, a person, a group, or a room."""
    oncall = fields.String(validate=validate.Regexp(TARGET, error="use <schedule> or <schedule>/<layer>"))
    person = fields.String(validate=NAME)
    group = fields.String(validate=NAME)
    room = fields.String()

    @validates_schema
    def _one(self, data, **kwargs):
        if len(data) != 1:
            raise ValidationError("name exactly one of oncall, person, group or room")


class StepSchema(Strict):
    notify = fields.Nested(NotifySchema)
    wait = Duration()
    repeat = Int(validate=validate.Range(min=0, max=20))
    during = fields.String(validate=NAME)       # a notify step only while this time interval holds

    @validates_schema
    def _one(self, data, **kwargs):
        if len([k for k in data if k != "during"]) != 1:
            raise ValidationError("each step is one of notify, wait or repeat")
        if "during" in data and "notify" not in data:
            raise ValidationError("during: limits a notify step (skipped outside the time interval)")


def _steps_valid(steps: list) -> bool:
    if not any("notify" in s for s in steps):
        raise ValidationError("an escalation needs at least one notify step")
    for i, step in enumerate(steps):
        if "repeat" in step and i != len(steps) - 1:
            raise ValidationError("repeat comes last: it runs the steps above it again")
    return True


# -- heartbeats ------------------------------------------------------------------------------------

class HeartbeatSchema(Strict):
    """A beat expected from somewhere: any signal matching `when` (a rule's `when:` keys, exact values)."""
    name = fields.String(required=True, validate=NAME)
    description = fields.String()
    when = fields.Dict(keys=fields.String(), values=fields.Raw(), required=True,
                       validate=validate.Length(min=1, error="say which signals are the beat"))
    every = Duration()                          # a beat at least this often
    by = fields.String(validate=CLOCK)          # ... or one a day, by this wall-clock time
    zone = TimeZone(load_default="UTC")
    grace = Duration()                          # added to the interval or the deadline
    severity = fields.String(load_default="critical")

    @validates_schema
    def _one(self, data, **kwargs):
        if ("every" in data) == ("by" in data):
            raise ValidationError(f'heartbeat "{data.get("name", "?")}": give either every (e.g. 1m) '
                                  f'or by (e.g. 06:00)')
        for key, value in (data.get("when") or {}).items():
            if isinstance(value, (dict, list)):
                raise ValidationError(f'when: "{key}": a heartbeat matches exact values only', "when")


EXTRAS = {
    "schedules": fields.Dict(keys=fields.String(validate=NAME), values=fields.Nested(ScheduleSchema)),
    "escalations": fields.Dict(keys=fields.String(validate=NAME),
                               values=fields.List(fields.Nested(StepSchema), validate=_steps_valid)),
    "heartbeats": fields.List(fields.Nested(HeartbeatSchema)),
}
