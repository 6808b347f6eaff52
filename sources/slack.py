"""Slack: slash commands, Events API and block_actions → `command` signals from source "chat".

Only text addressed to Sparky becomes a signal (SPEC §3): a slash command, an app mention, a
direct message, a button click. Everything else Slack sends (other channel messages, bot and
edited messages, url_verification, other interaction types) parses to no signal, so the endpoint
can still answer 200 as Slack requires. Requests are checked with slack_sdk's SignatureVerifier.

Choices where SPEC is silent:
- fingerprint: "<room>/<user>", the conversation a command came from.
- subject: "<user name or id> in <room name or id>: <text>", cut to 80 characters.
- A button's text is the action's value (a select's selected value; else the action_id).
- Message subtypes other than thread_broadcast, file_share and me_message are ignored, as is a
  message from the bot user named in `authorizations`.
- Events labels carry `ts` (the message timestamp) so an answer can go to its thread; buttons carry
  `message_ts` so the message can be updated.
- Unknown payload types give no signal; a body with neither `type` nor `command` is a 400.
- A timestamp too far in the future is refused like a stale one (slack_sdk checks |now - ts|).
- `ssl_check=1` (Slack checking a slash command URL's certificate; it expects 200) is answered
  200 with no signal and without a signature check, as Bolt for Python does: Slack's documents
  do not say it is signed, and a form with `ssl_check=1` never yields a signal whatever else it
  carries, so skipping the check lets nothing in. Any other unsigned request is still a 401.
"""
from __future__ import annotations

import re
from typing import Callable, Mapping

from slack_sdk.signature import Clock, SignatureVerifier

from router.core.signal import Signal
from sources.common import (
    Refused,
    decode_form,
    decode_json,
    epoch_iso,
    first_line,
    header,
    is_form,
    is_json,
    media_type,
    obj,
    require,
    seq,
    string,
)

NAME = "chat"
AUTH = "slack"
# Slack wants a 200 from every endpoint, and its own answer shapes (router/pipeline/hooks.py).
FORM, JSON = "application/x-www-form-urlencoded", "application/json"
PATHS = {path: {"ok_status": 200, "slack": True, "bodies": (kind,)}
         for path, kind in (("/slack/commands", FORM), ("/slack/events", JSON), ("/slack/interactions", FORM))}

MAX_AGE = 5 * 60  # Slack's freshness window for the request timestamp, in seconds
SUBJECT_LIMIT = 80

# A leading "<@U123>" or "<@U123|sparky>" mention (and the ":" or "," people put after it).
LEADING_MENTION = re.compile(r"^\s*<@[A-Z0-9]+(?:\|[^>]*)?>[\s:,]*")

# Message subtypes a person produces; every other subtype (bot_message, message_changed,
# message_deleted, channel_join, ...) is Slack or a bot talking, not a command.
USER_SUBTYPES = frozenset({"", "thread_broadcast", "file_share", "me_message"})

# Events API event type → how the signal's `channel` label names the way Sparky was addressed.
EVENT_CHANNELS = {"app_mention": "mention", "message": "dm"}


class FixedClock(Clock):
    """slack_sdk's clock seam, pinned to the time reception passes in (tests pass historic times)."""

    def __init__(self, now: float):
        self._now = now

    def now(self) -> float:
        return self._now


def is_ssl_check(raw: bytes, headers: Mapping[str, str]) -> bool:
    """True for Slack's certificate check of a slash command URL: a form with `ssl_check=1`."""
    if not is_form(headers):
        return False
    try:
        return decode_form(raw).get("ssl_check") == "1"
    except Refused:
        return False


def verify(raw: bytes, headers: Mapping[str, str], secret: str, now: float) -> None:
    """Refuse (401) unless the request carries a fresh, valid Slack v0 signature (or is an ssl_check)."""
    if is_ssl_check(raw, headers):
        return  # parses to no signal (see parse); Slack only needs its 200
    timestamp = header(headers, "X-Slack-Request-Timestamp").strip()
    signature = header(headers, "X-Slack-Signature").strip()
    missing = [name for name, value in (("X-Slack-Signature", signature),
                                        ("X-Slack-Request-Timestamp", timestamp)) if not value]
    if missing:
        raise Refused(401, f"missing {' and '.join(missing)}")
    if not re.fullmatch(r"[0-9]{1,12}", timestamp):
        raise Refused(401, "malformed X-Slack-Request-Timestamp: expected unix seconds")
    if abs(now - int(timestamp)) > MAX_AGE:
        raise Refused(401, "stale timestamp: X-Slack-Request-Timestamp is more than 5 minutes from now")
    verifier = SignatureVerifier(secret, clock=FixedClock(now))
    try:
        valid = verifier.is_valid(body=raw, timestamp=timestamp, signature=signature)
    except (UnicodeDecodeError, TypeError, ValueError):  # non-UTF-8 body or non-ASCII signature
        valid = False
    if not valid:
        raise Refused(401, "bad signature: X-Slack-Signature does not match the body")


