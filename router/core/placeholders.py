"""The placeholder grammar of action parameters: `{field}` and `{labels.host}` (SPEC §4), `{{`/`}}`
literal.

`rules check` uses it (ruleset.py) so a typo such as `{acter}` is a load error instead of an empty
mention at 3 a.m.; actions fill placeholders with router/core/templates.py, on the same PLACEHOLDER.
"""
from __future__ import annotations

import re
from typing import Iterable

PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([^{}]*)\}")


def fields_in(text: str) -> list[str]:
    return [m.group(1).strip() for m in PLACEHOLDER.finditer(text) if m.group(1) is not None]


def strings_in(value: object) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from strings_in(v)
    elif isinstance(value, list):
        for v in value:
            yield from strings_in(v)
