"""Where commands come from and where their answers go: one function per direction.

Channels (the signal's `channel` label): `slash`, `button` (Slack, answered at the request's
`response_url`), `mention`, `dm` (Slack, answered with a post in the same conversation), `room`
(the built-in rooms: `POST /api/rooms/<room>/messages`, answered in the room) and `cli`
(`sparky say`, answered on the terminal, nothing posted).

Choices where SPEC is silent:
- Slack answers through `response_url` are `in_channel` for commands that change something
  (snooze, unsnooze, ack: the room sees who did it) and `ephemeral` for the rest (help, alerts,
  why, refusals), as Slack's own apps do. A `response_url` that no longer works (expired after
  30 minutes, or used 5 times) falls back to a post in the room.
- Mentions and DMs are answered with a post in the conversation, not in a thread.
"""
from __future__ import annotations

import logging

from redis import Redis
from slack_sdk.webhook import WebhookClient

from router.chat import rooms
from router.chat import send as chat
from router.chat.slack import escape
from router.commands.declare import Reply
from router.core.config import Config
from router.core.outcomes import Later, Retryable, classify, retry_after
from router.core.signal import Signal

log = logging.getLogger("sparky.commands")

SUBJECT_LIMIT = 80
RESPONSE_URL_GONE = (404, 410)   # expired_url / used_url: post in the room instead


def chat_signal(channel: str, text: str, room: str, user: str, **extra: str) -> Signal:
    """A chat command signal, shaped like the ones sources/slack.py makes (SPEC §3)."""
    where = room or "the terminal"
    subject = f"{user} in {where}: {text}" if text else f"{user} in {where}"
    if len(subject) > SUBJECT_LIMIT:
        subject = subject[: SUBJECT_LIMIT - 1] + "…"
    labels = {"room": room, "room_name": room, "user": user, "channel": channel, **extra}
    return Signal(source="chat", kind="command", status="received", severity="info", subject=subject,
                  fingerprint=f"{room}/{user}", labels={k: v for k, v in labels.items() if v},
                  summary=subject.split("\n", 1)[0], text=text, actor=user)


def record_said(conn: Redis, room: str, user: str, text: str, signal_id: str) -> str:
    """The person's own line in a built-in room (the dashboard's chat box shows the conversation)."""
    ts, _ = rooms.post(conn, room, f"said/{signal_id}",
                       {"text": f"{user}: {text}", "author": user, "command": text, "signal": signal_id})
    return ts


def deliver(conn: Redis, config: Config, signal: dict, reply: Reply) -> str:
    """Send a command's reply back where the command came from; returns where it went."""
    labels = signal.get("labels") or {}
    channel, room, sid = labels.get("channel", ""), labels.get("room", ""), signal.get("id", "")
    key = f"command/{sid}/reply"
    if channel == "cli":
        return "printed"
    if channel == "room":
        ts, _ = rooms.post(conn, room, key, {"text": reply.text, "author": "sparky", "reply_to": sid,
                                             "signal": sid, "outcome": reply.outcome})
        return f"posted to built-in room {room} ({ts})"
    url = labels.get("response_url", "")
    if url and channel in ("slash", "button"):
        status = _respond(config, url, reply)
        if status not in RESPONSE_URL_GONE:
            return f"answered at response_url ({status})"
        log.info("response_url of %s no longer works (%s); posting in %s instead", sid, status, room)
    if not room:
        return "nowhere to answer"
    sent = chat.send(conn, config, chat.Message(room=room, key=key, text=reply.text, signal=sid))
    return sent.describe()


def _respond(config: Config, url: str, reply: Reply) -> int:
    client = WebhookClient(url, timeout=int(max(1, config.slack_timeout)), retry_handlers=[])
    body = {"text": escape(reply.text), "response_type": "in_channel" if reply.public else "ephemeral",
            "replace_original": False}
    try:
        response = client.send_dict(body)
    except Exception as exc:  # noqa: BLE001  timeouts and refused connections: RQ retries the job
        raise Retryable(f"response_url: {type(exc).__name__}") from None
    failure = classify(response.status_code, f"response_url answered {response.status_code}",
                       wait=retry_after(response.headers.get("Retry-After") if response.headers else None))
    if isinstance(failure, (Later, Retryable)):
        raise failure
    if response.status_code >= 400 and response.status_code not in RESPONSE_URL_GONE:
        log.warning("response_url refused the reply: %s %s", response.status_code, (response.body or "")[:200])
    return response.status_code
