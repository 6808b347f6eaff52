"""Deploy requests over HTTP (SPEC §7, §9): list, look at, ask for, approve and deny them.

- `GET /api/deploys?app=&state=&limit=`: requests newest first.
- `GET /api/deploys/<id>`: one request.
- `POST /api/deploys` `{"user", "app", "env", "ref"?, "room"?}` → 201 the request, `new` while a
  worker carries out the deploy ruleset's verdict (then `waiting`, `deploying`, or `refused` with
  `rule` and `reason` — an answer, not an error; `GET /api/deploys/<id>` shows it), as chat's
  "the deploy rules' answer follows". Its `signals` are the evaluations (`why <id>`).
- `POST /api/deploys/<id>/approve` `{"user", "room"?}`, `POST /api/deploys/<id>/deny`
  `{"user", "reason"?, "room"?}` → 200 `{"message", "deploy"}`.
Writes act for `user` through the `deploy` / `approve` / `deny` commands' own functions
(router/commands/deploy.py `ask`, `decide`: permissions.yml by env and app, the request's own
rules — the requester's approval does not count —, audit); see router/api/acting.py.
"""
from __future__ import annotations

import time

from flask import Blueprint, current_app, jsonify, request
from marshmallow import RAISE, Schema, fields, validate

from router.api import acting
from router.api.errors import json_error
from router.api.openapi import documents
from router.commands import deploy as deploy_command
from router.core.times import from_epoch
from router.deploys import records as reqs

bp = Blueprint("deploys_api", __name__)
acting.register(bp)

TAGS = ("deploys",)
STATES = (*reqs.OPEN, "deploying", *reqs.CLOSED)


class ApprovalSchema(Schema):
    by = fields.String()
    at = fields.String()
    sha = fields.String(metadata={"description": "the commit approved; a new commit voids it"})


class DeploySchema(Schema):
    """A deploy request as the API shows it (times ISO 8601 UTC; empty when not yet)."""

    id = fields.String(metadata={"description": "dp-…"})
    app = fields.String()
    repo = fields.String()
    ref = fields.String()
    sha = fields.String(metadata={"description": "the commit that is approved and deployed"})
    env = fields.String()
    state = fields.String(metadata={"description": ", ".join(STATES)})
    requester = fields.String()
    rooms = fields.List(fields.String(), metadata={"description": "where its news goes"})
    created_at = fields.String()
    expires_at = fields.String()
    rule = fields.String(metadata={"description": "the deploy rule that decided"})
    reason = fields.String(metadata={"description": "why it was refused"})
    waiting_for = fields.List(fields.String())
    approvals = fields.List(fields.Nested(ApprovalSchema))
    approved_by = fields.List(fields.String(), metadata={"description": "the approvals that count now"})
    decided_by = fields.String(metadata={"description": "who denied it"})
    decision_reason = fields.String()
    bypassed_by = fields.String()
    bypass_reason = fields.String()
    started_at = fields.String()
    finished_at = fields.String()
    outcome = fields.String()
    target = fields.Dict(metadata={"description": "the Jenkins build or GitHub deployment: type, url, ..."})
    signals = fields.List(fields.String(), metadata={"description": "its evaluations (`why <id>`)"})


class DeploysQuery(Schema):
    class Meta:
        unknown = RAISE

    app = fields.String(load_default="")
    state = fields.String(load_default="", validate=validate.OneOf(("", *STATES)))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


class DeployBody(acting.Acting):
    app = fields.String(required=True, validate=validate.Length(min=1, max=100),
                        metadata={"description": "a deploy.yml app, by name or repo"})
    env = fields.String(required=True, validate=validate.Length(min=1, max=100))
    ref = fields.String(load_default="", validate=validate.Length(max=250),
                        metadata={"description": "branch, tag or commit; default: the app's branch"})


class DenyBody(acting.Acting):
    reason = fields.String(load_default="", validate=validate.Length(max=500))


class DecisionAnswer(Schema):
    message = fields.String(metadata={"description": "what chat would have answered"})
    deploy = fields.Nested(DeploySchema)


def _conn():
    return current_app.extensions["sparky"].conn


def _when(epoch: float) -> str:
    return from_epoch(epoch) if epoch else ""


