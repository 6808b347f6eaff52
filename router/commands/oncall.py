"""`oncall`: who is on call now and next (oncall.yml schedules), and overrides made from chat.

An override made here is kept in the brain (router/core/brain/oncall.py) and read with every
question of who is on call — by this command, by `@oncall` in a message being sent, by an
escalation step. Making one goes through permissions.yml with the argument `action: override`
(and `schedule: <name>`), so a file can let everyone ask and only some override; it is audited.
"""
from __future__ import annotations

from router.commands.context import Context
from router.commands.declare import Refused, Reply, UsageError, command
from router.commands.parse import keyword_split, words
from router.core import brain
from router.core.durations import DurationError, humanize, local_time, resolve
from router.core.times import from_epoch
from router.oncall import rota
from router.oncall.schedule import now_and_next

OVERRIDE_HINT = "oncall override <person> [on <schedule>[/<layer>]] for 4h [because <reason>]"


@command("oncall", public=True)
def oncall(ctx: Context, args: str) -> Reply:
    """Who is on call now, who is next and from when; or put someone on call for a while.

    Usage: oncall [schedule]
           oncall override <person> [on <schedule>[/<layer>]] for <duration> [because <reason>]
           oncall override <person> [on <schedule>[/<layer>]] until <time> [because <reason>]

    Schedules, layers (primary, secondary, ...) and rotations are in oncall.yml. An override
    puts a person on a layer (default: the first schedule's first layer) from now on; the
    latest override wins where several cover the same time.

    Examples:
      oncall
      oncall web
      oncall override bob for 4h because alice is on a plane
      oncall override carol on web/secondary until tomorrow 09:00
    """
    tokens = words(args)
    if tokens and tokens[0].lower() == "override":
        return _override(ctx, tokens[1:])
    if len(tokens) > 1:
        raise UsageError("Give one schedule, e.g. `oncall web`.")
    ctx.authorize(action="show")
    specs = ctx.data.get("schedules") or {}
    if not specs:
        return Reply("No schedules: add them to oncall.yml in the rules dir (see docs/oncall.md).", public=True)
    names = tokens or list(specs)
    unknown = [n for n in names if n not in specs]
    if unknown:
        raise UsageError(f'No schedule "{unknown[0]}" (known: {", ".join(specs)}).')
    built = rota.schedules(ctx.data)
    lines = []
    for name in names:
        schedule = rota.with_chat_overrides(ctx.conn, built[name])
        lines.append(f"*{name}*")
        for layer in schedule.layers:
            current, later = now_and_next(schedule, layer, ctx.now)
            note = " (override)" if current.override else ""
            gap = f"nobody (outside {schedule.layers[layer].during})"
            then = (f" until {local_time(later.start, ctx.tz, ctx.now)}, then {later.who or gap}"
                    if later else "")
            lines.append(f"  {layer}: {current.who or gap}{note}{then}")
    return Reply("\n".join(lines), public=True)


def _override(ctx: Context, tokens: list[str]) -> Reply:
    head, because, reason_words = keyword_split(tokens, "because")
    reason = " ".join(reason_words).strip()
    if because and not reason:
        raise UsageError("`because` needs a reason after it.")
    target, keyword, when = keyword_split(head, "for", "until")
    if not keyword or not when:
        raise UsageError(f"For how long? Say e.g. `{OVERRIDE_HINT}`.")
    person_words, on, where = keyword_split(target, "on")
    if len(person_words) != 1 or (on and len(where) != 1):
        raise UsageError(f"Name one person (and at most one schedule): `{OVERRIDE_HINT}`.")
    person = person_words[0].lstrip("@")
    try:
        schedule, layer = rota.target(ctx.data, *((where[0].split("/", 1) + [""])[:2] if on else ("", "")))
    except rota.UnknownSchedule as exc:
        raise UsageError(f"{exc}.") from None
    if person not in (ctx.data.get("people") or {}):
        raise Refused(f'"{person}" is not in people.yml: only a person there can be on call.', kind="invalid")
    try:
        until = resolve(when, ctx.now, ctx.tz, keyword)
    except DurationError as exc:
        raise UsageError(str(exc)) from None
    ctx.authorize(action="override", schedule=schedule)
    record = brain.add_override(ctx.conn, schedule, {
        "layer": layer, "who": person, "start": ctx.now, "end": until.ends_at, "by": ctx.who.name,
        "reason": reason, "made": ctx.now}, ctx.now)
    ctx.audit("oncall.override", what=f"{person} on call for {schedule}/{layer} until {from_epoch(until.ends_at)}",
              schedule=schedule, layer=layer, person=person, ends_at=from_epoch(until.ends_at), reason=reason,
              override=record["id"], outcome="ok", rule=ctx.rule)
    ends = local_time(until.ends_at, ctx.tz, ctx.now)
    why = f" ({reason})" if reason else ""
    return Reply(f"{person} is on call for {schedule}/{layer} until {ends} ({humanize(until.seconds)}){why}.",
                 public=True)
