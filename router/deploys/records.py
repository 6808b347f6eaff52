"""Deploy requests in the brain: one JSON record per request, changed only atomically.

A request (`dp-4k7q2x`) is what `deploy <app>[/<ref>] to <env>` creates. Its states:

    new ──► waiting ──► deploying ──► succeeded | failed | timed_out
     │         │  ▲
     │         ▼  │ (approvals, CI, alerts, a new commit: evaluated again)
     └──────► refused            denied, expired: closed without deploying

`refused` can still be bypassed (by the roles deploy.yml's `bypass` names) until the request
expires; `waiting` is evaluated again whenever something it may wait for changes. Every change
goes through `update()`, a WATCH/MULTI loop, so two approvals or two workers never lose a write.

Approvals are `{by, at, sha}`. One counts while it is younger than its rule's `expire`, is for the
sha the request deploys now (a new commit to the ref voids the others), and is not the
requester's: a person cannot approve their own deploy.
"""
from __future__ import annotations

import json
import time
from typing import Callable, TypeVar

from redis import Redis

from router.core import brain
from router.core.approvals import Store, Unchanged  # noqa: F401  (Unchanged: what a change raises)
from router.core.times import from_epoch

PREFIX = "dp-"
OPEN_FOR = 24 * 3600                          # a request not deployed within a day expires
DEFAULT_EXPIRE = 4 * 3600                     # an approval's life when the rule names none
OPEN = ("new", "waiting", "refused")
CLOSED = ("succeeded", "failed", "timed_out", "denied", "expired")

T = TypeVar("T")


def _view(request: dict, now: float) -> dict:
    """An open request past its expiry is shown as `expired`."""
    if request["state"] in OPEN and request["expires_at"] <= now:
        request["state"] = "expired"
    return request


STORE = Store(PREFIX, brain.key_deploy, brain.DEPLOY_TTL, view=_view)


def new_id(conn: Redis) -> str:
    return STORE.new_id(conn)


def create(conn: Redis, *, app: str, repo: str, ref: str, sha: str, env: str, requester: str, room: str,
           now: float | None = None) -> dict:
    now = time.time() if now is None else now
    request = {
        "id": new_id(conn), "app": app, "repo": repo, "ref": ref, "sha": sha, "env": env,
        "requester": requester, "room": room, "rooms": [room] if room else [],
        "created_at": from_epoch(now), "created": now, "expires_at": now + OPEN_FOR,
        "state": "new", "evaluations": 0, "signals": [], "rule": "", "reason": "", "waiting_for": [],
        "requirements": [], "allow": [], "approvals": [], "announced": "",
        "decided_by": "", "decision_reason": "", "bypassed_by": "", "bypass_reason": "",
        "target": {}, "started": 0.0, "finished": 0.0, "outcome": "",
    }
    with conn.pipeline(transaction=True) as pipe:
        STORE.save(pipe, request)
        pipe.zadd(brain.key_deploys(), {request["id"]: now})
        pipe.zremrangebyrank(brain.key_deploys(), 0, -brain.DEPLOYS_CAP - 1)
        pipe.execute()
    return request


def get(conn: Redis, request_id: str, now: float | None = None) -> dict | None:
    """The request, with an open one past its expiry shown as `expired`."""
    return STORE.get(conn, request_id, now)


def update(conn: Redis, request_id: str, change: Callable[[dict], T], now: float | None = None) -> tuple[dict, T]:
    """Apply `change(request)` atomically (router/core/approvals.py `Store.update`)."""
    return STORE.update(conn, request_id, change, now)


def recent(conn: Redis, limit: int = 10, app: str = "", now: float | None = None) -> list[dict]:
    """Newest requests first (of one app when named)."""
    ids = [i.decode() for i in conn.zrevrange(brain.key_deploys(), 0, 499 if app else limit - 1)]
    raws = conn.mget([brain.key_deploy(i) for i in ids]) if ids else []
    found = [_view(json.loads(raw), time.time() if now is None else now) for raw in raws if raw]
    if app:
        found = [r for r in found if r["app"].lower() == app.lower()]
    return found[:limit]


# -- approvals ------------------------------------------------------------------------------------

def members(names: list[str] | tuple[str, ...], groups: dict) -> set[str]:
    """Every person named, directly or through groups (groups may contain groups)."""
    out: set[str] = set()
    todo, seen = list(names), set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        if name in groups:
            todo.extend(str(m) for m in groups[name] or [])
        else:
            out.add(name)
    return out


def is_member(person: str, names: list[str] | tuple[str, ...], groups: dict) -> bool:
    return "*" in names or person in members(names, groups)


def counting(request: dict, expire: float, now: float) -> list[dict]:
    """The approvals that count: not the requester's, for the current sha, younger than `expire`."""
    return [a for a in request.get("approvals", [])
            if a["by"] != request["requester"] and a["sha"] == request["sha"] and now - a["at"] < expire]


def missing(request: dict, groups: dict, now: float) -> list[str]:
    """What the request's approval requirements still lack, one phrase each ([] when met)."""
    out = []
    for need in request.get("requirements", []):
        approvers = [need["approvers"]] if need.get("approvers") else ["*"]
        got = sorted({a["by"] for a in counting(request, need["expire"], now)
                      if is_member(a["by"], approvers, groups)})
        short = need["approvals"] - len(got)
        if short > 0:
            who = f" from {need['approvers']}" if need.get("approvers") else ""
            have = f" (so far: {', '.join(got)})" if got else ""
            out.append(f"{short} more approval{'s' if short != 1 else ''}{who}{have}")
    return out


def approved_by(request: dict, now: float) -> list[str]:
    expire = max([n["expire"] for n in request.get("requirements", [])] or [DEFAULT_EXPIRE])
    return sorted({a["by"] for a in counting(request, expire, now)})
