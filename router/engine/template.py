"""Placeholders in action parameters: `{field}` and `{labels.host}` (SPEC §4), `{{`/`}}` literal.

Actions call `render(text, signal)` when they run; `rules check` calls `unknown_fields` so a typo
such as `{acter}` is a load error instead of an empty mention at 3 a.m.
"""
from __future__ import annotations

import re
from typing import Iterable

_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([^{}]*)\}")


def fields_in(text: str) -> list[str]:
    return [m.group(1).strip() for m in _PLACEHOLDER.finditer(text) if m.group(1) is not None]


def render(text: str, signal: dict) -> str:
    """Replace each `{path}` with the signal's value ("" when absent)."""
    def one(match: re.Match) -> str:
        token = match.group(0)
        if token == "{{":
            return "{"
        if token == "}}":
            return "}"
        path = match.group(1).strip()
        if path.startswith("labels."):
            value = (signal.get("labels") or {}).get(path[len("labels."):], "")
        else:
            value = signal.get(path, "")
        return "" if value is None else str(value)

    return _PLACEHOLDER.sub(one, text)


def render_params(value: object, signal: dict) -> object:
    """`render` applied to every string inside an action's parameters."""
    if isinstance(value, str):
        return render(value, signal)
    if isinstance(value, dict):
        return {k: render_params(v, signal) for k, v in value.items()}
    if isinstance(value, list):
        return [render_params(v, signal) for v in value]
    return value


def strings_in(value: object) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from strings_in(v)
    elif isinstance(value, list):
        for v in value:
            yield from strings_in(v)
