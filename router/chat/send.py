"""The chat seam: one `send(conn, config, message)` for every action that talks to people.

The room's name says the platform (router/chat/platforms.py): `xmpp:…` goes to XMPP through the
`sparky xmpp` process (router/chat/xmpp/), `slack:…` to Slack (router/chat/slack.py), `builtin:…`
to the built-in rooms (router/chat/rooms.py); an unprefixed name to Slack when SLACK_BOT_TOKEN is
set, else to the built-in rooms. Slack and XMPP are paced per room (router/chat/pacing.py). Every
message has a delivery key and is posted at most once per key, and an alert's firing message is
remembered per fingerprint and room (router/chat/threads.py) so that its resolution answers in
the same thread.
"""
from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass, field

from redis import Redis

from router.chat import pacing as ratelimit
from router.chat import platforms, rooms, slack
from router.chat.threads import remember_thread, thread_of, threads_of  # noqa: F401  (the seam's names)
from router.chat.xmpp import outbox as xmpp
from router.core import brain, people
from router.core.config import Config
from router.core.outcomes import Later, Retryable
from router.core.registry import installed


@dataclass(frozen=True)
class Button:
    label: str
    action_id: str
    value: str          # the chat command a click runs, e.g. "ack web-01/HTTP"
    style: str = ""
    hint: str = ""      # the command to type where there are no buttons (XMPP); "" = the value


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
        where = f"{self.room} ({platforms.NAMES.get(self.transport, self.transport)}, {self.ts})"
        return f"already posted to {where}" if self.duplicate else f"posted to {where}"


def resolved(conn: Redis, config: Config, message: Message) -> Message:
    """The message with the registered resolvers applied to its text and mention, now: `@oncall`
    names whoever is on call at the moment of sending (router/oncall registers that one)."""
    registry = installed()
    if registry is None or not registry.resolvers:
        return message
    text, mention = message.text, message.mention
    for resolve in registry.resolvers:
        text, mention = resolve(conn, config, text), resolve(conn, config, mention)
    if (text, mention) == (message.text, message.mention):
        return message
    return dataclasses.replace(message, text=text, mention=mention)


def send(conn: Redis, config: Config, message: Message, writes: list | None = None) -> Sent:
    """Post `message` once. Raises outcomes.Later / Retryable / Permanent for the job to handle.

    With `writes` (a batch's list, see jobs.Context), the "sent" marker of a Slack post joins the
    batch's final round trip: until then the marker says "sending", which a re-run after a crash
    resolves by searching the channel, so it still posts once.
    """
    message = resolved(conn, config, message)
    transport, target = platforms.transport(config, message.room)
    if transport == "xmpp":
        ts, duplicate = xmpp.send(conn, config, message, target)
        return Sent(message.room, ts, "xmpp", duplicate=duplicate)
    if transport == "slack":
        return _send_slack(conn, config, message, writes, target)
    return _send_room(conn, message, target)


def _send_room(conn: Redis, message: Message, target: str = "") -> Sent:
    record = {"text": f"{message.mention} {message.text}".strip(), "context": message.context,
              "url": message.url, "thread": message.thread, "signal": message.signal, "key": message.key,
              "buttons": [{"text": b.label, "value": b.value} for b in message.buttons], **message.meta}
    ts, posted = rooms.post(conn, target or message.room, message.key, record, anchor=message.anchor,
                            named=message.room)
    return Sent(message.room, ts, "rooms", duplicate=not posted)


def _send_slack(conn: Redis, config: Config, message: Message, writes: list | None = None,
                channel: str = "") -> Sent:
    channel = channel or message.room   # `slack:#ops` is the channel `#ops`
    now = time.time()
    marker = {"state": "sending", "room": message.room, "at": now, "transport": "slack"}
    state, value = ratelimit.acquire(conn, channel, message.key, config.slack_rate, marker, now=now)
    if state == "sending":
        # An earlier attempt got no answer: look before posting again.
        found = slack.find(config, channel, message.key, value.get("at", now), message.thread)
        if found:
            _mark_sent(conn, message, found)
            return Sent(message.room, found, "slack", duplicate=True)
        conn.delete(brain.key_delivery(message.key))
        state, value = ratelimit.acquire(conn, channel, message.key, config.slack_rate, marker, now=now)
    if state == "sent":
        return Sent(message.room, value.get("ts", ""), "slack", duplicate=True)
    if state == "wait":
        raise Later(value - now, f"{message.room} paced at {config.slack_rate:g}/s (SPARKY_SLACK_RATE)",
                    until=value)
    if state == "sending":  # another worker is posting it right now
        raise Retryable(f"{message.room}: message {message.key} is being posted by another worker")

    mention = people.slack_mentions(message.mention, people.load(config.rules_dir)) if message.mention else ""
    try:
        _channel, ts = slack.post(config, slack.render(dataclasses.replace(message, room=channel), mention))
    except slack.Uncertain:
        raise  # keep the "sending" marker: the next attempt searches the channel first
    except Later as later:
        conn.delete(brain.key_delivery(message.key))
        ratelimit.hold(conn, channel, message.key, later.until, config.slack_rate)
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


def notice(conn: Redis, config: Config, room: str, transport: str, key: str, text: str) -> str:
    """A plain message from Sparky to a room (snooze reminders and endings), once per `key`: to the
    built-in room when the thing it is about came from one, else through `send`."""
    if not room:
        return "no room"
    if transport == "rooms":
        prefix, target = platforms.split(room)
        ts, posted = rooms.post(conn, target if prefix == "builtin" else room, key,
                                {"text": text, "author": "sparky"})
        return f"{'posted' if posted else 'already posted'} to built-in room {room} ({ts})"
    return send(conn, config, Message(room=room, key=key, text=text)).describe()
