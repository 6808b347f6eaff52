"""Schemas of what the rules dir holds besides rules: the data files (people.yml, permissions.yml)
and the extra top-level keys SPEC §6, §7, §10 give some rulesets (deploy: apps, calendar, bypass;
stale: scans; suppression: guardrails). Strict like every schema: unknown keys are refused.
"""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from router.core.durations import Duration
from router.engine.schema import NAME, Cron, Int, StrictBool, Strict, StrOrList, TimeZone, When


# deploy.yml extras (SPEC §7, §10)
class JenkinsTarget(Strict):
    job = fields.String(required=True)
    params = fields.Dict(keys=fields.String(), values=fields.String())


class GithubTarget(Strict):
    environment = fields.String(required=True)


class DeployTarget(Strict):
    jenkins = fields.Nested(JenkinsTarget)
    github = fields.Nested(GithubTarget)

    @validates_schema
    def _one(self, data, **kwargs):
        if len(data) != 1:
            raise ValidationError("name exactly one of jenkins or github")


class AppSchema(Strict):
    repo = fields.String(required=True, validate=validate.Regexp(r"^[\w.-]+/[\w.-]+$", error="use owner/name"))
    environments = fields.List(fields.String(), required=True, validate=validate.Length(min=1))
    deploy = fields.Nested(DeployTarget, required=True)
    branch = fields.String()                    # default branch, for "how to release"
    release_steps = fields.List(fields.String())
    room = fields.String()
    required_contexts = fields.List(fields.String(validate=lambda r: _regex(r)))   # CI that must be green
    timeout = Duration()                        # a deploy with no result by then is timed out


DAYS = validate.Regexp(r"^(mon|tue|wed|thu|fri|sat|sun)(-(mon|tue|wed|thu|fri|sat|sun))?"
                       r"(,(mon|tue|wed|thu|fri|sat|sun)(-(mon|tue|wed|thu|fri|sat|sun))?)*$",
                       error="use e.g. mon-fri, sat-sun or mon,wed,fri")
