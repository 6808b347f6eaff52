"""Declaring chat commands: a command is a decorated function whose docstring is its help.

After errbot's `@botcmd`:

    @command("ack", public=True)
    def ack(ctx: Context, args: str) -> Reply:
        \"\"\"Acknowledge an alert: escalation and repeats stop until it changes state.

        Usage: ack <alert id or fingerprint> [reason]
        ...
        \"\"\"

The docstring's first line is what `help` lists; the `Usage:` line is shown with any mistake in
the command's arguments; the whole docstring is `help <command>`. A command returns a `Reply`,
or raises `Refused` (permission or guardrail, audited as refused) or `UsageError` (malformed
input, answered with the usage).
"""
from __future__ import annotations

import difflib
import inspect
from dataclasses import asdict, dataclass
from typing import Callable

from router.core.registry import current


@dataclass
class Reply:
    text: str
    outcome: str = "ok"            # ok | refused | usage | unknown | error
    public: bool = False           # Slack: shown to the room (in_channel), else only to the caller
    error_id: str = ""

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Reply":
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


class Refused(Exception):
    """The caller may not do this (permissions, guardrails); the message says why.

    `kind` says what sort of no it is, for callers that answer with more than text (the HTTP
    API's status codes): `forbidden` (who: permissions.yml, people.yml, approvers), `guardrail`
    (suppression.yml limits), `conflict` (the thing's state: closed, deploying), `missing`,
    `invalid` (an argument the domain rejects), `upstream` (GitHub could not be asked).
    Chat shows every kind the same way.
    """

    def __init__(self, reason: str, rule: str = "", kind: str = "forbidden"):
        super().__init__(reason)
        self.reason = reason
        self.rule = rule
        self.kind = kind


class UsageError(Exception):
    """The arguments do not parse; the message says what is wrong, the usage follows it."""


@dataclass(frozen=True)
class Command:
    name: str
    func: Callable
    summary: str
    help: str
    usage: str
    public: bool = False
    aliases: tuple[str, ...] = ()


# Every command declared with @command, by name: router/commands/plugin.py registers them with
# the process's registry at start-up (router/core/registry.py), as a plugin registers its own.
DECLARED: dict[str, Command] = {}


def _usage(doc: str, name: str) -> str:
    lines = doc.splitlines()
    for i, line in enumerate(lines):
        if line.strip().lower().startswith("usage:"):
            first = line.split(":", 1)[1].strip()
            more = [extra.strip() for extra in lines[i + 1:] if extra.startswith("       ") and extra.strip()]
            return "\n".join([first, *more]) if first else "\n".join(more)
    return name


def command(name: str, *, public: bool = False, aliases: tuple[str, ...] = ()):
    """Register `func(ctx, args) -> Reply` as the chat command `name` (docstring = help)."""
    def declare(func: Callable) -> Callable:
        DECLARED[name] = declared(name, func, public=public, aliases=aliases)
        return func
    return declare


def declared(name: str, func: Callable, *, public: bool = False, aliases: tuple[str, ...] = ()) -> Command:
    """The `Command` for `func(ctx, args) -> Reply`, its help from its docstring."""
    doc = inspect.cleandoc(func.__doc__ or name)
    return Command(name=name, func=func, summary=doc.splitlines()[0], help=doc, usage=_usage(doc, name),
                   public=public, aliases=aliases)


def commands() -> dict[str, Command]:
    """The chat commands in force: every one registered with the process's registry."""
    return current().commands


def lookup(name: str) -> Command | None:
    return current().command(name)


def one_of(names: list[str]) -> str:
    """`a`, `a` or `b`, `a`, `b` or `c` (names in backticks)."""
    quoted = [f"`{n}`" for n in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]


def suggest(name: str, choices: list[str]) -> list[str]:
    """Close spellings among `choices` (difflib), best first."""
    return difflib.get_close_matches(name.lower(), choices, n=3, cutoff=0.6)