def view(request_: dict, now: float | None = None) -> dict:
    """A stored request (router/deploys/records.py) as DeploySchema shows it."""
    now = time.time() if now is None else now
    shown = {name: request_.get(name) for name in DeploySchema().fields
             if name in request_ and name not in ("approvals", "expires_at")}
    shown.update(
        approvals=[{**a, "at": _when(a["at"])} for a in request_.get("approvals", [])],
        approved_by=reqs.approved_by(request_, now), expires_at=_when(request_.get("expires_at", 0)),
        started_at=_when(request_.get("started", 0)), finished_at=_when(request_.get("finished", 0)))
    return DeploySchema().dump(shown)


@bp.get("/api/deploys")
@documents(query=DeploysQuery, tags=TAGS)
def list_deploys():
    """Deploy requests, newest first (of one app, in one state)."""
    query = DeploysQuery().load(request.args.to_dict())
    now = time.time()
    # `recent` reads the newest 500 when filtering by app; a state filter needs as many.
    wanted = reqs.recent(_conn(), 500 if query["state"] else query["limit"], app=query["app"], now=now)
    if query["state"]:
        wanted = [r for r in wanted if r["state"] == query["state"]]
    found = [view(r, now) for r in wanted[:query["limit"]]]
    return jsonify(deploys=found, count=len(found))


@bp.get("/api/deploys/<request_id>")
@documents(response=DeploySchema, tags=TAGS)
def get_deploy(request_id: str):
    """One deploy request (404 when unknown, or gone after 30 days)."""
    found = reqs.get(_conn(), request_id)
    if found is None:
        return json_error(404, f"no deploy request {request_id!r}")
    return jsonify(view(found))


@bp.post("/api/deploys")
@documents(body=DeployBody, response=DeploySchema, tags=TAGS, ok=201, errors=acting.ERRORS)
def create_deploy():
    """Ask for a deploy as `user` (`deploy <app>[/<ref>] to <env>`); 201 the request, its verdict to follow.

    The request is created and evaluated at once; a worker carries out the verdict (`waiting`,
    `deploying`, or `refused` with `rule` and `reason`: GET /api/deploys/<id>). 403 when
    permissions.yml refuses the user, 400 for an unknown app or environment, 502 when GitHub
    cannot resolve the ref.
    """
    given = acting.body(DeployBody())
    app, env, ref = given["app"].strip(), given["env"].strip(), given["ref"].strip()
    what = f"deploy {app}{'/' + ref if ref else ''} to {env}"
    made = acting.act(given, "deploy", what, lambda ctx: deploy_command.ask(ctx, app, ref, env),
                      outcome=lambda r: "refused" if r["state"] == "refused" else "ok")
    return jsonify(view(made)), 201, {"Location": f"/api/deploys/{made['id']}"}


def decide(request_id: str, approve: bool, given: dict) -> str:
    """Approve or deny as `given["user"]` (`approve <id>`, `deny <id> [reason]`) and return what chat
    would have answered; Refused, UsageError or RulesUnavailable when it is not done. The
    dashboard's approve and deny buttons call this too."""
    verb = "approve" if approve else "deny"
    what = f"{verb} {request_id}" + (f" {given['reason']}" if given.get("reason") else "")
    return acting.act(given, verb, what, lambda ctx: deploy_command.decide(
        ctx, request_id, approve, given.get("reason", "").strip()))


def _decide(request_id: str, approve: bool, given: dict):
    message = decide(request_id, approve, given)
    return jsonify(message=message, deploy=view(reqs.get(_conn(), request_id)))


@bp.post("/api/deploys/<request_id>/approve")
@documents(body=acting.Acting, response=DecisionAnswer, tags=TAGS, errors=acting.ERRORS)
def approve_deploy(request_id: str):
    """Approve a waiting deploy request as `user` (`approve <id>`); it is evaluated again at once.

    403 when permissions.yml refuses the user, when they asked for it themselves (their own
    approval does not count) or are not among its approvers; 404 unknown; 409 when it is not
    waiting (refused, deploying, closed).
    """
    return _decide(request_id, True, acting.body(acting.Acting()))


@bp.post("/api/deploys/<request_id>/deny")
@documents(body=DenyBody, response=DecisionAnswer, tags=TAGS, errors=acting.ERRORS)
def deny_deploy(request_id: str):
    """Deny (or, as its requester, withdraw) an open deploy request as `user` (`deny <id> [reason]`)."""
    return _decide(request_id, False, acting.body(DenyBody()))
