"""The hand-over between the workers and `sparky xmpp`, both sides, through Redis.

A worker's `send` (router/chat/send.py routes `xmpp:` rooms here):
1. takes the room's pace slot and marks the delivery "sending" (router/chat/pacing.py: the same
   script, marker and SPARKY_XMPP_RATE pacing as Slack's);
2. queues the post on `brain.key_xmpp_outbox()` with a nonce, a deadline (now +
   SPARKY_XMPP_TIMEOUT) and whether an earlier attempt went unanswered (`verify`);
3. waits (BLPOP) for the holder's receipt under that nonce, at most until the deadline.

The holder (`sparky xmpp`, service.py) sends it once it is connected and in the room, and answers
with a receipt: `sent` (after the room echoed the message back, or the server answered a ping
queued behind a direct message), `failed` (the server refused it: a stanza error condition,
classified by ERROR_OUTCOMES), or `expired` (the deadline passed first: not sent). On `sent` the
holder itself writes the delivery marker "sent" (and the alert's thread), so a worker that gave up
waiting learns on its retry that the post went out.

Exactly once, across a server restart or a lost receipt: the marker says "sending" until the
holder writes "sent"; a retry that finds "sending" asks the holder to `verify`, and the holder
looks the delivery key up in the server's archive (XEP-0313 MAM; the key travels as the message's
id and XEP-0359 origin-id) before it posts again. Where the server keeps no archive, it posts
again: at least once, as Slack does when its search fails.
"""
from __future__ import annotations

import json
import time
import uuid

from redis import Redis

from router.chat import pacing
from router.chat.threads import remember_thread
from router.chat.xmpp import holder, render
from router.chat.xmpp.address import resolve
from router.core import brain, people
from router.core.config import Config
from router.core.outcomes import Later, Permanent, Retryable

RECEIPT_POLL = 2.0      # seconds per BLPOP while waiting for a receipt
WAIT_ON_LIMIT = 10.0    # seconds, when the server says slow down without saying how long

# XMPP stanza error condition (RFC 6120 §8.3.3) → what the job does. Unlisted: permanent.
ERROR_OUTCOMES = {
    "not-acceptable": "retry",          # not in the room (any more): the holder rejoins
    "internal-server-error": "retry",
    "remote-server-timeout": "retry",
    "recipient-unavailable": "retry",
    "resource-constraint": "wait",      # the server is busy
    "policy-violation": "wait",         # rate limits (Prosody's mod_muc_limits)
    "forbidden": "permanent",           # banned, or a members-only room
    "item-not-found": "permanent",      # no such room or person
    "service-unavailable": "permanent",
    "not-allowed": "permanent",
    "jid-malformed": "permanent",
}


class Uncertain(Retryable):
    """No receipt in time: the message may or may not have been posted (the retry verifies)."""


def send(conn: Redis, config: Config, message, target: str) -> tuple[str, bool]:
    """Have `sparky xmpp` post `message` (a chat.Message) once; returns (stanza id, duplicate?).

    Raises Later (pace), Uncertain (no receipt), Retryable or Permanent, as Slack's path does.
    """
    address = resolve(config, target)
    room = message.room
    now = time.time()
    marker = {"state": "sending", "room": room, "at": now, "transport": "xmpp"}
    state, value = pacing.acquire(conn, room, message.key, config.xmpp_rate, marker, now=now)
    verify = False
    if state == "sending":
        # An earlier attempt got no receipt: the holder looks in the archive before posting again.
        verify = True
        conn.delete(brain.key_delivery(message.key))
        state, value = pacing.acquire(conn, room, message.key, config.xmpp_rate, marker, now=now)
    if state == "sent":
        return value.get("ts", ""), True
    if state == "wait":
        raise Later(value - now, f"{room} paced at {config.xmpp_rate:g}/s (SPARKY_XMPP_RATE)", until=value)
    if state == "sending":
        raise Retryable(f"{room}: message {message.key} is being posted by another worker")
    if holder.current(conn) is None:
        conn.delete(brain.key_delivery(message.key))
        raise Retryable("XMPP: no `sparky xmpp` process holds the connection (is it running?)")
    mentions = people.xmpp_mentions(message.mention, people.load(config.rules_dir)) if message.mention else []
    post = {"nonce": uuid.uuid4().hex, "key": message.key, "room": room, "to": address.jid,
            "groupchat": address.room, "parts": render.parts(message, mentions, address.room, config.nick),
            "anchor": message.anchor, "verify": verify, "deadline": now + config.xmpp_timeout}
    conn.rpush(brain.key_xmpp_outbox(), json.dumps(post))
    got = _receipt(conn, post)
    if got is None:
        raise Uncertain(f"{room}: `sparky xmpp` did not confirm the post within "
                        f"{config.xmpp_timeout:g}s (SPARKY_XMPP_TIMEOUT)")
    receipt = json.loads(got[1])
    if receipt["state"] == "sent":
        return receipt.get("id", ""), bool(receipt.get("duplicate"))
    if receipt["state"] == "expired":
        raise Uncertain(f"{room}: `sparky xmpp` could not post before the deadline ({receipt.get('reason', '')})")
    conn.delete(brain.key_delivery(message.key))  # the server refused it: it was not posted
    raise failure(room, receipt.get("condition", ""), receipt.get("reason", ""))


