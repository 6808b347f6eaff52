"""Delivering an owner's nags: one message each, or one digest when there are many; escalations.

`nag` (actions/nag.py) queues nags per owner and destination and schedules `deliver` at the end
of the gathering wait (RQ's scheduler, no sleeping thread). The delivery:
1. takes the pending nags into an outbox (one Lua script; a retried job takes the same outbox,
   and its messages have fixed delivery keys, so nothing is posted twice);
2. drops nags whose item got snoozed meanwhile;
3. claims each item's `key_nag_sent` (NX, TTL = the rule's `every`, value = this delivery) —
   the rate limit shared by every worker, surviving restarts;
4. posts one message per nag, or — more than `digest_over` of them — one digest, at most one per
   owner per UTC day (a second batch that day waits for the next day's digest);
5. updates each item's nag history and escalates the ones ignored for their `escalate_after`.
"""
from __future__ import annotations

import datetime as dt
import json
import time

from redis import Redis
from rq import get_current_job

from router.chat import send as chat
from router.core import brain
from router.core.config import Config
from router.core.times import from_epoch
from router.jobs import guard, policy
from router.snoozes.facts import snoozed_by

DIGEST_LINES = 15
DIGEST_TTL = 2 * 86400
SNOOZE_FOR = "1w"   # within the default snooze guardrail (suppression.yml: 7d)
DEFAULT_TEXT = {
    "remind": "{summary}. Still needed? Snooze it if so.",
    "review": "{summary}. Please review it, or say what it is waiting for.",
    "close": "{summary}. Close it?",
    "delete": "{summary}. Delete it?",
    "archive": "{summary}. Archive it?",
}
VERB = {"close": "close", "delete": "delete", "archive": "archive"}

# KEYS: pending, outbox, state. ARGV: outbox ttl. → {seq, flat outbox hash} or nil (nothing to send)
TAKE = """
if redis.call('EXISTS', KEYS[2]) == 1 then
  return {redis.call('HGET', KEYS[3], 'outbox_seq') or '0', redis.call('HGETALL', KEYS[2])}
end
redis.call('HDEL', KEYS[3], 'due')
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local seq = tostring(redis.call('HINCRBY', KEYS[3], 'seq', 1))
redis.call('HSET', KEYS[3], 'outbox_seq', seq)
redis.call('RENAME', KEYS[1], KEYS[2])
redis.call('EXPIRE', KEYS[2], tonumber(ARGV[1]))
return {seq, redis.call('HGETALL', KEYS[2])}
"""

# Give back claims of this delivery. KEYS: sent markers. ARGV: delivery id.
RELEASE = """
for i, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[1] then redis.call('DEL', key) end
end
return 0
"""


def _state_key(owner: str, dest: str) -> str:
    return brain.digest(f"{owner.lower()}|{dest}")


def schedule(conn: Redis, owner: str, dest: str, mention: str, digest_over: int, at: float) -> None:
    policy.schedule(conn, at, deliver, owner, dest, mention, digest_over,
                  job_id=f"nag-{_state_key(owner, dest)}-{int(at * 1000)}",
                  description=f"nags for {owner} in {dest} at {from_epoch(at)}")


def deliver(owner: str, dest: str, mention: str, digest_over: int) -> object:
    """RQ job: post what is waiting for `owner` in `dest`."""
    job = get_current_job()
    return deliver_with(job.connection, Config.from_env(), owner, dest, mention, digest_over, job=job)


def deliver_with(conn: Redis, config: Config, owner: str, dest: str, mention: str, digest_over: int,
                 job=None) -> object:
    keys = (brain.key_nag_pending(owner, dest), brain.key_nag_outbox(owner, dest),
            brain.key_nag_state(owner, dest))

    def work() -> str:
        taken = conn.eval(TAKE, 3, *keys, brain.NAG_PENDING_TTL)
        if not taken:
            return "nothing to deliver"
        seq = taken[0].decode() if isinstance(taken[0], bytes) else str(taken[0])
        flat = taken[1]
        nags = [json.loads(flat[i + 1]) for i in range(0, len(flat), 2)]
        delivery = f"{_state_key(owner, dest)}:{seq}"
        text = _deliver(conn, config, owner, dest, mention, digest_over, nags, delivery)
        conn.delete(keys[1])
        return text

    def finish(pipe, state: str, text: str) -> None:
        if state == "failed":
            pipe.delete(keys[1])

    return guard.guarded(conn, config, job, "action:nag", {"owner": owner, "room": dest}, work, finish)