def load(raw: bytes, headers: Mapping[str, str]) -> dict:
    """Decode any of the three endpoints' bodies: interaction `payload=`, slash command form, event JSON."""
    if is_form(headers):
        form = decode_form(raw)
        if "payload" in form:
            data = decode_json(form["payload"].encode("utf-8"))
        elif "command" in form or form.get("ssl_check") == "1":
            return form
        else:
            raise Refused(400, "form body has neither payload nor command")
    elif is_json(headers):
        data = decode_json(raw)
    else:
        raise Refused(415, f"unsupported content type {media_type(headers)!r}")
    if not isinstance(data, dict):
        raise Refused(400, f"expected a JSON object, got {type(data).__name__}")
    return data


def challenge(payload: object) -> str | None:
    """The url_verification challenge to echo back, or None for any other payload."""
    if isinstance(payload, dict) and payload.get("type") == "url_verification":
        value = payload.get("challenge")
        return value if isinstance(value, str) else None
    return None


def parse(payload: object, headers: Mapping[str, str]) -> list[Signal]:
    """A command signal for text addressed to Sparky; [] for everything else Slack sends."""
    if not isinstance(payload, dict):
        raise Refused(400, f"expected a JSON object, got {type(payload).__name__}")
    if payload.get("ssl_check") == "1":
        return []  # unverified (see verify): must never become a signal
    kind = payload.get("type")
    if kind is None and "command" in payload:
        return _slash(payload)
    if not isinstance(kind, str):
        raise Refused(400, "type: missing")
    handler = PAYLOADS.get(kind)
    return handler(payload) if handler else []


def _signal(channel: str, text: str, room: str, user: str, room_name: str = "", user_name: str = "",
            occurred_at: str = "", dedup: str = "", **extra: str) -> Signal:
    actor = user_name or user
    where = room_name or room
    subject = f"{actor} in {where}: {text}" if text else f"{actor} in {where}"
    if len(subject) > SUBJECT_LIMIT:
        subject = subject[: SUBJECT_LIMIT - 1] + "…"
    labels = {"room": room, "room_name": room_name, "user": user, "user_name": user_name,
              "channel": channel, **extra}
    return Signal(
        source=NAME,
        kind="command",
        status="received",
        severity="info",
        subject=subject,
        fingerprint=f"{room}/{user}",
        labels={k: v for k, v in labels.items() if v},
        summary=first_line(subject),
        text=text,
        actor=actor,
        occurred_at=occurred_at,
        dedup=dedup,
    )


def _slash(form: dict) -> list[Signal]:
    return [_signal(
        "slash", string(form, "text").strip(),
        room=require(string(form, "channel_id"), "channel_id"),
        user=require(string(form, "user_id"), "user_id"),
        room_name=string(form, "channel_name"), user_name=string(form, "user_name"),
        response_url=string(form, "response_url"), command=string(form, "command"),
    )]


def _event(payload: dict) -> list[Signal]:
    event = payload.get("event")
    if not isinstance(event, dict):
        raise Refused(400, "event: missing")
    channel = EVENT_CHANNELS.get(string(event, "type"))
    if channel is None or string(event, "bot_id") or string(event, "subtype") not in USER_SUBTYPES:
        return []
    if channel == "dm" and string(event, "channel_type") != "im":
        return []  # a plain channel message: not addressed to Sparky (mentions come as app_mention)
    user = require(string(event, "user"), "event.user")
    bots = {string(a, "user_id") for a in seq(payload, "authorizations")
            if isinstance(a, dict) and a.get("is_bot")}
    if user in bots:
        return []  # Sparky's own message
    text = LEADING_MENTION.sub("", string(event, "text"), count=1).strip()
    return [_signal(
        channel, text,
        room=require(string(event, "channel"), "event.channel"), user=user,
        occurred_at=(epoch_iso(event.get("event_ts") or event.get("ts"))
                     or epoch_iso(payload.get("event_time"))),
        dedup=string(payload, "event_id"),
        ts=string(event, "ts"),
    )]


def _block_actions(payload: dict) -> list[Signal]:
    actions = [a for a in seq(payload, "actions") if isinstance(a, dict)]
    if not actions:
        raise Refused(400, "actions: missing")
    action = actions[0]  # Slack sends the one element that was clicked
    text = (string(action, "value") or string(action, "selected_option", "value")
            or string(action, "action_id")).strip()
    container = obj(payload, "container")
    return [_signal(
        "button", text,
        room=require(string(payload, "channel", "id") or string(container, "channel_id"), "channel.id"),
        user=require(string(payload, "user", "id"), "user.id"),
        room_name=string(payload, "channel", "name"),
        user_name=string(payload, "user", "username") or string(payload, "user", "name"),
        occurred_at=epoch_iso(action.get("action_ts")),
        response_url=string(payload, "response_url"), action_id=string(action, "action_id"),
        message_ts=string(container, "message_ts"),
    )]


PAYLOADS: dict[str, Callable[[dict], list[Signal]]] = {
    "event_callback": _event,
    "block_actions": _block_actions,
}
