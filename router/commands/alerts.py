"""`alerts [matcher]`: what is firing, with who acked or snoozed what; and the alert lines every
command that talks about alerts (snooze previews, reminders) shares."""
from __future__ import annotations

import datetime as dt

from redis import Redis

from router.alerts import lookup
from router.alerts.lines import age, covering, name_of
from router.commands.context import Context
from router.commands.declare import Reply, UsageError, command
from router.commands.parse import words as split
from router.core import brain, matchers
from router.core.durations import local_time

LIST_LIMIT = 15       # alert lines in one chat answer


def line(alert: dict, snoozes: list[dict], ctx: Context) -> str:
    parts = [f"`{alert['id']}` [{alert.get('severity') or '?'}] {name_of(alert)}"]
    summary = alert.get("summary", "")
    if summary and summary != name_of(alert):
        parts[0] += f": {summary[:80]}"
    parts.append(f"firing {age(alert.get('firing_since', ''), ctx.now)}")
    env = (alert.get("labels") or {}).get("env")
    if env:
        parts.append(f"env={env}")
    if alert.get("acked_by"):
        parts.append(f"acked by {alert['acked_by']}")
    for s in covering(alert, snoozes, ctx.now):
        parts.append(f"snoozed by {s.get('created_by', '?')} ({s['id']}) until "
                     f"{local_time(s['ends_at'], ctx.tz, ctx.now)}")
    return " · ".join(parts)


def select(conn: Redis, words: list[str], now: float) -> tuple[list[dict], list[dict] | None, str]:
    """(alerts the words pick out among those firing, their matchers or None, what was asked).

    The one reader of "what is firing" for chat (`alerts`) and `GET /api/alerts`; UsageError
    names a word that is not a usable matcher."""
    firing = lookup.firing(conn)
    if not words:
        return firing, None, ""
    if all(matchers.looks_like_matcher(w) for w in words):
        try:
            parsed = [m.as_dict() for m in matchers.parse(words)]
        except matchers.MatcherError as exc:
            raise UsageError(str(exc)) from None
        return [a for a in firing if lookup.matches(parsed, a, now)], parsed, matchers.render(parsed)
    ref = " ".join(words)
    return lookup.find(conn, ref, firing), None, ref


def is_firing(alert: dict) -> bool:
    return alert.get("status") in ("firing", "flapping")


@command("alerts")
def alerts(ctx: Context, args: str) -> Reply:
    """What is firing now, with who acked or snoozed what.

    Usage: alerts [matcher or alert id]

    Each line starts with the alert's short id, which `ack`, `snooze` and `alerts` accept.
    A matcher narrows the list: label=value, label!=value, label=~regex, label!~regex
    (regexes match the whole value; several matchers must all hold).

    Examples:
      alerts
      alerts env=production
      alerts host=~web-.* severity=critical
    """
    found, _, asked = select(ctx.conn, split(args), ctx.now)
    snoozes = brain.active_snoozes(ctx.conn, ctx.now)
    quiet = [a for a in found if not is_firing(a)]
    if quiet and len(quiet) == len(found):  # asked for an alert by name, and it is not firing
        return Reply(f"{name_of(quiet[0])} is {quiet[0].get('status') or 'unknown'}, not firing.")
    found = [a for a in found if a not in quiet]
    if not found:
        return Reply(f"Nothing firing matches `{asked}`." if asked else "Nothing is firing. :tada:")
    head = f"{len(found)} firing" + (f" matching `{asked}`" if asked else "") + ":"
    lines = [line(a, snoozes, ctx) for a in found[:LIST_LIMIT]]
    if len(found) > LIST_LIMIT:
        lines.append(f"… and {len(found) - LIST_LIMIT} more: narrow it with a matcher, e.g. `alerts env=production`")
    return Reply("\n".join([head, *lines]))


def now_iso(now: float) -> str:
    return dt.datetime.fromtimestamp(now, dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
