"""Deploy commands (SPEC §6, §7): deploy, deploys, lock, unlock, bypass, next release, how to release;
and deploy requests (`dp-…`) for the shared `approve` / `deny` (router/commands/approve.py).

The work is router/deploys; these functions parse, check permissions.yml (per environment:
`args: {env: production}`), and answer. A permissions.yml refusal names its entry. `ask` and
`decide` are that check plus the work, without the parsing: the HTTP API (router/api/deploys.py)
calls them too, so a deploy asked for or approved over HTTP is checked as one from chat.
"""
from __future__ import annotations

from router.commands.approve import Approvable
from router.commands.context import Context
from router.commands.declare import Refused, Reply, UsageError, command
from router.commands.parse import keyword_split, words
from router.core.durations import humanize
from router.deploys import approvals, apps, locks, messages, releases
from router.deploys import records as reqs
from router.deploys.approvals import Refusal


def _authorize(ctx: Context, **args: str) -> None:
    try:
        ctx.authorize(**args)
    except Refused as refused:
        raise Refused(f"{refused.reason} ({refused.rule})", refused.rule) from None


def _refused(exc: Refusal) -> Refused:
    return Refused(str(exc), kind=exc.kind)


def ask(ctx: Context, app: str, ref: str, env: str) -> dict:
    """Ask for a deploy as the caller, within permissions.yml (by `env` and `app`): the one path for
    chat and `POST /api/deploys`. Returns the request as the deploy ruleset left it (it may be
    `refused` by a rule: that is an answer, not an error); raises Refused."""
    _authorize(ctx, env=env, app=app)
    try:
        return approvals.ask(ctx.conn, ctx.config, ctx.data, app, ref, env, ctx.who.name, ctx.room, now=ctx.now)
    except Refusal as exc:
        raise _refused(exc) from None


def decide(ctx: Context, request_id: str, approve: bool, reason: str) -> str:
    """Approve or deny a request as the caller, within permissions.yml (by the request's env and
    app) and the request's own rules (not the requester, one of its approvers): the one path for
    chat, the Slack buttons and `POST /api/deploys/<id>/approve`. Returns what to tell them."""
    request = reqs.get(ctx.conn, request_id, now=ctx.now)
    if request is None:
        raise Refused(f"There is no deploy request `{request_id}` (`deploys` lists them).", kind="missing")
    _authorize(ctx, env=request["env"], app=request["app"])
    try:
        if approve:
            return approvals.approve(ctx.conn, ctx.config, ctx.data, request["id"], ctx.who.name, ctx.where(),
                                     now=ctx.now)
        return approvals.deny(ctx.conn, ctx.config, ctx.data, request["id"], ctx.who.name, reason, ctx.where(),
                              now=ctx.now)
    except Refusal as exc:
        raise _refused(exc) from None


def _env_known(ctx: Context, env: str) -> None:
    known = sorted({e for app in apps.apps(ctx.data).values() for e in app.environments})
    if known and env not in known:
        raise UsageError(f"No app deploys to `{env}` (environments: {', '.join(known)}).")


@command("deploy", public=True)
def deploy(ctx: Context, args: str) -> Reply:
    """Ask for a deploy; the deploy ruleset decides: go, wait (for approvals, CI...) or refuse.

    Usage: deploy <app>[/<ref>] to <env>

    The ref (a branch, tag or commit; by default the app's `branch` in deploy.yml, else the repo's
    default branch) is resolved to a commit at once: that commit is what is approved and deployed.
    The verdict is posted to the room with the rule that decided it; a request that waits for
    approvals gets Approve / Deny buttons (or `approve <id>`, `deny <id>`). Progress and the
    result of the deploy follow in the room.

    Examples:
      deploy web-api to staging
      deploy web-api/release-1.4 to production
    """
    try:
        asked = apps.parse(words(args))
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    request = ask(ctx, asked.app, asked.ref, asked.env)
    if request["state"] == "refused":
        return Reply(f"{messages.head(request)} refused by rule `{request['rule']}`: {request['reason']}",
                     outcome="refused", public=True)
    return Reply(f"{ctx.who.name} asks to deploy {messages.head(request)}; the deploy rules' answer follows.",
                 public=True)


def _age(request: dict, now: float) -> str:
    return humanize(now - request["created"]) + " ago"


def _line(request: dict, now: float) -> str:
    state = request["state"].replace("_", " ")
    if request["state"] == "waiting":
        state += f" for {'; '.join(request['waiting_for'])}"
    elif request["state"] == "refused":
        state += f" by rule `{request['rule']}`: {request['reason']}"
    elif request["state"] == "denied":
        state += f" by {request['decided_by']}"
    elif request["state"] in ("succeeded", "failed", "timed_out") and request.get("outcome"):
        state += f" ({request['outcome']})"
    bypass = f", bypassed by {request['bypassed_by']}" if request.get("bypassed_by") else ""
    return f"{messages.head(request)}: {state} ({request['requester']}, {_age(request, now)}{bypass})"


