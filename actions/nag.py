"""`nag`: ask the owner of a stale item to act on it — at most once per `every`, per item and owner.

    - nag: {to: "{labels.owner}", ask: close, every: 7d, escalate_after: 14d, escalate_room: "#dev"}

Who: `to` (a template; default `{labels.owner}`) names one or more people — people.yml names,
GitHub logins or e-mails, separated by commas or spaces; each is nagged on their own. With `room`
the nag is posted there with a mention; without, it goes to the person directly (a Slack DM to
their people.yml `slack` id, an XMPP message to their `xmpp` JID, or the built-in room `@<name>`). An item nobody owns is nagged in
`room`, else in `escalate_room`, else not at all (the outcome says so).

What: `ask` is `remind` (the default: still needed?), `review`, `close` (a pull request), `delete`
(a Chef node or an artifact) or `archive` (a repo). close/delete/archive attach a request that a
person approves in chat (`approve st-…`): nothing is closed or deleted otherwise
(router/stale/approvals.py). `template` replaces the text (`{field}` placeholders).

When: a nag is recorded per item and owner in the brain with a TTL of `every`
(`key_nag_sent`), so neither a second scan, nor a restart, nor another worker repeats it sooner.
A snoozed item (an active snooze matching it: `snooze fingerprint=acme/web-api#42 for 1w`) is not
nagged, checked again at delivery. Nags wait `wait` (default 2m) in a per-owner outbox, then go
out together (actions/nag_delivery.py): one message each when there are at most `digest_over`
(default 3), else one digest — at most one digest per owner per day.

Escalation: when the item was first nagged more than `escalate_after` ago and nobody acted on it
(its last activity did not change), the next nag is also posted to `escalate_room` (with
`escalate_mention`), at most once per `every`.
"""
from __future__ import annotations

import json
import re
import time

from redis import Redis

from actions import nag_delivery
from router.core import brain, durations, people
from router.core.config import Config
from router.core.templates import render
from router.core.times import from_epoch
from router.jobs.context import Context
from router.snoozes.facts import snoozed_by
from router.stale import approvals

ASKS = ("remind", "review", "close", "delete", "archive")
DEFAULT_WAIT = 120
DEFAULT_EVERY = 86400
DEFAULT_DIGEST_OVER = 3
GRACE = 300            # a delivery this late is taken for lost and scheduled again
SEPARATORS = re.compile(r"[\s,]+")

