"""Schemas of the data files in the rules dir besides rulesets: people.yml and permissions.yml
(SPEC §10). Strict like every schema: unknown keys are refused.

The extra top-level keys some rulesets carry (deploy.yml's apps, calendar and bypass; stale.yml's
scans; suppression.yml's guardrails) belong to their features, which register them
(router/core/registry.py `add_extras`).
"""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from router.core.durations import Duration
from router.engine.schema import NAME, Strict, StrOrList, TimeZone


class NotifyRuleSchema(Strict):
    """One way to reach a person an escalation pages (router/oncall/personal.py)."""
    after = Duration()                          # from the page; default at once
    dm = fields.Boolean()
    webhook = fields.Url(schemes={"http", "https"}, require_tld=False)

    @validates_schema
    def _one(self, data, **kwargs):
        if ("webhook" in data) == bool(data.get("dm")):
            raise ValidationError("each notify rule is either dm: true or webhook: <url>")


class PersonSchema(Strict):
    name = fields.String()
    slack = fields.String()
    # a bare JID: the person behind XMPP commands and the target of their direct messages
    xmpp = fields.String(validate=validate.Regexp(r"^[^@/\s]+@[^@/\s]+$",
                                                  error="a bare JID like alice@chat.example (no /resource)"))
    github = fields.String()
    email = fields.Email()
    tz = TimeZone()
    phone = fields.String()
    jenkins = fields.String()
    notify = fields.List(fields.Nested(NotifyRuleSchema))    # when an escalation pages them


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
