"""Durations as rule files write them: `30s`, `10m`, `2h`, `14d`, `1w`, or combined (`1h30m`)."""
from __future__ import annotations

import re

from marshmallow import ValidationError, fields

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_PART = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")
_WHOLE = re.compile(r"^(?:\d+(?:\.\d+)?[smhdw])+$")
HINT = "use e.g. 30s, 10m, 2h, 14d"


def parse(text: object) -> float:
    """Seconds in a duration string; ValueError naming the bad value otherwise."""
    if not isinstance(text, str) or not _WHOLE.match(text.strip()) or not text.strip():
        raise ValueError(f'bad duration "{text}" ({HINT})')
    seconds = sum(float(n) * UNITS[u] for n, u in _PART.findall(text.strip()))
    if seconds <= 0:
        raise ValueError(f'bad duration "{text}" (must be more than 0)')
    return seconds


def is_duration(text: object) -> bool:
    try:
        parse(text)
    except ValueError:
        return False
    return True


class Duration(fields.Field):
    """A marshmallow field holding a duration string; loads to the string, validated."""

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            parse(value)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None
        return value
