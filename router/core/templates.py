"""Templates: `{field}` and `{labels.host}` placeholders filled from a signal.

A missing field renders as nothing, never as an error: a rule written for Nagios alerts must not
fail on a signal that lacks `labels.service`. `{{` and `}}` are literal braces.
"""
from __future__ import annotations

import json
import re
from typing import Any

from router.core.placeholders import PLACEHOLDER, fields_in

MISSING = object()


def lookup(data: Any, path: str) -> Any:
    """The value at a dotted path, or MISSING. Label names may contain dots themselves
    (`labels.app.kubernetes.io/name`), so the longest key that exists wins."""
    if not path:
        return MISSING
    if isinstance(data, dict):
        if path in data:
            return data[path]
        head, _, rest = path.partition(".")
        if rest and head in data:
            return lookup(data[head], rest)
    return MISSING


def text_of(value: Any) -> str:
    if value is MISSING or value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    return str(value)


def render(template: str, signal: dict) -> str:
    """Fill every placeholder of `template` from `signal`; unknown ones become ""."""

    def fill(match: re.Match) -> str:
        token = match.group(0)
        if token == "{{":
            return "{"
        if token == "}}":
            return "}"
        return text_of(lookup(signal, match.group(1).strip()))

    return PLACEHOLDER.sub(fill, template or "")


def render_all(value: object, signal: dict) -> object:
    """`render` applied to every string inside a parameter (a webhook's `body`, say)."""
    if isinstance(value, str):
        return render(value, signal)
    if isinstance(value, dict):
        return {k: render_all(v, signal) for k, v in value.items()}
    if isinstance(value, list):
        return [render_all(v, signal) for v in value]
    return value


def placeholders(template: str) -> list[str]:
    """The field paths a template refers to (for checks and docs)."""
    return fields_in(template or "")
