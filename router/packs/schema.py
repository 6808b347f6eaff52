"""The shape of a command pack file (`commands/<pack>.yml` in the rules dir), strict like every
rules file: an unknown key is refused with the nearest valid one suggested, at its line.

    pack: lunch                       # defaults to the file's name
    env: [IMAGE_SEARCH_KEY]           # the only environment variables its fetches may read
    commands:
      - name: lunch-add               # unique in the pack; permissions.yml can grant it as args {form: lunch-add}
        formats: ["lunch add {place:text}"]
        description: Add a place to the team's lunch list
        permission: {allow: [staff], rooms: ["#lunch"]}      # default: nobody until granted
        brain: {op: list add, key: places, value: "{{ place }}"}
        reply: "Added {{ place }}."
        examples:
          - say: lunch add Thai Palace
            reply: "Added Thai Palace."
"""
from __future__ import annotations

from marshmallow import ValidationError, fields, validate, validates_schema

from router.core.durations import parse as parse_duration
from router.engine.schema import NAME, Cron, Int, Strict, StrictBool, StrOrList, TimeZone

# `log` pushes onto a capped list, newest first (`cap`, default 100): recent builds, runs of a day.
BRAIN_OPS = ("get", "set", "incr", "list", "list add", "list remove", "log", "pick random", "hll add", "hll count")
DEFAULT_CAP = 100
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


class Duration(fields.String):
    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        try:
            seconds = parse_duration(value)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None
        return seconds


class PermissionSchema(Strict):
    allow = fields.List(fields.String(), required=True, validate=validate.Length(min=1))
    rooms = fields.List(fields.String())


class FetchSchema(Strict):
    url = fields.String(required=True)
    method = fields.String(load_default="GET", validate=validate.OneOf(METHODS))
    headers = fields.Dict(keys=fields.String(), values=fields.String(), load_default=dict)
    json = fields.Raw()
    timeout = fields.Float(load_default=10.0, validate=validate.Range(min=0.1, max=60))
    cache = Duration()


class BrainSchema(Strict):
    op = fields.String(required=True, validate=validate.OneOf(BRAIN_OPS))
    key = fields.String(required=True)
    value = fields.Raw()
    by = Int()
    ttl = Duration()
    cap = Int(validate=validate.Range(min=1, max=100_000))


class PostSchema(Strict):
    kind = fields.String(load_default="event")
    status = fields.String(load_default="received")
    severity = fields.String(load_default="info")
    subject = fields.String(load_default="")
    summary = fields.String(load_default="")
    text = fields.String(load_default="")
    labels = fields.Dict(keys=fields.String(), values=fields.String(), load_default=dict)


class ResponseSchema(Strict):
    status = Int(load_default=200)
    json = fields.Raw()
    text = fields.String()


class ExampleSchema(Strict):
    say = fields.String(required=True)
    response = fields.Nested(ResponseSchema)
    brain = fields.Dict(keys=fields.String(), values=fields.Raw(), load_default=dict)
    reply = fields.String(required=True)
    at = fields.String()                  # today's date for `date` parameters (default 2026-01-15)
    who = fields.String(load_default="alice")


class EverySchema(Strict):
    cron = Cron(required=True)
    room = fields.String(required=True)
    say = fields.String(required=True)    # the command text whose reply is posted
    tz = TimeZone(load_default="UTC")


class CommandSchema(Strict):
    name = fields.String(required=True, validate=NAME)
    formats = StrOrList(required=True)
    description = fields.String(required=True)
    permission = fields.Nested(PermissionSchema)
    rooms = fields.List(fields.String())
    public = StrictBool(load_default=True)
    fetch = fields.Nested(FetchSchema)
    brain = fields.Nested(BrainSchema)
    post = fields.Nested(PostSchema)
    reply = fields.String(required=True)
    fallback = fields.String()
    every = fields.List(fields.Nested(EverySchema), load_default=list)
    examples = fields.List(fields.Nested(ExampleSchema), load_default=list)

    @validates_schema
    def one_thing_to_do(self, data, **kwargs):
        doing = [k for k in ("fetch", "brain", "post") if k in data]
        if len(doing) > 1:
            raise ValidationError(f"do one thing: {' or '.join(doing)}, not both", "commands")


class PackSchema(Strict):
    pack = fields.String(validate=validate.Regexp(r"^[a-z][a-z0-9_-]*$", error="use lower-case letters, digits, - and _"))
    description = fields.String(load_default="")
    env = fields.List(fields.String(validate=validate.Regexp(r"^[A-Z_][A-Z0-9_]*$",
                                                             error="an environment variable's name")),
                      load_default=list)
    commands = fields.List(fields.Nested(CommandSchema), required=True, validate=validate.Length(min=1))
