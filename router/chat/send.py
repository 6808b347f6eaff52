"""The chat seam: one `send(conn, config, message)` for every action that talks to people.

With SLACK_BOT_TOKEN set a message goes to Slack (router/chat/slack.py), paced per channel
(router/chat/pacing.py); without, to the built-in rooms (router/chat/rooms.py). Either way each
message has a delivery key and is posted at most once per key, and an alert's firing message is
remembered per fingerprint and room so that its resolution answers in the same thread.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

from redis import Redis

from router.chat import pacing as ratelimit
from router.chat import rooms, slack
from router.core import brain, people
from router.core.config import Config
from router.core.outcomes import Later, Retryable


@dataclass(frozen=True)
class Button:
    label: str
    action_id: str
    value: str          # the chat command a click runs, e.g. "ack web-01/HTTP"
    style: str = ""


@dataclass(frozen=True)
class Message:
    room: str
    key: str                         # delivery key: at most one post per key
    text: str                        # plain text, without the mention
    mention: str = ""                # as the rule wrote it: "@alice @oncall"
    emoji: str = ""
    context: str = ""                # small print under the text
    url: str = ""
    buttons: tuple[Button, ...] = ()
    thread: str = ""                 # answer in this thread (Slack ts / built-in message id)
    broadcast: bool = False          # a thread answer also shown in the channel
    anchor: str = ""                 # remember this message as the thread of this alert fingerprint
    signal: str = ""
    meta: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Sent:
    room: str
    ts: str
    transport: str
    duplicate: bool = False

    def describe(self) -> str:
        where = f"{self.room} ({'Slack' if self.transport == 'slack' else 'built-in room'}, {self.ts})"
        return f"already posted to {where}" if self.duplicate else f"posted to {where}"


def send(conn: Redis, config: Config, message: Message, writes: list | None = None) -> Sent:
    """Post `message` once. Raises outcomes.Later / Retryable / Permanent for the job to handle.

    With `writes` (a batch's list, see jobs.Context), the "sent" marker of a Slack post joins the
    batch's final round trip: until then the marker says "sending", which a re-run after a crash
    resolves by searching the channel, so it still posts once.
    """
    if config.slack_bot_token:
        return _send_slack(conn, config, message, writes)
    return _send_room(conn, message)


def _send_room(conn: Redis, message: Message) -> Sent:
    record = {"text": f"{message.mention} {message.text}".strip(), "context": message.context,
              "url": message.url, "thread": message.thread, "signal": message.signal, "key": message.key,
              "buttons": [{"text": b.label, "value": b.value} for b in message.buttons], **message.meta}
    ts, posted = rooms.post(conn, message.room, message.key, record, anchor=message.anchor)
    return Sent(message.room, ts, "rooms", duplicate=not posted)


def _send_slack(conn: Redis, config: Config, message: Message, writes: list | None = None) -> Sent:
    now = time.time()
    marker = {"state": "sending", "room": message.room, "at": now, "transport": "slack"}
    state, value = ratelimit.acquire(conn, message.room, message.key, config.slack_rate, marker, now=now)
    if state == "sending":
        # An earlier attempt got no answer: look before posting again.
        found = slack.find(config, message.room, message.key, value.get("at", now), message.thread)
        if found:
            _mark_sent(conn, message, found)
            return Sent(message.room, found, "slack", duplicate=True)
        conn.delete(brain.key_delivery(message.key))
        state, value = ratelimit.acquire(conn, message.room, message.key, config.slack_rate, marker, now=now)
    if state == "sent":
        return Sent(message.room, value.get("ts", ""), "slack", duplicate=True)
    if state == "wait":
        raise Later(value - now, f"{message.room} paced at {config.slack_rate:g}/s (SPARKY_SLACK_RATE)",
                    until=value)
    if state == "sending":  # another worker is posting it right now
        raise Retryable(f"{message.room}: message {message.key} is being posted by another worker")

    mention = people.slack_mentions(message.mention, people.load(config.rules_dir)) if message.mention else ""
    try:
        _channel, ts = slack.post(config, slack.render(message, mention))
    except slack.Uncertain:
        raise  # keep the "sending" marker: the next attempt searches the channel first
    except Later as later:
        conn.delete(brain.key_delivery(message.key))
        ratelimit.hold(conn, message.room, message.key, later.until, config.slack_rate)
        raise
    except Exception:
        conn.delete(brain.key_delivery(message.key))  # Slack answered: it was not posted
        raise
    if writes is not None:
        writes.append((lambda pipe, _state, _text: _queue_sent(pipe, message, ts), "", ""))
    else:
        _mark_sent(conn, message, ts)
    return Sent(message.room, ts, "slack")


def _mark_sent(conn: Redis, message: Message, ts: str) -> None:
    """Sent: the marker, and the alert's thread when this is its firing message (one round trip)."""
    with conn.pipeline(transaction=False) as pipe:
        _queue_sent(pipe, message, ts)
        pipe.execute()


def _queue_sent(pipe, message: Message, ts: str) -> None:
    pipe.set(brain.key_delivery(message.key),
             json.dumps({"state": "sent", "room": message.room, "ts": ts, "transport": "slack"}),
             ex=brain.ACTION_OUTCOME_TTL)
    if message.anchor:
        remember_thread(pipe, message.anchor, message.room, ts)


def remember_thread(pipe, fingerprint: str, room: str, ts: str) -> None:
    """Queue on `pipe`: the message `ts` is the firing message of this alert in `room`."""
    key = brain.key_alert_threads(fingerprint)
    pipe.hset(key, room, ts)
    pipe.expire(key, brain.ALERT_STATE_TTL)


def thread_of(conn: Redis, fingerprint: str, room: str) -> str:
    """The firing message of this alert in `room` ("" if none was posted there)."""
    value = conn.hget(brain.key_alert_threads(fingerprint), room)
    return value.decode() if value else ""


def threads_of(conn: Redis, fingerprint: str) -> dict[str, str]:
    """Every room the alert was posted to, with its firing message there."""
    return {k.decode(): v.decode() for k, v in conn.hgetall(brain.key_alert_threads(fingerprint)).items()}


def notice(conn: Redis, config: Config, room: str, transport: str, key: str, text: str) -> str:
    """A plain message from Sparky to a room (snooze reminders and endings), once per `key`: to the
    built-in room when the thing it is about came from one, else through `send`."""
    if not room:
        return "no room"
    if transport == "rooms":
        ts, posted = rooms.post(conn, room, key, {"text": text, "author": "sparky"})
        return f"{'posted' if posted else 'already posted'} to built-in room {room} ({ts})"
    return send(conn, config, Message(room=room, key=key, text=text)).describe()
