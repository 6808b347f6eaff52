"""The action catalogue: what rules can make happen (SPEC §4 `then:`).

Each action is a module of this package with a function `name(signal, conn, config, *, ctx,
**params) -> outcome text`, run on a worker by router/jobs/runner.py (idempotent, retried,
dead-lettered), and a parameter schema below that `sparky rules check` and the runner both use:
unknown parameters, missing required ones and bad durations are refused with the file's line.
`register(registry)` puts them in the catalogue the engine and the runner read
(router/core/registry.py), exactly as a plugin's actions will be.
"""
from __future__ import annotations

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from actions import deploy, escalate, group, nag, notify, setfact, webhook
from router.core.durations import Duration
from router.core.registry import Action, Registry
from router.engine.schema import StrOrList


class _Params(Schema):
    class Meta:
        unknown = RAISE


class NotifyParams(_Params):
    room = fields.String(required=True, validate=validate.Length(min=1))   # "#ops" or "C0123"
    mention = fields.String()                                              # "@oncall", "{actor}"
    template = fields.String()                                             # message text, {field}s
    mute_during = StrOrList()                    # time intervals when it posts nothing (actions/muting.py)
    repeat = Duration()                          # re-announce a still-firing alert this often (actions/repeat.py)


class DropParams(_Params):
    reason = fields.String()


class GroupParams(_Params):
    by = fields.List(fields.String(), required=True, validate=validate.Length(min=1))
    wait = Duration(load_default="30s")          # like Alertmanager's group_wait
    interval = Duration(load_default="5m")       # like Alertmanager's group_interval: a busy group's pace
    room = fields.String(required=True)
    mention = fields.String()
    template = fields.String()
    mute_during = StrOrList()
    repeat = Duration()                          # each grouped alert, while it fires (actions/repeat.py)
    message = fields.String()                    # the whole message: Jinja over the window (group.group_view)


class EscalateParams(_Params):
    """actions/escalate.py: a named policy of oncall.yml, or the one-step form (after + mention)."""
    policy = fields.String()                     # oncall.yml `escalations:` name
    after = Duration()                           # re-notify after this unless acknowledged
    mention = fields.String()
    repeat = fields.Integer(strict=True, validate=validate.Range(min=0, max=20))
    room = fields.String()
    template = fields.String()
    mute_during = StrOrList()                    # checked at each round

    @validates_schema
    def _form(self, data, **kwargs):
        if data.get("policy"):
            extra = sorted(k for k in ("after", "mention", "repeat") if k in data)
            if extra:
                raise ValidationError(f"a policy sets its own steps: drop {', '.join(extra)}", extra[0])
        elif "after" not in data and "mention" not in data:
            raise ValidationError("name a policy (oncall.yml escalations), or give after and mention",
                                  "policy")
        else:
            for key in ("after", "mention"):
                if key not in data:
                    raise ValidationError(["Missing data for required field."], key)


class DeployParams(_Params):
    """actions/deploy.py (router/deploys/verdict.py says how several combine)."""
    approvals = fields.Integer(strict=True, load_default=0, validate=validate.Range(min=0, max=10))
    approvers = fields.String()                  # a group from people.yml
    refuse = fields.String()                     # refuse the request with this reason
    room = fields.String()
    wait = fields.String()                       # wait for this (e.g. "CI on {labels.short_sha}"); evaluated again
    allow = fields.List(fields.String(), validate=validate.Length(min=1))   # who may ask (people or groups)
    expire = Duration()                          # how long an approval counts (default 4h)


class NagParams(_Params):
    """actions/nag.py: ask an item's owner to act, at most once per `every` (SPEC §8)."""
    to = fields.String()                         # people, e.g. "{labels.owner}" (the default), "{labels.reviewers}"
    room = fields.String()                       # post there with a mention, instead of directly to them
    template = fields.String()
    ask = fields.String(validate=validate.OneOf(["remind", "review", "close", "delete", "archive"]))
    every = Duration(load_default="1d")          # at most one nag per item and owner per period
    escalate_after = Duration()
    escalate_room = fields.String()
    escalate_mention = fields.String()
    approvers = fields.Raw()                     # close/delete/archive: people or groups (default: the owner)
    digest_over = fields.Integer(strict=True, validate=validate.Range(min=0, max=1000))
    wait = Duration()                            # gather an owner's nags this long, then send them together

    @validates_schema
    def _escalation(self, data, **kwargs):
        if "escalate_after" in data and not data.get("escalate_room"):
            raise ValidationError("escalate_after needs an escalate_room", "escalate_room")
        approvers = data.get("approvers")
        if approvers is not None and not (isinstance(approvers, str) or (
                isinstance(approvers, list) and all(isinstance(a, str) for a in approvers))):
            raise ValidationError("a name or a list of names (people or groups)", "approvers")


class WebhookParams(_Params):
    url = fields.String(required=True, validate=validate.Regexp(r"^https?://", error="must be an http(s) URL"))
    method = fields.String(load_default="POST", validate=validate.OneOf(["POST", "PUT"]))
    headers = fields.Dict(keys=fields.String(), values=fields.String())
    body = fields.Raw()                          # JSON body; default: the signal


class SetParams(_Params):
    key = fields.String(required=True, validate=validate.Length(min=1))
    value = fields.Raw(required=True)
    ttl = Duration()


def register(registry: Registry) -> None:
    """The built-in actions (SPEC §4), in the order `sparky rules check` lists them."""
    for action in (
        Action("notify", NotifyParams, notify.notify),
        Action("drop", DropParams, notify.drop, at_decision=True),   # the decision is all it does
        Action("group", GroupParams, group.group),
        Action("escalate", EscalateParams, escalate.escalate),
        Action("deploy", DeployParams, deploy.deploy),
        Action("nag", NagParams, nag.nag),
        Action("webhook", WebhookParams, webhook.webhook, sends_decision=True),
        Action("set", SetParams, setfact.set_fact),
    ):
        registry.add_action(action)
    registry.on_recover("late_groups", group.reschedule_late)  # windows whose flush was lost
