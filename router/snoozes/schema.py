"""suppression.yml's extra key (SPEC §6): the `guardrails` the chat layer enforces on snooze.

Registered with the ruleset loader by router/snoozes (`register`).
"""
from __future__ import annotations

from marshmallow import ValidationError, fields, validate, validates_schema

from router.core.durations import Duration
from router.engine.schema import Int, Strict, StrictBool


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


EXTRAS = {"guardrails": fields.Nested(GuardrailsSchema)}
