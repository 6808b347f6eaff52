"""`oncall`: who is on call now and next (oncall.yml schedules), and overrides made from chat.

An override made here is kept in the brain (router/core/brain/oncall.py) and read with every
question of who is on call — by this command, by `@oncall` in a message being sent, by an
escalation step. Making one goes through permissions.yml with the argument `action: override`
(and `schedule: <name>`), so a file can let everyone ask and only some override; it is audited.

`oncall swap <date> with <person>`: the caller's turn on that day (the turn holding the layer's
handoff time that day) for the other person's next turn after it. It is a request (`sw-…`) the
other person accepts with `approve sw-…` (or turns down with `deny`; the asker may withdraw it
with `deny`); on approval it becomes two overrides — the other person on the caller's turn, the
caller on theirs. Asking goes through permissions.yml with `action: swap`; asking and deciding
are audited.
"""
from __future__ import annotations

import datetime as dt
import json

from router.commands.approve import Approvable
from router.commands.context import Context
from router.commands.declare import Refused, Reply, UsageError, command
from router.commands.parse import keyword_split, words
from router.core import approvals, brain
from router.core.durations import DurationError, humanize, local_time, resolve
from router.core.times import from_epoch
from router.oncall import rota
from router.oncall.schedule import now_and_next, who

SWAP_HINT = "oncall swap <date> with <person> [on <schedule>[/<layer>]] [because <reason>]"
DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
SWAPS = approvals.Store(brain.SWAP_PREFIX, brain.key_oncall_swap, brain.SWAP_TTL)

OVERRIDE_HINT = "oncall override <person> [on <schedule>[/<layer>]] for 4h [because <reason>]"


@command("oncall", public=True)
def oncall(ctx: Context, args: str) -> Reply:
    """Who is on call now, who is next and from when; or put someone on call for a while.

    Usage: oncall [schedule]
           oncall override <person> [on <schedule>[/<layer>]] for <duration> [because <reason>]
           oncall override <person> [on <schedule>[/<layer>]] until <time> [because <reason>]
           oncall swap <date> with <person> [on <schedule>[/<layer>]] [because <reason>]

    Schedules, layers (primary, secondary, ...) and rotations are in oncall.yml. An override
    puts a person on a layer (default: the first schedule's first layer) from now on; the
    latest override wins where several cover the same time.

    Examples:
      oncall
      oncall web
      oncall override bob for 4h because alice is on a plane
      oncall override carol on web/secondary until tomorrow 09:00
      oncall swap 2026-12-24 with bob because family visit
    """
    tokens = words(args)
    if tokens and tokens[0].lower() == "override":
        return _override(ctx, tokens[1:])
    if tokens and tokens[0].lower() == "swap":
        return _swap(ctx, tokens[1:])
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


def _day(text: str, today: dt.date) -> dt.date:
    """`2026-12-24`, `today`, `tomorrow` or a weekday (the next one, today included)."""
    lowered = text.lower()
    if lowered in ("today", "tomorrow"):
        return today + dt.timedelta(days=lowered == "tomorrow")
    if lowered in DAYS or lowered[:3] in [d[:3] for d in DAYS] and len(lowered) == 3:
        wanted = [d[:3] for d in DAYS].index(lowered[:3])
        return today + dt.timedelta(days=(wanted - today.weekday()) % 7)
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise UsageError(f'"{text}" is not a day: say e.g. 2026-12-24, tomorrow or friday.') from None


def _swap(ctx: Context, tokens: list[str]) -> Reply:
    head, because, reason_words = keyword_split(tokens, "because")
    reason = " ".join(reason_words).strip()
    if because and not reason:
        raise UsageError("`because` needs a reason after it.")
    head, on, where = keyword_split(head, "on")
    day_words, with_, other_words = keyword_split(head, "with")
    if len(day_words) != 1 or not with_ or len(other_words) != 1 or (on and len(where) != 1):
        raise UsageError(f"Say which day and with whom: `{SWAP_HINT}`.")
    other = other_words[0].lstrip("@")
    try:
        schedule_name, layer = rota.target(ctx.data, *((where[0].split("/", 1) + [""])[:2] if on else ("", "")))
    except rota.UnknownSchedule as exc:
        raise UsageError(f"{exc}.") from None
    if other not in (ctx.data.get("people") or {}):
        raise Refused(f'"{other}" is not in people.yml: only a person there can be on call.', kind="invalid")
    if other == ctx.who.name:
        raise UsageError("Swap with someone else.")
    ctx.authorize(action="swap", schedule=schedule_name)
    schedule = rota.with_chat_overrides(ctx.conn, rota.schedules(ctx.data)[schedule_name])
    rotation = schedule.layers[layer]
    day = _day(day_words[0], dt.datetime.fromtimestamp(ctx.now, rotation.zone).date())
    moment = dt.datetime.combine(day, rotation.handoff, tzinfo=rotation.zone).timestamp()
    k, mine_start, mine_end = rotation.turn(moment)
    if mine_end <= ctx.now:
        raise UsageError(f"That turn is over ({local_time(mine_end, ctx.tz, ctx.now)}): swap one still to come.")
    if who(schedule, layer, moment) != ctx.who.name:
        raise Refused(f"{ctx.who.name} is not on call for {schedule_name}/{layer} on {day.isoformat()} "
                      f"({who(schedule, layer, moment) or 'nobody'} is): only your own turn can be swapped.",
                      kind="invalid")
    if other not in rotation.members:
        raise Refused(f"{other} is not in the {schedule_name}/{layer} rotation: "
                      f"`oncall override {other}` puts them on call instead.", kind="invalid")
    their_start, their_end = _next_turn_of(rotation, other, mine_end)
    request_id = SWAPS.new_id(ctx.conn)
    record = {"id": request_id, "schedule": schedule_name, "layer": layer, "by": ctx.who.name, "with": other,
              "date": day.isoformat(), "state": "pending", "made": ctx.now, "reason": reason, "room": ctx.room,
              "turns": [{"who": other, "start": mine_start, "end": mine_end},
                        {"who": ctx.who.name, "start": their_start, "end": their_end}]}
    SWAPS.save(ctx.conn, record)
    brain.index_swap(ctx.conn, request_id, ctx.now)
    ctx.audit("oncall.swap.asked", what=f"swap {schedule_name}/{layer} {_turns(record, ctx)}", schedule=schedule_name,
              layer=layer, person=other, request=request_id, reason=reason, outcome="ok", rule=ctx.rule)
    why = f" ({reason})" if reason else ""
    return Reply(f"{ctx.who.name} asks @{other} to swap on {schedule_name}/{layer}: {_turns(record, ctx)}{why}. "
                 f"@{other}: `approve {request_id}` to accept, `deny {request_id}` to decline.", public=True)


