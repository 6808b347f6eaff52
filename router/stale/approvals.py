"""Clean-ups a person approves: nothing is closed, deleted or archived by Sparky otherwise.

A rule asks for a clean-up with a `nag` whose `ask` is `close` (a pull request), `delete` (a
Chef node or an artifact) or `archive` (a repo). The nag then carries a request, pending in the
brain under a short id (`st-4k7q2x`), that one of its approvers (the item's owner unless the rule
names `approvers`: people or groups of people.yml) approves or denies in chat:
`approve st-4k7q2x`, `deny st-4k7q2x still needed` (or the nag's buttons).

An approval queues `carry_out` (an RQ job, retried on 5xx/timeouts): it calls the real API —
close the PR (with a comment saying who approved it), delete the node and its client, delete the
artifact, archive the repo —, audits it (`stale.done` / `stale.failed`) and says so in the room
the approval came from. A request is answered once: approving it twice, or after a denial, or
after it expired (`expires`, 7 days), changes nothing. Nagging about the same item again while
its request is pending reuses the request.
"""
from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass

from redis import Redis
from rq import get_current_job

from router.chat import send as chat
from router.core import brain
from router.core.approvals import Store
from router.core.config import Config
from router.core.outcomes import Later, Permanent, Retryable
from router.core.times import from_epoch, utcnow
from router.jobs import policy
from router.stale import artifactory, chef, github

log = logging.getLogger("sparky.stale")

PREFIX = "st-"
EXPIRES = 7 * 86400
# What each `ask` does, and to which type of item it applies.
ASKS = {
    "close_pr": ("pull_request", "close"),
    "delete_node": ("chef_node", "delete"),
    "delete_artifact": ("artifact", "delete"),
    "archive_repo": ("repo", "archive"),
}
CLEANUPS = ("close", "delete", "archive")


def action_for(ask: str, item_type: str) -> str | None:
    """The request kind for asking `ask` about an item of `item_type`; None when it does not apply."""
    for kind, (wanted_type, verb) in ASKS.items():
        if verb == ask and wanted_type == item_type:
            return kind
    return None


def configured(kind: str, config: Config, labels: dict) -> str:
    """Why Sparky cannot carry this out ("" when it can): the API it needs is not configured."""
    chef_ready = config.chef_server_url and config.chef_client_name and config.chef_client_key
    if kind == "delete_node" and not chef_ready:
        return "CHEF_SERVER_URL, CHEF_CLIENT_NAME and CHEF_CLIENT_KEY are not all set"
    if kind == "delete_artifact" and not config.artifactory_url:
        return "ARTIFACTORY_URL is not set"
    return ""


STORE = Store(PREFIX, brain.key_stale_request, brain.STALE_REQUEST_TTL)   # router/core/approvals.py


def new_id(conn: Redis) -> str:
    return STORE.new_id(conn)


def get(conn: Redis, request_id: str) -> dict | None:
    return STORE.get(conn, request_id)


def _save(conn: Redis, request: dict, pipe=None) -> None:
    STORE.save(pipe if pipe is not None else conn, request)


def is_open(request: dict | None, now: float | None = None) -> bool:
    now = time.time() if now is None else now
    return bool(request) and request["state"] == "pending" and request["expires_at"] > now


def propose(conn: Redis, signal: dict, ask: str, owner: str, approvers: list[str], rule: str,
            now: float | None = None) -> dict | None:
    """The open request to carry out `ask` on the signal's item: the existing one, or a new one.

    None when `ask` does not apply to this type of item (e.g. `close` on a node).
    """
    labels = signal.get("labels") or {}
    kind = action_for(ask, labels.get("type", ""))
    if kind is None:
        return None
    now = time.time() if now is None else now
    fingerprint = signal["fingerprint"]
    link = brain.key_stale_request_for(fingerprint, kind)
    existing_id = conn.get(link)
    existing = get(conn, existing_id.decode()) if existing_id else None
    if is_open(existing, now):
        return existing
    request = {
        "id": new_id(conn), "kind": kind, "ask": ask, "state": "pending", "fingerprint": fingerprint,
        "subject": signal.get("subject", ""), "url": signal.get("url", ""),
        "summary": signal.get("summary", ""),
        "type": labels.get("type", ""), "target": _target(kind, labels, signal), "owner": owner,
        "approvers": approvers, "rule": rule, "signal": signal.get("id", ""), "scan": labels.get("scan", ""),
        "idle_days": labels.get("idle_days", ""), "created_at": from_epoch(now), "expires_at": now + EXPIRES,
        "decided_by": "", "decided_at": "", "reason": "", "room": "", "outcome": "",
    }
    with conn.pipeline(transaction=True) as pipe:
        _save(conn, request, pipe)
        pipe.set(link, request["id"], ex=EXPIRES)
        pipe.zadd(brain.key_stale_requests(), {request["id"]: now})
        pipe.zremrangebyrank(brain.key_stale_requests(), 0, -brain.STALE_REQUESTS_CAP - 1)
        pipe.execute()
    brain.audit(conn, "stale.requested", request=request["id"], kind=kind, subject=request["subject"],
                owner=owner, rule=rule)
    return request


