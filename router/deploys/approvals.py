"""What people do to deploy requests from chat: ask, approve, deny, bypass.

The chat commands (router/commands/deploy.py) parse and check permissions.yml; these functions
check the request's own rules and change it. A `Refusal` says, for the chat reply, why not.

- approve: the request is open; the approver is not the requester ("your own approval does not
  count"); when the ruleset named approvers, the approver is one of them. An approval is for the
  request's current sha. The request is then evaluated again (it may go now).
- deny: by the requester (withdrawing it), one of its approvers, or someone who may bypass; with
  no approvers named yet, by anyone permissions.yml lets run `deny`.
- bypass: by the people or groups deploy.yml's `bypass: {allow: [...]}` names, with a reason
  (unless `reason_required: false`), on an open request (new, waiting or refused). It overrides
  the ruleset's verdict, not locks: a locked environment or a deploy in progress still refuses.
  It is announced to the room with the reason and audited.
"""
from __future__ import annotations

import time

from redis import Redis

from router.core import brain
from router.core.config import Config
from router.deploys import apps, facts, github, lifecycle, messages
from router.deploys import records as reqs
from router.jobs import policy


class Refusal(Exception):
    """Not allowed or not possible; the message is the chat reply. `kind` is what sort of no it
    is (router.commands.Refused's kinds: forbidden, conflict, missing, invalid, upstream)."""

    def __init__(self, message: str, kind: str = "forbidden"):
        super().__init__(message)
        self.kind = kind


def _open(request: dict | None, request_id: str, doing: str) -> dict:
    if request is None:
        raise Refusal(f"There is no deploy request `{request_id}` (`deploys` lists them).", "missing")
    state = request["state"]
    if state == "deploying":
        raise Refusal(f"`{request['id']}` is deploying already: nothing to {doing}.", "conflict")
    if state in reqs.CLOSED:
        raise Refusal(f"`{request['id']}` is {state.replace('_', ' ')}: nothing to {doing}.", "conflict")
    return request


def ask(conn: Redis, config: Config, data: dict, app_name: str, ref: str, env: str, requester: str, room: str,
        now: float | None = None) -> dict:
    """Create a request (the ref resolved to a sha) and run it through the deploy ruleset."""
    now = time.time() if now is None else now
    app = apps.find(data, app_name)
    if app is None:
        known = ", ".join(sorted(apps.apps(data))) or "none"
        raise Refusal(f"deploy.yml has no app `{app_name}` (known: {known}).", "invalid")
    if env not in app.environments:
        raise Refusal(f"{app.name} deploys to {', '.join(app.environments)}, not `{env}`.", "invalid")
    try:
        ref = ref or app.branch or github.default_branch(conn, config, app.repo)
        sha = ref.lower() if apps.is_sha(ref) else github.resolve(conn, config, app.repo, ref)
    except github.GitHubError as exc:
        raise Refusal(f"Cannot tell which commit to deploy: {exc}.", "upstream") from None
    request = reqs.create(conn, app=app.name, repo=app.repo, ref=ref, sha=sha, env=env, requester=requester,
                          room=room, now=now)
    brain.audit(conn, "deploy.requested", request=request["id"], app=app.name, env=env, sha=sha, ref=ref,
                requester=requester, who=requester, room=room)
    # Watch its facts before the gates read them: a CI result landing in between is not missed.
    with conn.pipeline(transaction=False) as pipe:
        facts.watch(pipe, request, ("sha", "app", "ref"))
        pipe.execute()
    lifecycle.evaluate(conn, config, request["id"], "request", now=now)
    return reqs.get(conn, request["id"], now=now)


def approve(conn: Redis, config: Config, data: dict, request_id: str, who: str, room: str = "",
            now: float | None = None) -> str:
    now = time.time() if now is None else now
    request = _open(reqs.get(conn, request_id, now=now), request_id, "approve")
    if request["state"] == "refused":
        raise Refusal(f"`{request['id']}` was refused by rule `{request['rule']}`: {request['reason']}. "
                      f"Approvals cannot change that; ask for it again, or `bypass` it.", "conflict")
    if who == request["requester"]:
        raise Refusal(f"You asked for `{request['id']}`: your own approval does not count. "
                      + _who_approves(request))
    groups = data.get("groups") or {}
    named = [n["approvers"] for n in request.get("requirements", []) if n.get("approvers")]
    if named and not any(reqs.is_member(who, [g], groups) for g in named):
        raise Refusal(f"`{request['id']}` needs approvals from {', '.join(named)}; {who} is not one of them.")

    def add(r: dict) -> bool:
        if r["state"] not in ("new", "waiting"):
            raise reqs.Unchanged("closed")
        if any(a["by"] == who and a["sha"] == r["sha"] and now - a["at"] < _expire(r) for a in r["approvals"]):
            raise reqs.Unchanged("twice")
        r["approvals"] = [a for a in r["approvals"] if a["by"] != who] + [{"by": who, "at": now, "sha": r["sha"]}]
        return True

    request, answer = reqs.update(conn, request["id"], add, now=now)
    if answer == "closed":
        raise Refusal(f"`{request['id']}` is {request['state']} now: nothing to approve.", "conflict")
    if answer == "twice":
        return f"You approved `{request['id']}` already."
    brain.audit(conn, "deploy.approved", request=request["id"], app=request["app"], env=request["env"],
                sha=request["sha"], requester=request["requester"], who=who, room=room)
    lifecycle.evaluate(conn, config, request["id"], "approval", now=now)
    still = reqs.missing(reqs.get(conn, request["id"], now=now) or request, groups, now)
    tally = f" Still needed: {'; '.join(still)}." if still else ""
    return f"{who} approved {messages.head(request)}.{tally}"


