"""`approve <id>`, `deny <id> [reason]`: decide a pending request, whichever feature made it.

Requests carry their kind in their id: stale clean-ups are `st-…`, deploys `dp-…`; each kind is
registered with the process's registry (router/commands/plugin.py, `registry.approvables`), so
the two commands stay one each however many kinds there are:

    registry.approvables.append(Approvable(prefix="st-", noun="clean-up", decide=..., pending=...))

`decide(ctx, request_id, approve, reason) -> Reply` checks who may decide and does it;
`pending(ctx) -> [lines]` lists what the caller could decide (`approve` with no id shows them).
Permission to run the commands at all is permissions.yml's (`approve`, `deny`); who may decide a
given request is the request's business (its approvers).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from router.commands.context import Context
from router.commands.declare import Reply, UsageError, command
from router.commands.parse import words
from router.core.registry import current


@dataclass(frozen=True)
class Approvable:
    prefix: str
    noun: str
    decide: Callable[[Context, str, bool, str], Reply]
    pending: Callable[[Context], list[str]]


def kinds() -> list[Approvable]:
    return current().approvables


def _kind(request_id: str) -> Approvable | None:
    lowered = request_id.lower()
    return next((k for k in kinds() if lowered.startswith(k.prefix)), None)


def _pending(ctx: Context) -> Reply:
    lines = [line for kind in kinds() for line in kind.pending(ctx)]
    if not lines:
        return Reply("Nothing is waiting for your approval.")
    return Reply("\n".join(["Waiting for your decision:", *lines[:20]]))


def _split(args: str) -> tuple[str, str]:
    tokens = words(args)
    if not tokens:
        return "", ""
    reason = " ".join(tokens[1:])
    if reason.lower().startswith("because "):
        reason = reason[len("because "):]
    return tokens[0].strip("`"), reason


@command("approve", public=True)
def approve(ctx: Context, args: str) -> Reply:
    """Approve a pending request (a deploy `dp-…`, a stale clean-up `st-…`, an on-call swap `sw-…`).

    Usage: approve [request id]

    Without an id, lists the requests waiting for you. Only the request's approvers (the item's
    owner unless the rule names others) may approve it; each decision is audited.

    Examples:
      approve dp-4k7q2x
      approve st-4k7q2x
    """
    request_id, _ = _split(args)
    if not request_id:
        return _pending(ctx)
    kind = _kind(request_id)
    if kind is None:
        known = ", ".join(f"{k.prefix}…" for k in kinds()) or "none"
        raise UsageError(f"`{request_id}` is not a request id (ids start with {known}).")
    return kind.decide(ctx, request_id, True, "")


@command("deny", public=True)
def deny(ctx: Context, args: str) -> Reply:
    """Deny a pending request: nothing is done, and the reason is kept in the audit trail.

    Usage: deny <request id> [reason]

    Examples:
      deny st-4k7q2x still needed for the Q4 release
    """
    request_id, reason = _split(args)
    if not request_id:
        raise UsageError("Deny which request? `approve` lists the ones waiting for you.")
    kind = _kind(request_id)
    if kind is None:
        known = ", ".join(f"{k.prefix}…" for k in kinds()) or "none"
        raise UsageError(f"`{request_id}` is not a request id (ids start with {known}).")
    return kind.decide(ctx, request_id, False, reason)