def _receipt(conn: Redis, post: dict) -> tuple | None:
    """BLPOP the receipt until the deadline, in short waits: a web process's connection has a
    socket timeout of a few seconds, which one long BLPOP would run into."""
    key = brain.key_xmpp_receipt(post["nonce"])
    while True:
        left = post["deadline"] - time.time()
        if left <= 0:
            return None
        got = conn.blpop([key], timeout=min(RECEIPT_POLL, max(0.01, left)))
        if got is not None:
            return got


def failure(room: str, condition: str, reason: str = "") -> Exception:
    """The outcome of the server's refusal (a stanza error condition)."""
    what = f"XMPP {room}: {condition or 'refused'}" + (f" ({reason[:200]})" if reason else "")
    outcome = ERROR_OUTCOMES.get(condition, "permanent")
    if outcome == "wait":
        return Later(WAIT_ON_LIMIT, what)
    if outcome == "retry":
        return Retryable(what)
    return Permanent(what)


# -- the holder's side -----------------------------------------------------------------------------

def take(conn: Redis, timeout: float) -> dict | None:
    """The next queued post, waiting up to `timeout` seconds."""
    got = conn.blpop([brain.key_xmpp_outbox()], timeout=timeout)
    return json.loads(got[1]) if got else None


def sent_before(conn: Redis, post: dict) -> str | None:
    """The stanza id of this delivery key if its marker says "sent" already."""
    raw = conn.get(brain.key_delivery(post["key"]))
    marker = json.loads(raw) if raw else {}
    return marker.get("ts", "") if marker.get("state") == "sent" else None


def answer(conn: Redis, post: dict, state: str, **fields) -> None:
    """Give the waiting worker its receipt: state sent | failed | expired."""
    key = brain.key_xmpp_receipt(post["nonce"])
    with conn.pipeline() as pipe:
        pipe.rpush(key, json.dumps({"state": state, **fields}))
        pipe.expire(key, brain.XMPP_RECEIPT_TTL)
        pipe.execute()


def mark_sent(conn: Redis, post: dict, stanza_id: str, duplicate: bool = False) -> None:
    """Posted: the delivery marker, the alert's thread for a firing message, and the receipt, at once."""
    key = brain.key_xmpp_receipt(post["nonce"])
    with conn.pipeline() as pipe:
        pipe.set(brain.key_delivery(post["key"]),
                 json.dumps({"state": "sent", "room": post["room"], "ts": stanza_id, "transport": "xmpp"}),
                 ex=brain.ACTION_OUTCOME_TTL)
        if post.get("anchor"):
            remember_thread(pipe, post["anchor"], post["room"], stanza_id)
        pipe.rpush(key, json.dumps({"state": "sent", "id": stanza_id, "duplicate": duplicate}))
        pipe.expire(key, brain.XMPP_RECEIPT_TTL)
        pipe.execute()


def stanza_id(post: dict) -> str:
    """The message's id and origin-id: the delivery key's digest, the same on every attempt."""
    return "sparky-" + brain.digest(post["key"], 32)
