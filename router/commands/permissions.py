"""Who may run which command, where, with which arguments: people.yml + permissions.yml (SPEC §10).

Pure functions over the rules data (router/engine loads and validates both files). The same
check runs for every channel — Slack, the built-in rooms, `sparky say` — on the server.

Identity: the caller's Slack id or XMPP JID (from those platforms, only that), or person name,
GitHub login or e-mail (built-in rooms, the CLI, the API) is looked up in people.yml.
Someone not found there is refused everything while permissions.yml exists ("*" means everyone
*known* in people.yml, SPEC §10).

How permissions.yml entries combine (SPEC says only "this entry covers only these arguments"):
1. An entry applies to a command when it names it (or "*").
2. For an invocation with arguments (e.g. `snooze` of production alerts: env=production), the
   entries whose `args` all hold for it govern; when none does, the entries without `args` govern.
   So an `args` entry is an exception to the general rule for that command, stricter or looser.
3. A multi-valued argument (a snooze that hits staging and production alerts) must be allowed
   for each of its values.
4. Among the governing entries, one that allows the person (by name, group — groups may contain
   groups — or "*") and the room (no `rooms` = anywhere) is enough.
5. `help` lists a command when some entry for it allows the person in this room.
Without a permissions.yml at all, permissions are off (every command for everyone), the same way
an unset secret turns its check off; `help` says so.

Command packs (commands/*.yml) are the exception: a pack command runs for nobody until a grant
names it, whether permissions.yml exists or not. A pack command's own `permission:` is an entry
like permissions.yml's for its command word, covering only that form (`args: {form: <name>}`), so
`lunch` may be for everyone and `lunch remove` for the leads; permissions.yml may grant a pack
command too, by its word (every form) or with `args: {form: ...}`.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Person:
    name: str                      # people.yml name, or the id the caller came with when unknown
    known: bool
    slack: str = ""
    tz: str = ""
    groups: frozenset[str] = frozenset()

    def display(self) -> str:
        return self.name


@dataclass(frozen=True)
class Entry:
    number: int                    # 1-based position in permissions.yml, shown in audit and refusals
    commands: tuple[str, ...]
    allow: tuple[str, ...]
    rooms: tuple[str, ...] = ()               # as written (`#ops`, `C0123`); compared by room_key
    args: dict = field(default_factory=dict)    # name → frozenset of allowed values (as text)
    where: str = ""                # a pack's own grant: its file:line (shown instead of permissions.yml#N)

    @property
    def rule(self) -> str:
        return self.where or f"permissions.yml#{self.number}"

    def names(self, command: str) -> bool:
        return command in self.commands or "*" in self.commands


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    reason: str = ""
    rule: str = ""                 # which entry allowed or refused it, for the audit trail


@dataclass(frozen=True)
class Policy:
    entries: tuple[Entry, ...]
    configured: bool               # False: no permissions.yml, everything is allowed
    people: dict
    groups: dict
    granted_only: frozenset[str] = frozenset()   # pack commands: nobody's until a grant names them


def room_key(room: str) -> str:
    return room.strip().lstrip("#").lower()


def _as_list(value) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple, set, frozenset)) else [value]


def policy(data: dict) -> Policy:
    """The permission policy of the rules in force (`Rules.data`)."""
    raw = data.get("permissions")
    entries = []
    for i, entry in enumerate(raw or []):
        args = {str(k): frozenset(str(v) for v in _as_list(vals)) for k, vals in (entry.get("args") or {}).items()}
        entries.append(Entry(i + 1, tuple(str(c) for c in _as_list(entry.get("command"))),
                             tuple(str(a) for a in _as_list(entry.get("allow"))),
                             tuple(str(r) for r in _as_list(entry.get("rooms"))), args))
    granted_only = set()
    for word, forms in (data.get("packs") or {}).items():
        granted_only.add(word)
        for form in forms:
            grant = form.permission
            if grant:
                rooms = tuple(str(r) for r in (grant.get("rooms") or form.rooms))
                entries.append(Entry(0, (word,), tuple(str(a) for a in grant["allow"]), rooms,
                                     {"form": frozenset({form.name})}, where=form.where))
    return Policy(tuple(entries), raw is not None, dict(data.get("people") or {}), dict(data.get("groups") or {}),
                  frozenset(granted_only))


def _memberships(groups: dict, person: str) -> frozenset[str]:
    """Every group the person is in, directly or through groups in groups."""
    inside: set[str] = set()
    changed = True
    while changed:
        changed = False
        for group, members in groups.items():
            if group not in inside and any(m == person or m in inside for m in _as_list(members)):
                inside.add(group)
                changed = True
    return frozenset(inside)


def identify(pol: Policy, user: str, via: str = "") -> Person:
    """The person behind a Slack id or an XMPP JID, or (from the built-in rooms and the CLI) a
    name, GitHub login or e-mail. A request from a chat platform (`via` "slack" or "xmpp") is
    matched on that platform's id in people.yml only: a display name or nick is chosen by its
    owner and proves nothing, while the platform vouches for its ids."""
    want = (user or "").strip().lstrip("@")
    lowered = want.lower()
    for name, entry in pol.people.items() if want else ():
        entry = entry or {}
        keys = {str(entry.get(via, "")).lower()} if via else {
            str(name).lower(), str(entry.get("slack", "")).lower(), str(entry.get("github", "")).lower(),
            str(entry.get("email", "")).lower(), str(entry.get("xmpp", "")).lower()}
        if lowered in keys - {""}:
            return Person(str(name), True, str(entry.get("slack", "")), str(entry.get("tz", "")),
                          _memberships(pol.groups, str(name)))
    return Person(want or "someone", False)


def _allows(entry: Entry, who: Person) -> bool:
    if not who.known:
        return False
    return any(a == "*" or a == who.name or a in who.groups for a in entry.allow)


def _room_ok(entry: Entry, rooms: frozenset[str]) -> bool:
    return not entry.rooms or any(room_key(r) in rooms for r in entry.rooms)


def _describe_args(combo: dict) -> str:
    return " ".join(f"{k}={v}" for k, v in sorted(combo.items()))


def _who_list(entries: list[Entry]) -> str:
    names = sorted({a for e in entries for a in e.allow})
    return "everyone in people.yml" if "*" in names else ", ".join(names)


def _room_list(entries: list[Entry]) -> str:
    return ", ".join(sorted({r for e in entries for r in e.rooms}))


def _refusal(command: str, combo: dict, governing: list[Entry], who: Person, rooms: frozenset[str],
             where: str, pack: bool = False) -> Verdict:
    what = f"`{command}`" + (f" with {_describe_args(combo)}" if combo else "")
    if not governing:
        if pack:
            return Verdict(False, f"nobody may run {what} until it is granted (its pack's `permission:` "
                                  f"or permissions.yml).", "permissions.yml")
        return Verdict(False, f"permissions.yml lets nobody run {what}.", "permissions.yml")
    mine = [e for e in governing if _allows(e, who)]
    if mine:  # right person, wrong room
        return Verdict(False, f"{what} may be run only in {_room_list(mine)}, not in {where}.", mine[0].rule)
    only_in = f" in {_room_list(governing)}" if all(e.rooms for e in governing) else ""
    return Verdict(False, f"{what} is for {_who_list(governing)}{only_in}; {who.name} is not one of them.",
                   governing[0].rule)


def check(pol: Policy, who: Person, command: str, rooms: frozenset[str], where: str,
          args: dict | None = None) -> Verdict:
    """May `who` run `command` from a room known by the names `rooms`, with `args`?

    `args=None` asks whether the person may run the command here at all (with some arguments);
    `args` maps an argument name to its value or values.
    """
    if not pol.configured and command not in pol.granted_only:
        return Verdict(True, rule="permissions off (no permissions.yml)")
    if not who.known:
        return Verdict(False, f"I don't know you ({who.name}): ask an admin to add you to people.yml.",
                       "people.yml")
    pack = command in pol.granted_only
    # A pack command is granted by name only: "*" in permissions.yml predates the pack.
    entries = [e for e in pol.entries if (command in e.commands if pack else e.names(command))]
    if args is None:
        usable = [e for e in entries if _allows(e, who) and _room_ok(e, rooms)]
        if usable:
            return Verdict(True, rule=usable[0].rule)
        return _refusal(command, {}, entries, who, rooms, where, pack)
    values = {k: sorted({str(v) for v in _as_list(vals)}) for k, vals in args.items()}
    values = {k: v for k, v in values.items() if v}
    combos = [dict(zip(values, picked)) for picked in itertools.product(*values.values())] or [{}]
    used = []
    for combo in combos:
        governing = [e for e in entries if e.args and all(k in combo and combo[k] in allowed
                                                          for k, allowed in e.args.items())]
        if not governing:
            governing = [e for e in entries if not e.args]
        ok = [e for e in governing if _allows(e, who) and _room_ok(e, rooms)]
        if not ok:
            return _refusal(command, combo, governing, who, rooms, where, pack)
        used.append(ok[0].rule)
    return Verdict(True, rule=",".join(dict.fromkeys(used)))
