"""`execute(conn, config, signal) -> Reply`: one chat command, from any channel, start to end.

1. The text is decoded (parse.py) and split into a command name and its arguments.
2. The rules in force are read (router.engine.store: people, permissions, guardrails, hot-reloaded).
3. The caller is identified and the command looked up; unknown names get "did you mean".
4. permissions.yml is checked for the command here; the command checks its arguments itself
   (`ctx.authorize(env=...)`) once it knows them.
5. The command runs; every command is audited with its outcome (ok, refused, usage, unknown, error).
A chat user never sees a traceback: an exception becomes a short apology with an error id, and
the traceback goes to the log under that id.

Steps 3–5 are `run_checked`, which the HTTP API's writes share through `run_as` (router/api/acting.py):
a snooze or an approval made over HTTP meets the same identity lookup, permissions.yml check,
command function and audit entries as one typed in chat (channel `api`).
"""
from __future__ import annotations

import logging
import time
import uuid
from typing import Callable, TypeVar

from redis import Redis
from redis.exceptions import RedisError

from router.commands import packs, parse, permissions
from router.commands.channels import chat_signal
from router.commands.context import Context
from router.commands.declare import Command, Refused, Reply, UsageError, one_of, suggest
from router.core import brain
from router.core.config import Config
from router.core.registry import current
from router.engine import RulesUnavailable, store

T = TypeVar("T")

log = logging.getLogger("sparky.commands")

SLACK_CHANNELS = frozenset({"slash", "mention", "dm", "button"})   # sources/slack.py's `channel` label
XMPP_CHANNEL = "xmpp"  # commands said to `sparky xmpp`, in a room or directly (router/chat/xmpp/)
# The channel → the people.yml field that alone identifies its caller (the platform vouches for it).
IDENTITY_FIELD = {**{channel: "slack" for channel in SLACK_CHANNELS}, XMPP_CHANNEL: "xmpp"}
API_CHANNEL = "api"    # the write endpoints of /api (router/*_api.py), acting for a named person

def rules_data(conn: Redis, config: Config) -> tuple[dict, str]:
    """(data files and extras of the rules in force, their version); RulesUnavailable if none."""
    rules = store.current(conn, config.rules_dir, poll=config.rules_poll)
    return rules.data, rules.version


def _remember_room_name(conn: Redis, labels: dict) -> None:
    room, name = labels.get("room", ""), labels.get("room_name", "")
    if room and name and room != name and labels.get("channel") in ("slash", "button"):
        conn.hset(brain.key_room_names(), room, name)


def context_for(conn: Redis, config: Config, signal: dict, data: dict, version: str,
                now: float | None = None) -> Context:
    labels = signal.get("labels") or {}
    pol = permissions.policy(data)
    who = permissions.identify(pol, labels.get("user", ""), via=IDENTITY_FIELD.get(labels.get("channel", ""), ""))
    return Context(conn=conn, config=config, signal=signal, who=who, policy=pol, data=data,
                   rules_version=version, now=time.time() if now is None else now)


def execute(conn: Redis, config: Config, signal: dict, now: float | None = None) -> Reply:
    """Run the command in a chat signal and return the reply; never raises."""
    ctx = None
    try:
        ctx, reply = _execute(conn, config, signal, now)
    except Exception as exc:  # noqa: BLE001  the one place that turns any failure into an apology
        error_id = f"E-{uuid.uuid4().hex[:8]}"
        log.exception("command %r (signal %s) failed: error id %s", (signal or {}).get("text", ""),
                      (signal or {}).get("id", ""), error_id)
        brain_down = isinstance(exc, RedisError)
        reply = Reply(("Sorry: Sparky's brain (Redis) is unreachable right now; try again in a minute"
                       if brain_down else "Sorry, something went wrong running that command")
                      + f" (error {error_id}, logged).", outcome="error", error_id=error_id)
        if not brain_down:
            try:
                _audit_command(conn, ctx, signal, reply.outcome, reason=f"{type(exc).__name__}",
                               error=reply.error_id)
            except Exception:  # noqa: BLE001
                log.exception("could not audit failed command %s", error_id)
    return reply