def _target(kind: str, labels: dict, signal: dict) -> dict:
    if kind == "close_pr":
        return {"repo": labels.get("repo", ""), "pr": labels.get("pr", "")}
    if kind == "delete_node":
        return {"node": labels.get("node", signal.get("subject", ""))}
    if kind == "delete_artifact":
        return {"path": signal.get("subject", "")}
    return {"repo": labels.get("repo", signal.get("subject", ""))}


def requests(conn: Redis, state: str = "pending", limit: int = 100, now: float | None = None) -> list[dict]:
    """Newest first; `state` "" for all (a pending request past its expiry reads "expired")."""
    ids = [i.decode() for i in conn.zrevrange(brain.key_stale_requests(), 0, max(limit * 5, 500))]
    found = []
    raws = conn.mget([brain.key_stale_request(i) for i in ids]) if ids else []
    now = time.time() if now is None else now
    for raw in raws:
        if not raw:
            continue
        request = json.loads(raw)
        if request["state"] == "pending" and request["expires_at"] <= now:
            request["state"] = "expired"
        if not state or request["state"] == state:
            found.append(request)
        if len(found) >= limit:
            break
    return found


# -- deciding ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Decision:
    ok: bool
    text: str
    request: dict | None = None
    refused: bool = False          # the caller may not decide it (not merely "already decided")


def may_decide(request: dict, person: str, groups: frozenset[str] | set[str], groups_map: dict) -> bool:
    """Is `person` (a people.yml name) one of the request's approvers (directly or by group)?"""
    allowed = set(request.get("approvers") or [])
    if person in allowed or (set(groups) & allowed):
        return True
    # approvers may name a group whose members are people.yml names
    return any(person in (groups_map.get(a) or []) for a in allowed)


