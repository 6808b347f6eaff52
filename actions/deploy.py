"""`deploy`: carry out what the deploy ruleset decided for a deploy request (SPEC §4, §7).

    then:
      - deploy: {approvals: 2, approvers: deployers, expire: 4h}   # or {refuse: ...}, {wait: ...}, {}

Rules write the policy; this action does the rest (router/deploys/lifecycle.py): a refusal is
posted with the rule's name and reason; a wait is posted with what it waits for and Approve /
Deny buttons; a go takes the environment's lock and starts the app's deploy — a Jenkins job
through the remote build API (with the CSRF crumb) or a GitHub deployment, as deploy.yml's
`apps` say — then progress and the result come back through /hooks/jenkins and /hooks/github.
The parameters are read from the decision (all deploy actions of the signal combined), so this
function takes them only to have them checked by `actions.PARAMS["deploy"]`.
"""
from __future__ import annotations

from redis import Redis

from router.core.config import Config
from router.deploys import lifecycle
from router.jobs.context import Context


def deploy(signal: dict, conn: Redis, config: Config, *, ctx: Context | None = None, **params) -> str:
    ctx = ctx or Context(signal.get("id", ""), "deploy", "", 0, "deploy")
    return lifecycle.act(conn, config, signal, ctx.ruleset, ctx.rule, ctx.index)