def _deliver(conn: Redis, config: Config, owner: str, dest: str, mention: str, digest_over: int,
             nags: list[dict], delivery: str) -> str:
    now = time.time()
    active = brain.active_snoozes(conn, now)
    live = [n for n in nags if not snoozed_by(conn, n["match"], now, active)]
    skipped = len(nags) - len(live)
    claimed = _claim(conn, owner, live, delivery)
    if not claimed:
        return f"nothing to deliver ({skipped} snoozed, {len(live)} nagged meanwhile)"
    claimed.sort(key=lambda n: (-_days(n), n["subject"]))
    if len(claimed) > digest_over:
        day = dt.datetime.fromtimestamp(now, dt.timezone.utc).strftime("%Y-%m-%d")
        key = brain.key_nag_digest(owner, day)
        conn.set(key, delivery, nx=True, ex=DIGEST_TTL)
        if (conn.get(key) or b"").decode() != delivery:
            return _defer(conn, owner, dest, mention, digest_over, claimed, delivery, now)
        sent = chat.send(conn, config, _digest(owner, dest, mention, claimed, delivery))
        posted = f"digest of {len(claimed)} for {owner}: {sent.describe()}"
    else:
        for n in claimed:
            chat.send(conn, config, _single(owner, dest, mention, n, delivery))
        posted = f"{len(claimed)} nag(s) for {owner} in {dest}"
    escalated = _history_and_escalations(conn, config, owner, claimed, delivery, now)
    extra = [f"{skipped} snoozed"] if skipped else []
    extra += [f"escalated {escalated} to their room"] if escalated else []
    return posted + (f" ({', '.join(extra)})" if extra else "")


def _claim(conn: Redis, owner: str, nags: list[dict], delivery: str) -> list[dict]:
    """The nags this delivery may send: their sent marker is (now) this delivery's."""
    with conn.pipeline(transaction=False) as pipe:
        for n in nags:
            key = brain.key_nag_sent(n["fingerprint"], owner)
            pipe.set(key, delivery, nx=True, ex=max(1, int(n.get("every") or 86400)))
            pipe.get(key)
        answers = pipe.execute()
    return [n for n, holder in zip(nags, answers[1::2]) if (holder or b"").decode() == delivery]


def _defer(conn: Redis, owner: str, dest: str, mention: str, digest_over: int, nags: list[dict],
           delivery: str, now: float) -> str:
    """Today's digest went out already: these wait for tomorrow's."""
    tomorrow = (dt.datetime.fromtimestamp(now, dt.timezone.utc).date() + dt.timedelta(days=1))
    at = dt.datetime.combine(tomorrow, dt.time(0, 1), dt.timezone.utc).timestamp()
    with conn.pipeline(transaction=True) as pipe:
        pipe.eval(RELEASE, len(nags), *[brain.key_nag_sent(n["fingerprint"], owner) for n in nags], delivery)
        pipe.hset(brain.key_nag_pending(owner, dest), mapping={n["fingerprint"]: json.dumps(n) for n in nags})
        pipe.expire(brain.key_nag_pending(owner, dest), brain.NAG_PENDING_TTL)
        pipe.hset(brain.key_nag_state(owner, dest), "due", str(at))
        pipe.execute()
    schedule(conn, owner, dest, mention, digest_over, at)
    return f"{len(nags)} nags for {owner} wait for tomorrow's digest ({from_epoch(at)}): one digest a day"


def _days(n: dict) -> int:
    text = str(n.get("idle_days") or "")
    return int(text) if text.isdigit() else 0


def _text(n: dict) -> str:
    text = n.get("text") or DEFAULT_TEXT.get(n.get("ask", "remind"), DEFAULT_TEXT["remind"]).format(
        summary=n.get("summary") or n["subject"])
    if n.get("request"):
        text += (f"\nApprove with `approve {n['request']}` and Sparky will {VERB[n['ask']]} it; "
                 f"`deny {n['request']}` keeps it.")
    elif n.get("cannot"):
        text += f"\n(Sparky cannot {VERB.get(n['ask'], n['ask'])} it for you: {n['cannot']}.)"
    return text


