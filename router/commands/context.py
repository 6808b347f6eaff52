"""What a running command knows: who asked, from where, the rules data in force, the clock."""
from __future__ import annotations

import zoneinfo
from dataclasses import dataclass

from redis import Redis

from router.chat import platforms
from router.commands import permissions
from router.commands.declare import Command, Refused
from router.commands.permissions import Person, Policy
from router.core import brain
from router.core.config import Config
from router.core.times import zone

DEFAULT_TZ = "UTC"


@dataclass
class Context:
    conn: Redis
    config: Config
    signal: dict
    who: Person
    policy: Policy
    data: dict                      # the rules data in force: people, groups, permissions, guardrails, ...
    rules_version: str
    now: float
    command: Command | None = None
    rule: str = ""                  # the permission entry that let the command run (audit)

    @property
    def labels(self) -> dict:
        return self.signal.get("labels") or {}

    @property
    def channel(self) -> str:
        return self.labels.get("channel", "")

    @property
    def room(self) -> str:
        """The room the command came from, as the signal names it (Slack id, `#ops`, "" for a terminal)."""
        return self.labels.get("room", "")

    @property
    def room_name(self) -> str:
        name = self.labels.get("room_name", "")
        if not name and self.room:
            cached = self.conn.hget(brain.key_room_names(), self.room)
            name = cached.decode() if cached else ""
        return name

    def rooms(self) -> frozenset[str]:
        """Every name this room goes by, compared with permissions.yml's `rooms`."""
        return frozenset(permissions.room_key(r) for r in (self.room, self.room_name) if r)

    def where(self) -> str:
        if not self.room:
            return "the API" if self.channel == "api" else "the terminal"
        name = self.room_name
        if name:
            # `#ops`, a platform's name (`xmpp:ops@conference.chat.example`), or `ops` → `#ops`
            return name if name.startswith("#") or platforms.split(name)[0] else f"#{name}"
        return self.room

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        """The caller's time zone (people.yml `tz`), else the deploy calendar's, else UTC."""
        calendar = self.data.get("calendar") or {}
        return zone(self.who.tz) or zone(str(calendar.get("timezone", ""))) or zoneinfo.ZoneInfo(DEFAULT_TZ)

    def authorize(self, **args) -> None:
        """Refuse unless permissions.yml lets the caller run this command with these arguments."""
        verdict = permissions.check(self.policy, self.who, self.command.name, self.rooms(), self.where(), args)
        if not verdict.allowed:
            raise Refused(verdict.reason, verdict.rule)
        self.rule = verdict.rule

    def audit(self, event: str, **fields) -> str:
        """An audit entry with who/room/channel/signal filled in."""
        entry = {"who": self.who.name, "user": self.labels.get("user", ""), "room": self.where(),
                 "channel": self.channel, "signal": self.signal.get("id", ""), **fields}
        return brain.audit(self.conn, event, **entry)
