"""stale.yml's extra key (SPEC §8, §10): `scans`, as the loader checks it.

Registered with the ruleset loader by router/stale (`register`); router/stale/scans.py reads it.
"""
from __future__ import annotations

import re

from marshmallow import ValidationError, fields, validate, validates_schema

from router.core.durations import Duration
from router.engine.schema import Cron, Strict

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


EXTRAS = {"scans": Scans(keys=fields.String(), values=fields.Nested(ScanSchema))}