# Queue one nag for an owner unless it was nagged within its interval. KEYS: sent marker, pending
# hash, state hash. ARGV: fingerprint, nag JSON, now, wait, ttl, grace.
# → {0, seconds until it may be nagged again} or {1, due time of the delivery, new schedule (1/0)}
QUEUE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return {0, redis.call('TTL', KEYS[1])} end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('EXPIRE', KEYS[2], tonumber(ARGV[5]))
local now = tonumber(ARGV[3])
local due = redis.call('HGET', KEYS[3], 'due')
if due and tonumber(due) > now - tonumber(ARGV[6]) then return {1, due, 0} end
due = tostring(now + tonumber(ARGV[4]))
redis.call('HSET', KEYS[3], 'due', due)
redis.call('EXPIRE', KEYS[3], tonumber(ARGV[5]))
return {1, due, 1}
"""


def recipients(names: str, book: people.People) -> list[tuple[str, dict | None]]:
    """(owner key, people.yml entry or None) per distinct name; the key is the people.yml name."""
    out: dict[str, dict | None] = {}
    for token in SEPARATORS.split(names.strip()):
        token = token.lstrip("@")
        if not token:
            continue
        if token in book.groups:
            for member in book.groups[token]:
                out.setdefault(member, book.person(member))
            continue
        entry = book.person(token)
        key = token.lower()
        if entry:
            key = next((n for n, e in book.people.items() if e is entry), key)
        out.setdefault(key, entry)
    return list(out.items())


def destination(owner: str, entry: dict | None, room: str, config: Config) -> str:
    """Where a nag to `owner` goes: the rule's room, else a DM — on Slack (their `slack` id) or
    XMPP (`xmpp:` their JID), whichever is configured and knows them, Slack first — else, with
    neither configured, the built-in room `@owner`."""
    entry = entry or {}
    if room:
        return room
    if config.slack_bot_token and entry.get("slack"):
        return str(entry["slack"])
    if config.xmpp_jid and entry.get("xmpp"):
        return f"xmpp:{entry['xmpp']}"
    if config.slack_bot_token or config.xmpp_jid:
        return ""   # no way to reach them directly: the escalation room, if any
    return f"@{owner}"


def nag(signal: dict, conn: Redis, config: Config, *, to: str = "{labels.owner}", room: str = "",
        template: str = "", ask: str = "remind", every: object = DEFAULT_EVERY, escalate_after: object = 0,
        escalate_room: str = "", escalate_mention: str = "", approvers: object = None,
        digest_over: int = DEFAULT_DIGEST_OVER, wait: object = DEFAULT_WAIT,
        ctx: Context | None = None) -> str:
    """Queue a nag about the signal's item for each owner not nagged about it within `every`."""
    ctx = ctx or Context(signal["id"], action="nag")
    now = time.time()
    if not signal.get("fingerprint"):
        return "not nagged: the signal has no fingerprint to remember the nag by"
    snooze = snoozed_by(conn, signal, now)
    if snooze:
        why = f" ({snooze['reason']})" if snooze.get("reason") else ""
        until = from_epoch(snooze["ends_at"])
        return f"not nagged: snoozed until {until} by {snooze.get('created_by', '?')}{why}"
    every_s, wait_s = int(durations.seconds(every)), int(durations.seconds(wait))
    book = people.load(config.rules_dir)
    targets = recipients(render(to, signal), book)
    if not targets and (room or escalate_room):
        # nobody in particular: the rule's room (else its escalation room) is nagged itself
        targets = [(f"room:{room or escalate_room}", None)]
    if not targets:
        return f"not nagged: nobody to nag ({to!r} names no one) and no room"
    outcomes = []
    for owner, entry in targets:
        dest, direct = destination(owner, entry, room, config), not room
        if owner.startswith("room:"):
            dest, direct = owner[len("room:"):], False
        if not dest and escalate_room:
            dest, direct = escalate_room, False   # no way to reach them directly: say it in the room
        if not dest:
            outcomes.append(f"{owner}: not nagged (no Slack id in people.yml, and no room)")
            continue
        mention = "" if direct or owner.startswith("room:") else f"@{owner}"
        sent_key = brain.key_nag_sent(signal["fingerprint"], owner)
        if conn.exists(sent_key):
            outcomes.append(f"{owner}: already nagged (again in {_left(conn.ttl(sent_key))})")
            continue
        request = None
        if ask in approvals.CLEANUPS:
            approver_names = _approvers(approvers, signal, owner)
            request = approvals.propose(conn, signal, ask, owner, approver_names, ctx.scope, now)
        item = _item(signal, ctx, ask, template, every_s, escalate_after, escalate_room, escalate_mention,
                     request, config, now)
        keys = (sent_key, brain.key_nag_pending(owner, dest), brain.key_nag_state(owner, dest))
        queued, value, new = conn.eval(QUEUE, 3, *keys, signal["fingerprint"], json.dumps(item), now, wait_s,
                                       brain.NAG_PENDING_TTL, GRACE)
        if not queued:
            outcomes.append(f"{owner}: already nagged (again in {_left(int(value))})")
            continue
        due = float(value)
        if new:
            nag_delivery.schedule(conn, owner, dest, mention, int(digest_over), due)
        outcomes.append(f"{owner}: nag queued for {dest} at {from_epoch(due)}"
                        + (f" with request {request['id']}" if request else ""))
    return "; ".join(outcomes)


def _approvers(approvers: object, signal: dict, owner: str) -> list[str]:
    if approvers:
        names = [approvers] if isinstance(approvers, str) else list(approvers)
        return [n for name in names for n in SEPARATORS.split(render(str(name), signal).strip()) if n]
    return [] if owner.startswith("room:") else [owner]


def _item(signal: dict, ctx: Context, ask: str, template: str, every: int, escalate_after: object,
          escalate_room: str, escalate_mention: str, request: dict | None, config: Config,
          now: float) -> dict:
    labels = signal.get("labels") or {}
    cannot = approvals.configured(request["kind"], config, labels) if request else ""
    return {
        "fingerprint": signal["fingerprint"], "subject": signal.get("subject", ""),
        "url": signal.get("url", ""),
        "summary": signal.get("summary", ""), "text": render(template, signal) if template else "",
        "signal": signal.get("id", ""), "rule": ctx.scope, "ask": ask, "type": labels.get("type", ""),
        "idle_days": labels.get("idle_days", ""), "activity": labels.get("last_activity", ""),
        "every": every, "escalate_after": int(durations.seconds(escalate_after)) if escalate_after else 0,
        "escalate_room": escalate_room, "escalate_mention": render(escalate_mention, signal).strip(),
        "request": request["id"] if request else "", "cannot": cannot, "queued_at": now,
        # what a snooze may match at delivery time
        "match": {"source": signal.get("source", ""), "kind": signal.get("kind", ""),
                  "fingerprint": signal["fingerprint"], "subject": signal.get("subject", ""),
                  "labels": labels},
    }


def _left(seconds: int) -> str:
    seconds = max(0, int(seconds))
    if seconds >= 86400:
        return f"{seconds / 86400:.1f}d"
    if seconds >= 3600:
        return f"{seconds / 3600:.1f}h"
    return f"{seconds // 60}m"
