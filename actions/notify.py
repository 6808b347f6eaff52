"""`notify` (post a signal to a room) and `drop` (record it, do nothing else).

The message is the signal's chat form (router/chat/compose.py): an alert's carries Ack and Snooze
1h buttons; its resolution is posted as an answer in the firing message's thread.
"""
from __future__ import annotations

import dataclasses
import time

from redis import Redis

from actions import repeat as again
from actions.muting import muted
from router.chat import send as chat
from router.chat.compose import default_text, is_alert, message_for
from router.core.config import Config
from router.core.templates import render
from router.jobs.context import Context


def notify(signal: dict, conn: Redis, config: Config, *, room: str, mention: str = "", template: str = "",
           mute_during: object = (), repeat: object = None, ctx: Context | None = None) -> str:
    """Post the signal to `room`, with `mention` (a template too) in front."""
    ctx = ctx or Context(signal["id"], action="notify")
    quiet = muted(conn, config, mute_during, time.time())
    if quiet:
        return f"muted: time interval {quiet} holds (mute_during); not posted to {room}"
    text = render(template, signal) if template else default_text(signal)
    message = message_for(signal, room, ctx.key, text, render(mention, signal).strip())
    if is_alert(signal) and signal.get("status") == "resolved":
        thread = chat.thread_of(conn, signal["fingerprint"], room)
        if thread:
            message = dataclasses.replace(message, thread=thread)
    sent = chat.send(conn, config, message, ctx.writes).describe()
    return sent + again.start(conn, signal, room, repeat, ctx, mute_during)


def drop(signal: dict, conn: Redis, config: Config, *, reason: str = "", ctx: Context | None = None) -> str:
    """Nothing is posted; the outcome says the signal was dropped (and why, if the rule says)."""
    return f"dropped: {render(reason, signal)}" if reason else "dropped"