@command("deploys")
def deploys(ctx: Context, args: str) -> Reply:
    """Recent deploy requests (of one app), and the environments locked now.

    Usage: deploys [app]

    Examples:
      deploys
      deploys web-api
    """
    tokens = words(args)
    if len(tokens) > 1:
        raise UsageError("Name one app at most.")
    app = tokens[0] if tokens else ""
    if app and apps.find(ctx.data, app) is None:
        raise UsageError(f"deploy.yml has no app `{app}` (known: {', '.join(sorted(apps.apps(ctx.data))) or 'none'}).")
    found = reqs.recent(ctx.conn, 10, app=apps.find(ctx.data, app).name if app else "", now=ctx.now)
    lines = [("Recent deploys" + (f" of {app}" if app else "") + ":") if found else
             "No deploy requests" + (f" for {app}" if app else "") + " yet."]
    lines += [_line(r, ctx.now) for r in found]
    held = locks.env_locks(ctx.conn)
    if held:
        lines.append("Locked: " + "; ".join(f"{lock['env']} by {locks.describe(lock)}" for lock in held))
    return Reply("\n".join(lines))


@command("lock", public=True)
def lock(ctx: Context, args: str) -> Reply:
    """Lock an environment: no deploy starts there (for any app) until `unlock <env>`.

    Usage: lock <env> [reason]

    Examples:
      lock production database migration until 15:00
    """
    tokens = words(args)
    if not tokens:
        raise UsageError("Lock which environment?")
    env, reason = tokens[0], " ".join(tokens[1:])
    if reason.lower().startswith("because "):
        reason = reason[len("because "):]
    _env_known(ctx, env)
    _authorize(ctx, env=env)
    held = locks.lock_env(ctx.conn, env, ctx.who.name, reason, now=ctx.now)
    if held:
        raise Refused(f"{env} is locked already by {locks.describe(held)}.")
    ctx.audit("deploy.locked", env=env, reason=reason)
    because = f" ({reason})" if reason else ""
    return Reply(f":lock: {ctx.who.name} locked {env}{because}: no deploy starts there until `unlock {env}`.",
                 public=True)


@command("unlock", public=True)
def unlock(ctx: Context, args: str) -> Reply:
    """Unlock an environment locked with `lock`.

    Usage: unlock <env>

    A deploy running there keeps its own lock until it finishes or times out.

    Examples:
      unlock production
    """
    tokens = words(args)
    if len(tokens) != 1:
        raise UsageError("Unlock which environment?")
    env = tokens[0]
    _authorize(ctx, env=env)
    held = locks.unlock_env(ctx.conn, env)
    if not held:
        return Reply(f"{env} is not locked.")
    ctx.audit("deploy.unlocked", env=env, reason=held.get("reason", ""), locked_by=held["by"])
    running = [f"`{h}`" for a in apps.apps(ctx.data).values() if (h := locks.holder(ctx.conn, a.name, env))]
    busy = f" ({', '.join(running)} still deploying there)" if running else ""
    return Reply(f":unlock: {ctx.who.name} unlocked {env} (locked by {locks.describe(held)}){busy}.", public=True)


@command("bypass", public=True)
def bypass(ctx: Context, args: str) -> Reply:
    """Override the deploy gates for a request: announced to the room, audited.

    Usage: bypass <deploy id> because <reason>

    Only for the people and groups deploy.yml's `bypass: {allow: [...]}` names. It overrides what
    the deploy ruleset decided (a refusal, or waiting), not locks: a locked environment or a
    deploy in progress still stops it.

    Examples:
      bypass dp-4k7q2x because hotfix for the checkout outage, CI infra is down
    """
    before, keyword, after = keyword_split(words(args), "because")
    if len(before) != 1:
        raise UsageError("Name one deploy request: `bypass <deploy id> because <reason>`.")
    request = reqs.get(ctx.conn, before[0], now=ctx.now)
    if request is None:
        raise UsageError(f"There is no deploy request `{before[0]}` (`deploys` lists them).")
    _authorize(ctx, env=request["env"], app=request["app"])
    try:
        text = approvals.bypass(ctx.conn, ctx.config, ctx.data, request["id"], ctx.who.name, " ".join(after),
                                room=ctx.where(), now=ctx.now)
    except Refusal as exc:
        raise _refused(exc) from None
    return Reply(text, public=True)


@command("next", public=True)
def next_release(ctx: Context, args: str) -> Reply:
    """When the next release is (deploy.yml's calendar), and the freeze in force or coming.

    Usage: next release
    """
    if words(args) not in ([], ["release"], ["releases"]):
        raise UsageError("Did you mean `next release`?")
    return Reply(releases.next_release(ctx.data, ctx.now, ctx.tz))


@command("how", public=True)
def how(ctx: Context, args: str) -> Reply:
    """How to release a repo: its default branch (from GitHub) and its release steps (deploy.yml).

    Usage: how to release <repo or app>

    Examples:
      how to release acme/web-api
      how to release web-api
    """
    tokens = words(args)
    if [t.lower() for t in tokens[:2]] != ["to", "release"] or len(tokens) != 3:
        raise UsageError("Ask `how to release <repo or app>`.")
    try:
        return Reply(releases.how_to_release(ctx.conn, ctx.config, ctx.data, tokens[2]))
    except ValueError as exc:
        raise UsageError(str(exc)) from None


# -- deploy requests for `approve` / `deny` ----------------------------------------------------------

def _decide(ctx: Context, request_id: str, approve: bool, reason: str) -> Reply:
    return Reply(decide(ctx, request_id, approve, reason), public=True)


def _pending(ctx: Context) -> list[str]:
    return approvals.pending_for(ctx.conn, ctx.data, ctx.who.name, now=ctx.now)


# Registered by router/commands/plugin.py: `approve dp-…` and `deny dp-…`.
DEPLOY_REQUESTS = Approvable(prefix=reqs.PREFIX, noun="deploy", decide=_decide, pending=_pending)
