"""deploy.yml's extra keys (SPEC §7, §10): `apps`, `calendar` and `bypass`, as the loader checks them.

Registered with the ruleset loader by router/deploys (`register`); router/deploys/apps.py and
calendar.py read what they load.
"""
from __future__ import annotations

import re

from marshmallow import ValidationError, fields, validate, validates_schema

from router.core.durations import Duration
from router.engine.schema import Cron, Strict, StrictBool, TimeZone, When


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


EXTRAS = {"apps": fields.Dict(keys=fields.String(), values=fields.Nested(AppSchema)),
          "calendar": fields.Nested(CalendarSchema),
          "bypass": fields.Nested(BypassSchema)}
