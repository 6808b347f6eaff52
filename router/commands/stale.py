"""`stale [owner|me]`: idle pull requests, nodes, artifacts and repos, from the last scans; and
the stale clean-up requests (`st-…`) that `approve` / `deny` decide (router/commands/approve.py).
"""
from __future__ import annotations

from router.commands.approve import Approvable
from router.commands.context import Context
from router.commands.declare import Refused, Reply, UsageError, command
from router.commands.parse import words
from router.stale import approvals
from router.stale.listing import format_items, stale_items


@command("stale")
def stale(ctx: Context, args: str) -> Reply:
    """List stale items (idle PRs, silent Chef nodes, unused artifacts, idle repos) from the last scans.

    Usage: stale [owner|me]

    With an owner (a people.yml name, GitHub login or e-mail; `me` for yourself), only what they
    own or are asked to review. Each item says whether it was nagged, is snoozed, or has a
    clean-up request waiting for `approve`.

    Examples:
      stale
      stale me
      stale bob
    """
    tokens = words(args)
    if len(tokens) > 1:
        raise UsageError("Give one owner at most.")
    owner = tokens[0].lstrip("@") if tokens else ""
    if owner.lower() == "me":
        owner = ctx.who.name
    items = stale_items(ctx.conn, owner, ctx.config.rules_dir, now=ctx.now)
    return Reply(format_items(items, owner))


def _decide(ctx: Context, request_id: str, approve: bool, reason: str) -> Reply:
    decision = approvals.decide(ctx.conn, ctx.config, request_id, approve, ctx.who.name, ctx.who.groups,
                                ctx.data.get("groups") or {}, room=ctx.room, reason=reason, now=ctx.now)
    if decision.refused:
        raise Refused(decision.text)
    return Reply(decision.text, outcome="ok", public=True)


def _pending(ctx: Context) -> list[str]:
    groups = ctx.data.get("groups") or {}
    lines = []
    for request in approvals.requests(ctx.conn, "pending"):
        if approvals.may_decide(request, ctx.who.name, ctx.who.groups, groups):
            lines.append(f"`{request['id']}` {request['ask']} {request['subject']}: "
                         f"{request.get('summary', '')}")
    return lines


# Registered by router/commands/plugin.py: `approve st-…` and `deny st-…`.
STALE_REQUESTS = Approvable(prefix=approvals.PREFIX, noun="stale clean-up", decide=_decide, pending=_pending)
