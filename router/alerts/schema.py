"""suppression.yml's `inhibit_rules` (Alertmanager's, issue 14 §2), checked when the rules load.

    inhibit_rules:
      - source_matchers: ['alertname="NodeDown"']
        target_matchers: ['alertname!="NodeDown"']
        equal: [host]

Each matcher is written as Alertmanager's config writes it (router/core/am_matchers.py reads
it); a bad one is a `rules check` problem at its file:line. Registered by router/alerts/plugin.py.
"""
from __future__ import annotations

from marshmallow import ValidationError, fields, validate

from router.alerts.inhibitors import parse_matcher
from router.core.matchers import MatcherError
from router.engine.schema import Strict


class MatcherText(fields.String):
    """One matcher: `alertname="NodeDown"`, `severity=~"warning|info"`, `labels.severity="critical"`."""

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        try:
            parse_matcher(value)
        except MatcherError as exc:
            raise ValidationError(str(exc)) from None
        return value


ONE = validate.Length(min=1, error="needs at least one matcher")
LABEL = validate.Regexp(r"^(labels\.)?[A-Za-z_][A-Za-z0-9_]*$", error="a label name, e.g. host or alertname")


class InhibitRule(Strict):
    source_matchers = fields.List(MatcherText(), required=True, validate=ONE)
    target_matchers = fields.List(MatcherText(), required=True, validate=ONE)
    equal = fields.List(fields.String(validate=LABEL), load_default=list)


EXTRAS = {"inhibit_rules": fields.List(fields.Nested(InhibitRule))}
