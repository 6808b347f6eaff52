"""Which chat platform a room name means: `xmpp:…`, `slack:…`, `builtin:…`, or unprefixed.

Slack, XMPP and the built-in rooms can be on at once, so the room name says where it is:

| room name | goes to |
|---|---|
| `xmpp:ops@conference.chat.example`, `xmpp:ops` | an XMPP room in XMPP_ROOMS (by JID, or its local part) |
| `xmpp:alice@chat.example` | a person's JID: a direct message |
| `slack:#ops`, `slack:C0123` | a Slack channel (needs SLACK_BOT_TOKEN) |
| `builtin:#ops` | Sparky's built-in room `#ops` (the dashboard, `sparky rooms`) |
| `#ops`, `C0123` (no prefix) | Slack when SLACK_BOT_TOKEN is set, else the built-in room: as before |

The name as written stays the message's room everywhere Sparky keeps track of it (delivery
markers, an alert's threads, permissions.yml `rooms:`); only the transport sees the part after
the prefix.
"""
from __future__ import annotations

from router.core.config import Config
from router.core.outcomes import Permanent

# prefix → transport (the `transport` of a delivery marker and of chat.Sent)
PREFIXES = {"xmpp": "xmpp", "slack": "slack", "builtin": "rooms"}
NAMES = {"xmpp": "XMPP", "slack": "Slack", "rooms": "built-in room"}


def split(room: str) -> tuple[str, str]:
    """(prefix, the rest) for a prefixed name; ("", room) otherwise."""
    prefix, sep, rest = room.partition(":")
    if sep and prefix.lower() in PREFIXES and rest.strip():
        return prefix.lower(), rest.strip()
    return "", room


def is_xmpp(room: str) -> bool:
    return split(room)[0] == "xmpp"


def transport(config: Config, room: str) -> tuple[str, str]:
    """(transport, what the transport calls the room) for a room name; Permanent when the name
    asks for a platform that is not configured."""
    prefix, target = split(room)
    if not prefix:
        return ("slack" if config.slack_bot_token else "rooms"), room
    if prefix == "slack" and not config.slack_bot_token:
        raise Permanent(f"{room}: Slack is not configured (SLACK_BOT_TOKEN is unset)")
    if prefix == "xmpp" and not config.xmpp_jid:
        raise Permanent(f"{room}: XMPP is not configured (XMPP_JID is unset)")
    return PREFIXES[prefix], target
