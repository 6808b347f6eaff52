"""A pack command's `formats`: `"traffic {date?:date}"`, `"lunch add {place:text}"`, matched to what
was typed (after StackStorm's action aliases).

A format is words: the first is the chat command (`traffic`), plain words must be typed as they
are (case aside), and `{name}` takes one word, `{name?}` one word or nothing, `{name:TYPE}`
converts it: `word` (the default), `int`, `date` (`2026-12-01`, `today`, `yesterday`; an
optional date left out is today, in the caller's time zone) and `text` (every word left, so
only last). Pure functions: no Redis, no clock (today is given).
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

TYPES = ("word", "int", "date", "text")
PARAM = re.compile(r"^\{([A-Za-z_][A-Za-z0-9_]*)(\?)?(?::([a-z]+))?\}$")


class FormatError(ValueError):
    """A format that cannot be used; the message says why."""


@dataclass(frozen=True)
class Part:
    literal: str = ""            # a word to type, or "" for a parameter
    name: str = ""
    type: str = "word"
    optional: bool = False


@dataclass(frozen=True)
class Format:
    text: str
    word: str                    # the chat command it belongs to
    parts: tuple[Part, ...]

    @property
    def params(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.parts if not p.literal)

    def usage(self) -> str:
        """`traffic [date]`, `lunch add <place>`: how help shows it."""
        shown = [self.word]
        for part in self.parts:
            if part.literal:
                shown.append(part.literal)
            else:
                label = part.name + ("…" if part.type == "text" else "")
                shown.append(f"[{label}]" if part.optional else f"<{label}>")
        return " ".join(shown)


def parse_format(text: str) -> Format:
    words = str(text).split()
    if not words:
        raise FormatError("an empty format")
    word = words[0].lower()
    if not re.match(r"^[a-z][a-z0-9_-]*$", word):
        raise FormatError(f'a format starts with the command\'s name (lower-case letters, digits, - _), not "{words[0]}"')
    parts: list[Part] = []
    seen: set[str] = set()
    for i, token in enumerate(words[1:], start=1):
        if "{" not in token and "}" not in token:
            parts.append(Part(literal=token.lower()))
            continue
        match = PARAM.match(token)
        if not match:
            raise FormatError(f'"{token}" is not a parameter: write {{name}}, {{name?}} or {{name:type}}')
        name, optional, kind = match.group(1), bool(match.group(2)), match.group(3) or "word"
        if kind not in TYPES:
            raise FormatError(f'parameter "{name}": unknown type "{kind}" (one of {", ".join(TYPES)})')
        if name in seen:
            raise FormatError(f'parameter "{name}" appears twice')
        if kind == "text" and i != len(words) - 1:
            raise FormatError(f'parameter "{name}": a text parameter takes the rest of the line, so it comes last')
        seen.add(name)
        parts.append(Part(name=name, type=kind, optional=optional))
    return Format(text=str(text), word=word, parts=tuple(parts))


def convert(part: Part, value: str, today: dt.date) -> object:
    """The typed value of one parameter; ValueError with a message a chat user can act on."""
    if part.type == "int":
        try:
            return int(value)
        except ValueError:
            raise ValueError(f"`{part.name}` must be a whole number, not `{value}`") from None
    if part.type == "date":
        lowered = value.lower()
        if lowered == "today":
            return today.isoformat()
        if lowered == "yesterday":
            return (today - dt.timedelta(days=1)).isoformat()
        try:
            return dt.date.fromisoformat(value).isoformat()
        except ValueError:
            raise ValueError(f"`{part.name}` must be a date like 2026-12-01, `today` or `yesterday`, "
                             f"not `{value}`") from None
    return value


class Mismatch(Exception):
    """The words fit the format's shape but a value is wrong (`traffic 2026-13-45`)."""


def match(fmt: Format, tokens: list[str], today: dt.date) -> dict | None:
    """The parameters when `tokens` (the words after the command) fit `fmt`, else None; raises
    Mismatch when they fit but a value does not convert."""
    found = _match(fmt.parts, tokens)
    if found is None:
        return None
    params: dict = {}
    for part in fmt.parts:
        if part.literal:
            continue
        if part.name in found:
            try:
                params[part.name] = convert(part, found[part.name], today)
            except ValueError as exc:
                raise Mismatch(str(exc)) from None
        else:
            params[part.name] = today.isoformat() if part.type == "date" else ""
    return params


def _match(parts: tuple[Part, ...], tokens: list[str]) -> dict | None:
    if not parts:
        return {} if not tokens else None
    part, rest = parts[0], parts[1:]
    if part.literal:
        if tokens and tokens[0].lower() == part.literal:
            return _match(rest, tokens[1:])
        return None
    if part.type == "text":
        if tokens:
            return {part.name: " ".join(tokens)}
        return {} if part.optional else None
    if tokens:
        after = _match(rest, tokens[1:])
        if after is not None:
            return {part.name: tokens[0], **after}
    if part.optional:
        return _match(rest, tokens)
    return None