# Compare-and-set: the request moves to its decision only if nobody changed it since it was read.
# KEYS: request. ARGV: the JSON read, the JSON to write. → 1 written, 0 changed meanwhile.
DECIDE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
return 1
"""


def decide(conn: Redis, config: Config, request_id: str, approve: bool, by: str,
           groups: frozenset[str] | set[str] = frozenset(), groups_map: dict | None = None, room: str = "",
           reason: str = "", now: float | None = None) -> Decision:
    """Approve (and queue the clean-up) or deny a pending request, if `by` may decide it."""
    now = time.time() if now is None else now
    raw = conn.get(brain.key_stale_request(request_id.strip().lower()))
    request = json.loads(raw) if raw else None
    if request is None:
        return Decision(False, f"No request `{request_id}` is known (requests are kept "
                               f"{brain.STALE_REQUEST_TTL // 86400} days).")
    if request["state"] != "pending":
        by_whom = f" by {request['decided_by']}" if request.get("decided_by") else ""
        text = f"`{request['id']}` ({_what(request)}) is already {request['state']}{by_whom}."
        return Decision(False, text, request)
    if request["expires_at"] <= now:
        return Decision(False, f"`{request['id']}` ({_what(request)}) expired: it will be asked again "
                               "if the item is still idle at the next nag.", request)
    if not may_decide(request, by, groups, groups_map or {}):
        who = ", ".join(request.get("approvers") or []) or "nobody (no owner known in people.yml)"
        text = f"only {who} may decide `{request['id']}` ({_what(request)})"
        return Decision(False, text, request, refused=True)
    decided = {**request, "state": "approved" if approve else "denied", "decided_by": by,
               "decided_at": from_epoch(now), "reason": reason, "room": room}
    if not conn.eval(DECIDE, 1, brain.key_stale_request(request["id"]), raw, json.dumps(decided)):
        request = get(conn, request["id"]) or request
        return Decision(False, f"`{request['id']}` was decided meanwhile: it is {request['state']}.", request)
    request = decided
    conn.delete(brain.key_stale_request_for(request["fingerprint"], request["kind"]))
    if not approve:
        brain.audit(conn, "stale.denied", request=request["id"], subject=request["subject"], who=by,
                    reason=reason, rule=request.get("rule", ""))
        return Decision(True, f"{by} denied `{request['id']}`: {request['subject']} stays"
                              + (f" ({reason})." if reason else "."), request)
    brain.audit(conn, "stale.approved", request=request["id"], kind=request["kind"],
                subject=request["subject"], who=by, rule=request.get("rule", ""))
    policy.enqueue(conn, carry_out, request["id"], policy=policy.CLEANUP,
                   description=f"{request['kind']} {request['subject']} ({request['id']})")
    text = f"{by} approved `{request['id']}`: {_verb(request)} {request['subject']} now."
    return Decision(True, text, request)


def _what(request: dict) -> str:
    return f"{request['ask']} {request['subject']}"


def _verb(request: dict) -> str:
    return {"close_pr": "closing", "delete_node": "deleting", "delete_artifact": "deleting",
            "archive_repo": "archiving"}[request["kind"]]


# -- carrying out --------------------------------------------------------------------------------

def carry_out(request_id: str) -> str:
    """RQ job: call the API for an approved request, once; audit it; tell the room."""
    job = get_current_job()
    return carry_out_with(job.connection, Config.from_env(), request_id,
                          last_attempt=not job.retries_left)


def carry_out_with(conn: Redis, config: Config, request_id: str, last_attempt: bool = True) -> str:
    request = get(conn, request_id)
    if request is None:
        return f"request {request_id} is gone"
    if request["state"] == "done":
        return f"already done: {request['outcome']}"
    if request["state"] != "approved":
        return f"not approved ({request['state']}): nothing done"
    try:
        outcome = _perform(request, config)
    except (Retryable, Later) as exc:
        if not last_attempt:
            raise Retryable(str(exc)) from None
        return _finish(conn, config, request, "failed", f"failed: {exc}")
    except Permanent as exc:
        return _finish(conn, config, request, "failed", f"failed: {exc}")
    return _finish(conn, config, request, "done", outcome)


def _perform(request: dict, config: Config) -> str:
    target, kind = request["target"], request["kind"]
    if kind == "close_pr":
        note = (f"Closed by Sparky: no activity for {request.get('idle_days') or 'many'} days; "
                f"approved by {request['decided_by']} in chat ({request['id']}).")
        with github.client(config) as gh:
            return github.close_pull_request(gh, target["repo"], target["pr"], note)
    if kind == "archive_repo":
        with github.client(config) as gh:
            return github.archive_repository(gh, target["repo"])
    if kind == "delete_node":
        with chef.client(config) as api:
            return chef.delete_node(api, target["node"])
    if kind == "delete_artifact":
        with artifactory.client(config) as art:
            return artifactory.delete_artifact(art, target["path"])
    raise Permanent(f"unknown request kind {kind!r}")


def _finish(conn: Redis, config: Config, request: dict, state: str, outcome: str) -> str:
    request = {**request, "state": state, "outcome": outcome, "done_at": utcnow()}
    _save(conn, request)
    brain.audit(conn, f"stale.{state}", request=request["id"], kind=request["kind"],
                subject=request["subject"], who=request["decided_by"], outcome=outcome,
                rule=request.get("rule", ""))
    if request.get("room"):
        mark = ":white_check_mark:" if state == "done" else ":x:"
        try:
            chat.send(conn, config, chat.Message(
                room=request["room"], key=f"stale-request:{request['id']}:{state}",
                text=f"{mark} `{request['id']}`: {outcome}", url=request.get("url", "")))
        except Exception as exc:  # noqa: BLE001  the clean-up is done and audited; the notice is a courtesy
            log.warning("could not tell %s about %s: %s", request["room"], request["id"], exc)
    return outcome