def _execute(conn: Redis, config: Config, signal: dict, now: float | None) -> tuple[Context | None, Reply]:
    labels = signal.get("labels") or {}
    _remember_room_name(conn, labels)
    try:
        data, version = rules_data(conn, config)
    except RulesUnavailable as exc:
        reply = Reply("Sparky's rules cannot be loaded right now, so commands are off until they can: "
                      f"{exc.problems[0] if exc.problems else exc}. Run `sparky rules check`.", outcome="refused")
        _audit_command(conn, None, signal, reply.outcome, reason="rules unavailable")
        return None, reply
    ctx = context_for(conn, config, signal, data, version, now)
    name, args = parse.split_command(signal.get("text") or "")
    name = name or "help"
    found = packs.find(ctx.data, name)
    if found is None:
        reply = _unknown(ctx, name)
        _audit_command(conn, ctx, signal, reply.outcome, command=name)
        return ctx, reply
    try:
        reply = run_checked(ctx, found, lambda: found.func(ctx, args), outcome=lambda r: r.outcome)
    except Refused as refused:
        reply = Reply(f"Refused: {refused.reason}", outcome="refused")
    except UsageError as wrong:
        reply = Reply(f"{wrong}\nUsage: {found.usage}  (more: `help {found.name}`)", outcome="usage")
    return ctx, reply


def run_checked(ctx: Context, found: Command, work: Callable[[], T],
                outcome: Callable[[T], str] = lambda _: "ok") -> T:
    """The steps every command takes, from chat or from the HTTP API: permissions.yml for the
    command here, then the work (which checks its arguments itself with `ctx.authorize`), and one
    `command` audit entry with the outcome. Refused and UsageError are audited, then raised again."""
    ctx.command = found
    verdict = permissions.check(ctx.policy, ctx.who, found.name, ctx.rooms(), ctx.where())
    ctx.rule = verdict.rule
    try:
        if not verdict.allowed:
            raise Refused(verdict.reason, verdict.rule)
        result = work()
    except Refused as refused:
        ctx.rule = refused.rule or ctx.rule
        _audit_command(ctx.conn, ctx, ctx.signal, "refused", command=found.name, reason=refused.reason)
        raise
    except UsageError as wrong:
        _audit_command(ctx.conn, ctx, ctx.signal, "usage", command=found.name, reason=str(wrong))
        raise
    _audit_command(ctx.conn, ctx, ctx.signal, outcome(result), command=found.name)
    return result


def run_as(conn: Redis, config: Config, user: str, name: str, what: str, work: Callable[[Context], T],
           room: str = "", now: float | None = None, outcome: Callable[[T], str] = lambda _: "ok") -> T:
    """Do command `name`'s work for the HTTP API, as `user`, exactly as chat would check and audit it.

    `what` is the command as a person would have typed it: it is only shown in the audit trail.
    `room` (optional) is where the API caller acts from: permissions.yml `rooms:` entries are
    checked against it and news (snooze reminders, deploy progress) goes there. Raises
    RulesUnavailable (no rules in force), Refused or UsageError; returns what `work` returns.
    """
    data, version = rules_data(conn, config)
    signal = chat_signal(API_CHANNEL, what, room, user).to_dict()
    # Not a stored signal (nothing to evaluate or `why`): an id would point at nothing.
    signal["id"] = ""
    ctx = context_for(conn, config, signal, data, version, now)
    try:
        return run_checked(ctx, packs.everything(ctx.data)[name], lambda: work(ctx), outcome)
    except (Refused, UsageError, RedisError):
        raise
    except Exception as exc:
        # Audited like a chat command that failed; the caller answers 500 and logs the traceback.
        _audit_command(conn, ctx, signal, "error", command=name, reason=type(exc).__name__)
        raise


def _unknown(ctx: Context, name: str) -> Reply:
    known = sorted(packs.everything(ctx.data))
    mine = [c for c in known if permissions.check(ctx.policy, ctx.who, c, ctx.rooms(), ctx.where()).allowed]
    close = suggest(name, mine or known)
    shown = name if len(name) <= 40 else name[:39] + "…"
    if name in current().planned:
        text = f"`{shown}` is not available in this Sparky yet."
    else:
        text = f"I don't know the command `{shown}`."
    if close:
        text += f" Did you mean {one_of(close)}?"
    return Reply(text + " Type `help` for the commands you can run.", outcome="unknown")


def _audit_command(conn: Redis, ctx: Context | None, signal: dict, outcome: str, command: str = "",
                   reason: str = "", error: str = "") -> None:
    signal = signal or {}
    labels = signal.get("labels") or {}
    fields = {"what": (signal.get("text") or "")[:500], "command": command, "outcome": outcome,
              "reason": reason[:500], "error": error}
    if ctx is not None:
        ctx.audit("command", rule=ctx.rule, **fields)
    else:
        brain.audit(conn, "command", who=labels.get("user_name") or labels.get("user", ""),
                    user=labels.get("user", ""), room=labels.get("room_name") or labels.get("room", ""),
                    channel=labels.get("channel", ""), signal=signal.get("id", ""), rule="", **fields)

