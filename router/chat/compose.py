"""A signal as a chat message: its text, emoji, small print, buttons and thread anchor.

What every effect that posts a signal shares (actions/notify.py, group, escalate, a snooze's end
re-posting what still fires): an alert's firing message carries Ack and Snooze 1h buttons and is
remembered as the alert's thread in that room; its resolution answers in that thread.
"""
from __future__ import annotations

from router.chat.send import Button, Message
from router.core import brain

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


def alert_buttons(signal: dict) -> tuple[Button, ...]:
    """Ack / Snooze 1h: a click runs the chat command in its value (sources/slack.py); where there
    are no buttons the hint names the alert by the short id `alerts` shows."""
    fingerprint = signal["fingerprint"]
    short = brain.alert_id(fingerprint)
    return (Button("Ack", "sparky_ack", f"ack {fingerprint}", "primary", hint=f"ack {short}"),
            Button("Snooze 1h", "sparky_snooze_1h", f"snooze {fingerprint} for 1h",
                   hint=f"snooze {short} for 1h"))


def message_for(signal: dict, room: str, key: str, text: str, mention: str = "") -> Message:
    """The message for one signal: buttons and thread anchor when firing, the thread when resolved."""
    return Message(
        room=room, key=key, text=text, mention=mention, emoji=emoji(signal), context=context_line(signal),
        url=signal.get("url", ""), buttons=alert_buttons(signal) if firing(signal) else (),
        anchor=signal["fingerprint"] if firing(signal) else "", signal=signal.get("id", ""))
