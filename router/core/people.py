"""Mentions: `@alice`, `@oncall` or `bob-gh` → Slack's `<@U01ALICE>` or an XMPP JID, from people.yml.

people.yml (SPEC §10) maps people to their ids elsewhere and names groups of them. A name is
looked up as a person, then as a group (every member is mentioned), then by GitHub login or email
(so `{actor}` from a pull request finds the right person). Anything unknown is left as written,
so a mention never fails a delivery. The file is re-read when it changes.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

log = logging.getLogger(__name__)

FILE_NAME = "people.yml"
SPECIAL = {"here": "<!here>", "channel": "<!channel>", "everyone": "<!everyone>"}
SEPARATORS = re.compile(r"[\s,]+")


@dataclass(frozen=True)
class People:
    people: dict[str, dict] = field(default_factory=dict)
    groups: dict[str, list[str]] = field(default_factory=dict)

    def person(self, name: str) -> dict | None:
        if name in self.people:
            return self.people[name]
        lowered = name.lower()
        for entry in self.people.values():
            if lowered in (str(entry.get("github", "")).lower(), str(entry.get("email", "")).lower()):
                return entry
        return None


_cache: dict[Path, tuple[float, People]] = {}


def load(rules_dir: Path) -> People:
    """people.yml from `rules_dir`, cached until its modification time changes."""
    path = Path(rules_dir) / FILE_NAME
    try:
        mtime = path.stat().st_mtime
    except OSError:
        return People()
    cached = _cache.get(path)
    if cached and cached[0] == mtime:
        return cached[1]
    try:
        data = yaml.safe_load(path.read_text()) or {}
        people = People(
            people={str(k): dict(v or {}) for k, v in (data.get("people") or {}).items()},
            groups={str(k): [str(m) for m in (v or [])] for k, v in (data.get("groups") or {}).items()})
    except (yaml.YAMLError, AttributeError, TypeError, ValueError) as exc:
        # `sparky rules check` reports a broken file; delivery goes on with names as written.
        log.warning("%s unreadable (%s); mentions are posted as written", path, type(exc).__name__)
        people = People()
    _cache[path] = (mtime, people)
    return people


def slack_mentions(text: str, people: People) -> str:
    """Every name in `text` as a Slack mention where people.yml knows it."""
    out: list[str] = []
    for token in SEPARATORS.split(text.strip()):
        if not token:
            continue
        out.extend(_resolve(token, people, seen=set()))
    # The same person reached twice (directly and through a group) is mentioned once.
    return " ".join(dict.fromkeys(out))


def _resolve(token: str, people: People, seen: set[str]) -> list[str]:
    if token.startswith("<") and token.endswith(">"):
        return [token]  # already a Slack mention
    name = token[1:] if token.startswith("@") else token
    if name in SPECIAL:
        return [SPECIAL[name]]
    if name in people.groups and name not in seen:
        seen.add(name)
        return [m for member in people.groups[name] for m in _resolve(member, people, seen)]
    entry = people.person(name)
    if entry and entry.get("slack"):
        return [f"<@{entry['slack']}>"]
    if re.fullmatch(r"[UW][A-Z0-9]{6,}", name):
        return [f"<@{name}>"]  # a Slack user id written directly
    return [token if token.startswith("@") else f"@{token}"]


def xmpp_mentions(text: str, people: People) -> list[tuple[str, str]]:
    """Every name in `text` as (name, XMPP JID or ""), groups expanded, each person once.

    An XMPP room has no mention syntax: the holder (router/chat/xmpp/) names a person by their
    nick when their JID is in the room, else by this name.
    """
    out: dict[str, str] = {}
    for token in SEPARATORS.split(text.strip()):
        if token:
            for name, jid in _resolve_xmpp(token.lstrip("@"), people, seen=set()):
                out.setdefault(name, jid)
    return list(out.items())


def _resolve_xmpp(name: str, people: People, seen: set[str]) -> list[tuple[str, str]]:
    if name in people.groups and name not in seen:
        seen.add(name)
        return [m for member in people.groups[name] for m in _resolve_xmpp(member.lstrip("@"), people, seen)]
    entry = people.person(name)
    if entry is None:
        return [(name, "")]
    # the people.yml name, not the login or e-mail the rule may have used
    key = next((k for k, v in people.people.items() if v is entry), name)
    return [(key, str(entry.get("xmpp") or "").lower())]
