"""`notify` (post a signal to a room) and `drop` (record it, do nothing else).

An alert's message carries Ack and Snooze 1h buttons; its resolution is posted as an answer in
the firing message's thread, in every room the firing message went to.
"""
from __future__ import annotations

import dataclasses

from redis import Redis

from router.chat import send as chat
from router.jobs.jobs import Context
from router.core.templates import render
from router.core.config import Config

FIRING = frozenset({"firing", "flapping"})
SEVERITY_EMOJI = {"critical": ":red_circle:", "warning": ":large_orange_circle:",
                  "info": ":large_blue_circle:"}
STATUS_EMOJI = {"resolved": ":white_check_mark:", "acknowledged": ":eyes:", "downtime": ":zzz:",
                "downtime_end": ":alarm_clock:", "succeeded": ":white_check_mark:",
                "passed": ":white_check_mark:", "merged": ":twisted_rightwards_arrows:"}


def is_alert(signal: dict) -> bool:
    return signal.get("kind") == "alert" and bool(signal.get("fingerprint"))


def firing(signal: dict) -> bool:
    return is_alert(signal) and signal.get("status") in FIRING


def default_text(signal: dict) -> str:
    return (signal.get("summary") or signal.get("subject")
            or f"{signal.get('source', '')} {signal.get('kind', '')} {signal.get('status', '')}".strip())


def emoji(signal: dict) -> str:
    if signal.get("status") in STATUS_EMOJI:
        return STATUS_EMOJI[signal["status"]]
    return SEVERITY_EMOJI.get(signal.get("severity", ""), "")


def context_line(signal: dict) -> str:
    parts = [signal.get("source", ""), signal.get("status", ""), signal.get("subject", "")]
    return " · ".join(p for p in parts if p)


def alert_buttons(signal: dict) -> tuple[chat.Button, ...]:
    """Ack / Snooze 1h: a click runs the chat command in its value (sources/slack.py)."""
    fingerprint = signal["fingerprint"]
    return (chat.Button("Ack", "sparky_ack", f"ack {fingerprint}", "primary"),
            chat.Button("Snooze 1h", "sparky_snooze_1h", f"snooze {fingerprint} for 1h"))


def message_for(signal: dict, room: str, key: str, text: str, mention: str = "") -> chat.Message:
    """The message for one signal: buttons and thread anchor when firing, the thread when resolved."""
    return chat.Message(
        room=room, key=key, text=text, mention=mention, emoji=emoji(signal), context=context_line(signal),
        url=signal.get("url", ""), buttons=alert_buttons(signal) if firing(signal) else (),
        anchor=signal["fingerprint"] if firing(signal) else "", signal=signal.get("id", ""))


def notify(signal: dict, conn: Redis, config: Config, *, room: str, mention: str = "", template: str = "",
           ctx: Context | None = None) -> str:
    """Post the signal to `room`, with `mention` (a template too) in front."""
    ctx = ctx or Context(signal["id"], action="notify")
    text = render(template, signal) if template else default_text(signal)
    message = message_for(signal, room, ctx.key, text, render(mention, signal).strip())
    if is_alert(signal) and signal.get("status") == "resolved":
        thread = chat.thread_of(conn, signal["fingerprint"], room)
        if thread:
            message = dataclasses.replace(message, thread=thread)
    return chat.send(conn, config, message, ctx.writes).describe()


def drop(signal: dict, conn: Redis, config: Config, *, reason: str = "", ctx: Context | None = None) -> str:
    """Nothing is posted; the outcome says the signal was dropped (and why, if the rule says)."""
    return f"dropped: {render(reason, signal)}" if reason else "dropped"
