"""Where an `xmpp:` room name points: a room Sparky is in, or a person's JID (a direct message).

- `xmpp:ops@conference.chat.example` is a room when it is one of XMPP_ROOMS;
- `xmpp:ops` (or `xmpp:#ops`) is the room of XMPP_ROOMS with that local part;
- any other JID is a person, unless its domain is one of the rooms' domains: then it names a room
  Sparky has not joined, which is refused (a typo would otherwise become a DM to nobody).
"""
from __future__ import annotations

from dataclasses import dataclass

from router.core.config import Config
from router.core.outcomes import Permanent


@dataclass(frozen=True)
class Address:
    jid: str            # bare JID, lower case
    room: bool          # a multi-user chat room (groupchat) rather than a person (chat)


def resolve(config: Config, target: str) -> Address:
    """The JID behind the part of a room name after `xmpp:`; Permanent when it names nothing."""
    name = target.strip().lstrip("#").lower()
    if "/" in name:
        raise Permanent(f"xmpp:{target}: give a bare JID (no /resource)")
    if "@" not in name:
        rooms = [r for r in config.xmpp_rooms if r.partition("@")[0] == name]
        if len(rooms) == 1:
            return Address(rooms[0], True)
        which = ", ".join(config.xmpp_rooms) or "none"
        raise Permanent(f"xmpp:{target}: no room of that name in XMPP_ROOMS ({which})")
    if name in config.xmpp_rooms:
        return Address(name, True)
    local, _, domain = name.partition("@")
    if not local or not domain:
        raise Permanent(f"xmpp:{target}: not a JID")
    if domain in {r.partition("@")[2] for r in config.xmpp_rooms}:
        raise Permanent(f"xmpp:{target}: a room Sparky is not in; add it to XMPP_ROOMS")
    return Address(name, False)