def _expire(request: dict) -> float:
    return max([n["expire"] for n in request.get("requirements", [])] or [reqs.DEFAULT_EXPIRE])


def _who_approves(request: dict) -> str:
    named = [n["approvers"] for n in request.get("requirements", []) if n.get("approvers")]
    return f"Someone from {', '.join(named)} must approve it." if named else "Someone else must approve it."


def deny(conn: Redis, config: Config, data: dict, request_id: str, who: str, reason: str = "", room: str = "",
         now: float | None = None) -> str:
    now = time.time() if now is None else now
    request = _open(reqs.get(conn, request_id, now=now), request_id, "deny")
    groups = data.get("groups") or {}
    named = [n["approvers"] for n in request.get("requirements", []) if n.get("approvers")]
    deciders = named + list((data.get("bypass") or {}).get("allow") or [])
    if named and who != request["requester"] and not reqs.is_member(who, deciders, groups):
        raise Refusal(f"`{request['id']}` can be denied by {request['requester']} (who asked), "
                      f"{', '.join(deciders)}; {who} is not one of them.")

    def close(r: dict) -> bool:
        if r["state"] not in reqs.OPEN:
            raise reqs.Unchanged(False)
        r.update(state="denied", decided_by=who, decision_reason=reason, waiting_for=[])
        return True

    request, closed = reqs.update(conn, request["id"], close, now=now)
    if not closed:
        raise Refusal(f"`{request['id']}` is {request['state']} now: nothing to deny.", "conflict")
    lifecycle.closed(conn, request)
    brain.audit(conn, "deploy.denied", request=request["id"], app=request["app"], env=request["env"],
                sha=request["sha"], requester=request["requester"], who=who, reason=reason, room=room)
    because = f": {reason}" if reason else ""
    app = apps.find(data, request["app"])
    messages.post(conn, request, "denied", f"{messages.head(request)} denied by {who}{because}.",
                  emoji=":no_entry_sign:", mention=f"@{request['requester']}", app_room=app.room if app else "")
    what = "withdrew" if who == request["requester"] else "denied"
    return f"{who} {what} {messages.head(request)}{because}."


def bypass(conn: Redis, config: Config, data: dict, request_id: str, who: str, reason: str, room: str = "",
           now: float | None = None) -> str:
    now = time.time() if now is None else now
    rules = data.get("bypass") or {}
    allowed = list(rules.get("allow") or [])
    if not reqs.is_member(who, allowed, data.get("groups") or {}):
        whom = ", ".join(allowed) if allowed else "nobody (deploy.yml names no `bypass: {allow: [...]}`)"
        raise Refusal(f"`bypass` is for {whom}; {who} is not one of them (deploy.yml `bypass`).")
    if rules.get("reason_required", True) and not reason.strip():
        raise Refusal("Say why: `bypass <id> because <reason>`; the reason is announced and kept in the audit "
                      "trail.", "invalid")
    request = _open(reqs.get(conn, request_id, now=now), request_id, "bypass")
    before = (f"refused by rule `{request['rule']}`: {request['reason']}" if request["state"] == "refused"
              else f"waiting for {'; '.join(request['waiting_for'])}" if request["state"] == "waiting"
              else "not decided yet")

    def mark(r: dict) -> bool:
        if r["state"] not in reqs.OPEN:
            raise reqs.Unchanged(False)
        r.update(bypassed_by=who, bypass_reason=reason)
        return True

    request, marked = reqs.update(conn, request["id"], mark, now=now)
    if not marked:
        raise Refusal(f"`{request['id']}` is {request['state']} now: nothing to bypass.", "conflict")
    brain.audit(conn, "deploy.bypassed", request=request["id"], app=request["app"], env=request["env"],
                sha=request["sha"], requester=request["requester"], who=who, reason=reason, room=room,
                rule=request.get("rule", ""), was=before)
    named = sorted({n["approvers"] for n in request.get("requirements", []) if n.get("approvers")})
    mention = " ".join([f"@{request['requester']}"] + [f"@{g}" for g in named])
    app = apps.find(data, request["app"])
    messages.post(conn, request, "bypassed",
                  f"BYPASS: {who} overrides the deploy gates for {messages.head(request)} (it was {before}) "
                  f"because {reason or 'no reason given'}.", emoji=":rotating_light:", mention=mention,
                  context="bypass · audited", app_room=app.room if app else "")
    policy.enqueue(conn, lifecycle.bypass_job, request["id"], policy=policy.DEPLOY,
                   job_id=f"sparky-deploy-bypass-{request['id']}", description=f"deploy {request['id']}: bypass")
    return f"{who} bypassed the gates of {messages.head(request)} because {reason}; starting it now."


def pending_for(conn: Redis, data: dict, who: str, now: float | None = None) -> list[str]:
    """Lines for `approve` without an id: the waiting requests `who` could approve."""
    now = time.time() if now is None else now
    groups = data.get("groups") or {}
    lines = []
    for request in reqs.recent(conn, 50, now=now):
        if request["state"] != "waiting" or request["requester"] == who:
            continue
        named = [n["approvers"] for n in request.get("requirements", []) if n.get("approvers")]
        if named and not any(reqs.is_member(who, [g], groups) for g in named):
            continue
        lines.append(f"{messages.head(request)} (asked by {request['requester']}): waits for "
                     f"{'; '.join(request['waiting_for'])}")
    return lines