def _buttons(n: dict) -> tuple[chat.Button, ...]:
    buttons = []
    if n.get("request"):
        buttons += [chat.Button("Approve", "sparky_approve", f"approve {n['request']}", "primary"),
                    chat.Button("Deny", "sparky_deny", f"deny {n['request']}", "danger")]
    snooze = f"snooze fingerprint={n['fingerprint']} for {SNOOZE_FOR} because still needed"
    buttons.append(chat.Button(f"Snooze {SNOOZE_FOR}", "sparky_snooze_stale", snooze))
    return tuple(buttons)


def _single(owner: str, dest: str, mention: str, n: dict, delivery: str) -> chat.Message:
    return chat.Message(
        room=dest, key=f"nag:{delivery}:{brain.digest(n['fingerprint'])}", text=_text(n), mention=mention,
        emoji=":hourglass_flowing_sand:", context=f"stale {n.get('type', '')} · {n.get('rule', '')}",
        url=n.get("url", ""),
        buttons=_buttons(n), signal=n.get("signal", ""),
        meta={"nag": n["fingerprint"], "owner": owner, "request": n.get("request", "")})


def _digest(owner: str, dest: str, mention: str, nags: list[dict], delivery: str) -> chat.Message:
    lines = []
    for n in nags[:DIGEST_LINES]:
        line = f"• {n.get('summary') or n['subject']}"
        if n.get("request"):
            line += f" — `approve {n['request']}` to {VERB[n['ask']]} it"
        if n.get("url"):
            line += f" {n['url']}"
        lines.append(line)
    if len(nags) > DIGEST_LINES:
        lines.append(f"… and {len(nags) - DIGEST_LINES} more: `stale {owner}` lists them all")
    footer = (f"Still needed? `snooze fingerprint=<item> for {SNOOZE_FOR} because <why>` "
              "stops the nags for it.")
    text = "\n".join([f"{len(nags)} stale items are waiting for you:", *lines, footer])
    return chat.Message(room=dest, key=f"nag-digest:{delivery}", text=text, mention=mention, emoji=":broom:",
                        context=f"stale digest · {len(nags)} items",
                        meta={"digest": len(nags), "owner": owner, "items": [n["fingerprint"] for n in nags]})


# Update an item's nag history; returns {first_at, count}. KEYS: history. ARGV: activity, now, ttl.
HISTORY = """
local activity = redis.call('HGET', KEYS[1], 'activity')
if activity ~= ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('HSET', KEYS[1], 'activity', ARGV[1], 'first_at', ARGV[2])
end
local count = redis.call('HINCRBY', KEYS[1], 'count', 1)
redis.call('HSET', KEYS[1], 'last_at', ARGV[2])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
return {redis.call('HGET', KEYS[1], 'first_at'), count}
"""


def _history_and_escalations(conn: Redis, config: Config, owner: str, nags: list[dict], delivery: str,
                             now: float) -> int:
    """Count the nag in each item's history (reset when its activity changed); escalate the ignored."""
    due: dict[tuple[str, str], list[tuple[dict, float, int]]] = {}
    for n in nags:
        first_at, count = conn.eval(HISTORY, 1, brain.key_nag_history(n["fingerprint"]),
                                    n.get("activity", ""), now, brain.NAG_HISTORY_TTL)
        first_at = float(first_at)
        room = n.get("escalate_room", "")
        if not room or not n.get("escalate_after") or now - first_at < n["escalate_after"]:
            continue
        # once per `every` per item and room, whichever owner's delivery gets there first
        marker = brain.key_nag_sent(n["fingerprint"], f"escalation:{room}")
        if conn.set(marker, delivery, nx=True, ex=max(1, int(n.get("every") or 86400))):
            due.setdefault((room, n.get("escalate_mention", "")), []).append((n, first_at, int(count)))
    for (room, mention), items in due.items():
        lines = [f"• {n.get('summary') or n['subject']} — owner {owner}, nagged {count}× since "
                 f"{from_epoch(first_at)[:10]}" + (f" {n['url']}" if n.get("url") else "")
                 for n, first_at, count in items]
        text = "\n".join([f"Stale and ignored ({len(items)}):", *lines])
        chat.send(conn, config, chat.Message(room=room, key=f"nag-escalation:{delivery}:{brain.digest(room)}",
                                             text=text, mention=mention, emoji=":rotating_light:",
                                             context="stale escalation", meta={"escalation": len(items)}))
    return sum(len(items) for items in due.values())