def _next_turn_of(rotation, person: str, after: float) -> tuple[float, float]:
    """(start, end) of `person`'s first turn of `rotation` starting at or after `after`."""
    at = after
    for _ in range(len(rotation.members) * 2):
        k, start, end = rotation.turn(at)
        if rotation.member(k) == person:
            return start, end
        at = end
    raise UsageError(f"{person} has no turn coming in this rotation.")


def _turns(record: dict, ctx: Context) -> str:
    mine, theirs = record["turns"]
    def span(t: dict) -> str:
        return f"{local_time(t['start'], ctx.tz, ctx.now)} to {local_time(t['end'], ctx.tz, ctx.now)}"
    return (f"{record['with']} takes {record['by']}'s turn {span(mine)}, "
            f"{record['by']} takes {record['with']}'s turn {span(theirs)}")


def _decide_swap(ctx: Context, request_id: str, approve: bool, reason: str) -> Reply:
    """`approve sw-…` by the person asked makes the two overrides; `deny` by them or the asker ends it."""
    me = ctx.who.name

    def change(record: dict) -> str:
        if record["state"] != "pending":
            raise approvals.Unchanged(f"`{record['id']}` is already {record['state']}.")
        if me != record["with"] and not (me == record["by"] and not approve):
            raise Refused(f"Only {record['with']} can {'accept' if approve else 'decline'} `{record['id']}`"
                          + ("" if approve else f" ({record['by']} can withdraw it)") + ".")
        record.update(state="approved" if approve else "denied", decided_by=me, decided_at=ctx.now,
                      decision_reason=reason)
        return ""

    try:
        record, already = SWAPS.update(ctx.conn, request_id, change, now=ctx.now)
    except LookupError:
        raise UsageError(f"No swap request `{request_id}` (they are kept {brain.SWAP_TTL // 86400} days).") from None
    if already:
        return Reply(already)
    if approve:
        made = [brain.add_override(ctx.conn, record["schedule"], {
            "layer": record["layer"], "who": t["who"], "start": t["start"], "end": t["end"], "by": me,
            "reason": f"swap {record['id']}" + (f": {record['reason']}" if record.get("reason") else ""),
            "made": ctx.now}, ctx.now)["id"] for t in record["turns"]]
        ctx.audit("oncall.swap.approved", what=f"swap {record['schedule']}/{record['layer']} {_turns(record, ctx)}",
                  schedule=record["schedule"], layer=record["layer"], request=record["id"], asked_by=record["by"],
                  overrides=json.dumps(made), outcome="ok", rule=ctx.rule)
        return Reply(f"{me} accepted `{record['id']}`: {_turns(record, ctx)} (overrides {', '.join(made)}).",
                     outcome="ok", public=True)
    ctx.audit("oncall.swap.denied", what=f"swap {record['schedule']}/{record['layer']} declined",
              schedule=record["schedule"], layer=record["layer"], request=record["id"], asked_by=record["by"],
              reason=reason, outcome="ok", rule=ctx.rule)
    verb = "withdrew" if me == record["by"] else "declined"
    return Reply(f"{me} {verb} `{record['id']}`" + (f": {reason}" if reason else "") + ".", outcome="ok", public=True)


def _pending_swaps(ctx: Context) -> list[str]:
    return [f"`{r['id']}` swap on {r['schedule']}/{r['layer']} asked by {r['by']}: {_turns(r, ctx)}"
            for r in brain.oncall_swaps(ctx.conn) if r["state"] == "pending" and r["with"] == ctx.who.name]


# Registered by router/commands/plugin.py: `approve sw-…` and `deny sw-…`.
SWAP_REQUESTS = Approvable(prefix=brain.SWAP_PREFIX, noun="on-call swap", decide=_decide_swap, pending=_pending_swaps)