CLOCK = validate.Regexp(r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$", error="use HH:MM")


def _regex(pattern: str) -> bool:
    import re

    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValidationError(f'bad regex "{pattern}": {exc}') from None
    return True


class FreezeSchema(Strict):
    """A freeze window (router/deploys/calendar.py): dates (from/to), a cron start with a duration,
    or a weekly range (days/start/end); wall-clock times in the calendar's or its own time zone."""
    from_ = When(data_key="from", attribute="from")   # loaded as written: calendar.py reads window["from"]
    to = When()
    cron = Cron()
    duration = Duration()
    days = fields.String(validate=DAYS)
    start = fields.String(validate=CLOCK)
    end = fields.String(validate=CLOCK)
    reason = fields.String()
    environments = fields.List(fields.String())
    timezone = TimeZone()

    @validates_schema
    def _shape(self, data, **kwargs):
        shapes = [("from", "to"), ("cron", "duration"), ("start", "end")]
        given = [shape for shape in shapes if any(k in data for k in shape)]
        if len(given) != 1 or not all(k in data for k in given[0]) or ("days" in data and given[0] != ("start", "end")):
            raise ValidationError("a window is {from, to} dates, {cron, duration}, or {days, start, end}")


class BusinessHoursSchema(Strict):
    days = fields.String(load_default="mon-fri", validate=DAYS)
    start = fields.String(required=True, validate=CLOCK)
    end = fields.String(required=True, validate=CLOCK)
    environments = fields.List(fields.String())
    timezone = TimeZone()


class CalendarSchema(Strict):
    timezone = TimeZone(required=True)
    releases = fields.List(When())
    freeze = fields.List(fields.Nested(FreezeSchema))
    business_hours = fields.Nested(BusinessHoursSchema)


class BypassSchema(Strict):
    allow = fields.List(fields.String(), required=True, validate=validate.Length(min=1))
    reason_required = StrictBool(load_default=True)


# stale.yml extras (SPEC §8, §10)
SCAN_TYPES = ("github-prs", "github-repos", "chef-nodes", "artifacts")   # router/stale/scans.py


class ScanSchema(Strict):
    schedule = Cron(required=True)
    type = fields.String(validate=validate.OneOf(SCAN_TYPES))   # default: the scan's name
    repos = fields.List(fields.String())
    path = fields.String()
    url = fields.String()
    query = fields.String()
    older_than = Duration()
    owner = fields.String()
    owners = fields.Dict(keys=fields.String(), values=fields.String())   # regex on the subject -> owner
    bots = fields.List(fields.String())
    timeout = Duration()

    @validates_schema
    def _owners(self, data, **kwargs):
        import re

        for pattern in data.get("owners") or {}:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValidationError(f'bad regex "{pattern}": {exc}', "owners") from None


class Scans(fields.Dict):
    """stale.yml `scans:`; a scan not named after its type says it with `type:`."""

    def _deserialize(self, value, attr, data, **kwargs):
        loaded = super()._deserialize(value, attr, data, **kwargs)
        untyped = {name: {"value": {"type": [f"say which kind of scan this is: {', '.join(SCAN_TYPES)}"]}}
                   for name, spec in loaded.items() if "type" not in spec and name not in SCAN_TYPES}
        if untyped:
            raise ValidationError(untyped)
        return loaded


# suppression.yml extras: the guardrails the chat layer enforces on snooze (SPEC §6)
class SnoozeGuardrails(Strict):
    max_duration = fields.Dict(keys=fields.String(), values=Duration(), required=True)  # env -> max; "default"
    reason_required = fields.Raw(load_default=False)   # true, false, or a list of envs
    max_matches = Int(load_default=20, validate=validate.Range(min=1))
    require_label = StrictBool(load_default=True)      # a matcher must constrain at least one label

    @validates_schema
    def _shape(self, data, **kwargs):
        required = data.get("reason_required", False)
        if not isinstance(required, bool) and not (
                isinstance(required, list) and all(isinstance(e, str) for e in required)):
            raise ValidationError("must be true, false or a list of environments", "reason_required")
        if "default" not in data.get("max_duration", {}):
            raise ValidationError('needs a "default" entry (e.g. default: 7d)', "max_duration")


class GuardrailsSchema(Strict):
    snooze = fields.Nested(SnoozeGuardrails, required=True)


EXTRAS: dict[str, dict[str, fields.Field]] = {
    "deploy": {"apps": fields.Dict(keys=fields.String(), values=fields.Nested(AppSchema)),
               "calendar": fields.Nested(CalendarSchema),
               "bypass": fields.Nested(BypassSchema)},
    "stale": {"scans": Scans(keys=fields.String(), values=fields.Nested(ScanSchema))},
    "suppression": {"guardrails": fields.Nested(GuardrailsSchema)},
}


class PersonSchema(Strict):
    name = fields.String()
    slack = fields.String()
    github = fields.String()
    email = fields.Email()
    tz = TimeZone()
    phone = fields.String()
    jenkins = fields.String()


class PeopleFileSchema(Strict):
    people = fields.Dict(keys=fields.String(validate=NAME), values=fields.Nested(PersonSchema), required=True)
    groups = fields.Dict(keys=fields.String(validate=NAME), values=fields.List(fields.String()), load_default=dict)


class PermissionSchema(Strict):
    command = StrOrList(required=True)
    allow = fields.List(fields.String(), required=True, validate=validate.Length(min=1))
    rooms = fields.List(fields.String())
    args = fields.Dict(keys=fields.String(), values=fields.Raw())


class PermissionsFileSchema(Strict):
    permissions = fields.List(fields.Nested(PermissionSchema), required=True)


DATA_FILES: dict[str, type[Schema]] = {"people": PeopleFileSchema, "permissions": PermissionsFileSchema}

# Chat commands (SPEC §6) permissions.yml may name; "*" means all of them.
COMMANDS = ("help", "alerts", "snooze", "snoozes", "unsnooze", "ack", "why", "deploy", "approve", "deny",
            "deploys", "lock", "unlock", "bypass", "next", "how", "builds", "traffic", "stale", "lunch",
            "image", "say", "*")


