"""`when:` maps (SPEC §4) parsed into a small condition tree, and its plain-Python meaning.

The tree is what both evaluators share: `compile.py` lowers it to durable-rules tests (plus
fields computed in Python), and `predicate()` (router/engine/predicates.py) is the reference semantics, used to explain
the first failing condition and as the plain-Python baseline in tests and the benchmark.

Semantics (where SPEC is silent, as Alertmanager does it):
- A missing label reads as "" for `=`, lists, `not`, `not_in` and `matches`; `exists` means
  present and non-empty. Signal fields and labels are text: `labels.build: 143` compares "143".
- `gt`/`gte`/`lt`/`lte` take a number; the field's text must read as a finite number, else false.
  On `occurred_at`/`received_at` they take an ISO 8601 time instead (a label takes either): the
  time is turned into epoch seconds when the rules load, the field's value is read as a time, and
  the two instants are compared, whatever offsets either is written with. A time without an
  offset is UTC, a date alone its midnight UTC; an unreadable field value is false.
- `matches` is a Python regex that must match the whole value (`re.fullmatch`).
- `older_than`/`newer_than` read the field as an ISO 8601 time; its age must be more / less than
  the duration. An unreadable time is false for both.
- `during: <interval>` / `not_during: [<interval>, ...]`: one of the named `time_intervals`
  holds (does not hold) at the evaluation time (router/core/intervals.py).
- Brain-derived fields: `snoozed`, `acked`, `deploying` (true/false), `firing_count`, `repeat`
  (integers).
"""
from __future__ import annotations

import datetime as dt
import json
import math
import re
from dataclasses import dataclass
from typing import Union

from router.core import durations
from router.engine import vocabulary
from router.engine.loader import YDict, did_you_mean, line_of, text_of

SIGNAL_FIELDS = ("id", "source", "kind", "status", "severity", "subject", "fingerprint", "summary", "text",
                 "url", "actor", "occurred_at", "received_at")
TIME_FIELDS = ("occurred_at", "received_at")
OPERATORS = ("in", "not", "not_in", "gt", "gte", "lt", "lte", "matches", "exists", "older_than", "newer_than")
NUMERIC_OPS = ("gt", "gte", "lt", "lte")
LABELS = "labels."
MAX_NUMBER = 2 ** 53
TIME_EXAMPLE = "2026-03-03T14:07:00Z"
# An operand is taken for a time only in the extended form (dashes): "20260303" stays a bad number.
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class Atom:
    """One test of one field: `op` is eq, in, not, not_in, a numeric op, matches, exists, ..."""

    path: str
    op: str
    operand: object  # normalised; lists become tuples so atoms are hashable (shared fields)


@dataclass(frozen=True)
class All:
    items: tuple


@dataclass(frozen=True)
class Any:
    items: tuple


@dataclass(frozen=True)
class Count:
    """`count: {at_least, within, same}`: true when the rule's window holds at least N signals."""

    ruleset: str
    rule: str
    at_least: int
    within: float
    same: tuple


@dataclass(frozen=True)
class During:
    """`during: office-hours` / `not_during: [weekends, holidays]`: named time intervals
    (`time_intervals:`, router/core/intervals.py) at the evaluation time; any of the names."""

    names: tuple
    negate: bool = False


@dataclass(frozen=True)
class Instant:
    """A time operand of gt/gte/lt/lte, as epoch seconds (the engine compares numbers)."""

    epoch: float
    text: str  # as the rule file wrote it, for messages


Node = Union[Atom, All, Any, Count, During]
INTERVALS = "__intervals__"   # in a context: the names of the time intervals that hold now


@dataclass
class Condition:
    """A top-level entry of a rule's `when`, with its text as written (for explanations)."""

    key: str
    text: str
    line: int
    node: Node


class Invalid(Exception):
    """A condition that cannot be used; `line` is where, the message says why."""

    def __init__(self, message: str, line: int):
        super().__init__(message)
        self.line = line


# -- parsing -------------------------------------------------------------------------------------

def _show(value: object) -> str:
    """A value as a rule file would write it, for messages: "ten", 3, true, [a, b]."""
    return json.dumps(value, ensure_ascii=False, default=str)


def brain_fields() -> dict[str, type]:
    """The brain-derived fields the registered fact providers fill, and their types."""
    return {name: type(default) for name, default in vocabulary.active().fields.items()}


def known_field(path: str) -> bool:
    return path in SIGNAL_FIELDS or path in brain_fields() or (path.startswith(LABELS) and len(path) > len(LABELS))


def field_kind(path: str) -> type:
    return brain_fields().get(path, str)


def _check_path(path: object, line: int) -> str:
    if not isinstance(path, str):
        raise Invalid(f'a field name must be text, got {_show(path)}', line)
    if known_field(path):
        return path
    if path == "labels" or path == LABELS:
        raise Invalid('name the label with a dotted path, e.g. "labels.env"', line)
    if path in OPERATORS:
        raise Invalid(f'operator "{path}" needs a field: write e.g. "status: {{{path}: ...}}"', line)
    hint = did_you_mean(path, SIGNAL_FIELDS + tuple(brain_fields()) + ("any", "all", "count"))
    if not hint and "." not in path:
        hint = f' (did you mean "labels.{path}"?)'
    raise Invalid(f'unknown field "{path}"{hint}', line)


def _scalar(path: str, value: object, line: int, what: str = "value"):
    """Normalise an operand compared for equality with `path`."""
    kind = field_kind(path)
    if isinstance(value, (dict, list)) or value is None:
        shown = "nothing" if value is None else "a list" if isinstance(value, list) else "a map"
        raise Invalid(f'{path}: expected a single {what}, got {shown}', line)
    if kind is bool:
        if not isinstance(value, bool):
            raise Invalid(f'{path} is true or false, got {_show(value)}', line)
        return value
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise Invalid(f'{path} is a number, got {_show(value)}', line)
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(value)
    return str(value)


def to_instant(value: object) -> Instant | None:
    """A rule file's time (ISO 8601 text, or what YAML made of an unquoted one), or None."""
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, dt.date):
        moment = dt.datetime.combine(value, dt.time())
    elif isinstance(value, str) and _ISO_DATE.match(value.strip()):
        try:
            moment = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    else:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return Instant(moment.timestamp(), value if isinstance(value, str) else moment.isoformat())


def _number(path: str, op: str, value: object, line: int) -> float | Instant:
    """A comparison operand: a number, or on a field that holds times, a time (see the docstring)."""
    holds_time = path in TIME_FIELDS
    if (holds_time or path.startswith(LABELS)) and not isinstance(value, (bool, int, float)):
        instant = to_instant(value)
        if instant is not None:
            return instant
    if holds_time:
        raise Invalid(f'{path}: operator "{op}" needs an ISO 8601 time such as "{TIME_EXAMPLE}", '
                      f'got {_show(value)}', line)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        if path.startswith(LABELS):
            raise Invalid(f'{path}: operator "{op}" needs a number or an ISO 8601 time, got {_show(value)}', line)
        hint = " (times compare only on occurred_at, received_at and labels)" if to_instant(value) else ""
        raise Invalid(f'{path}: operator "{op}" needs a number, got {_show(value)}{hint}', line)
    if abs(value) >= MAX_NUMBER:
        raise Invalid(f'{path}: {_show(value)} is too large (limit ±2^53)', line)
    if field_kind(path) is bool:
        raise Invalid(f'{path} is true or false: operator "{op}" does not apply', line)
    return float(value)


def _list(path: str, op: str, value: object, line: int) -> tuple:
    if not isinstance(value, list):
        raise Invalid(f'{path}: operator "{op}" needs a list, got {_show(value)}', line)
    if not value:
        raise Invalid(f'{path}: operator "{op}" needs at least one value', line)
    return tuple(dict.fromkeys(_scalar(path, v, line) for v in value))


def _operator(path: str, op: object, value: object, line: int) -> Atom:
    if op not in OPERATORS:
        raise Invalid(f'unknown operator "{op}"{did_you_mean(op, OPERATORS)}', line)
    if op in ("in", "not_in"):
        return Atom(path, op, _list(path, op, value, line))
    if op == "not":
        if isinstance(value, list):
            return Atom(path, "not_in", _list(path, op, value, line))
        return Atom(path, op, _scalar(path, value, line))
    if op in NUMERIC_OPS:
        return Atom(path, op, _number(path, op, value, line))
    if op == "matches":
        if field_kind(path) is not str:
            raise Invalid(f'{path} is not text: operator "matches" does not apply', line)
        if not isinstance(value, str):
            raise Invalid(f'{path}: operator "matches" needs a regular expression, got {_show(value)}', line)
        try:
            re.compile(value)
        except re.error as exc:
            raise Invalid(f'bad regex "{value}": {exc}', line) from None
        return Atom(path, op, value)
    if op == "exists":
        if not isinstance(value, bool):
            raise Invalid(f'{path}: operator "exists" needs true or false, got {_show(value)}', line)
        return Atom(path, op, value)
    # older_than / newer_than
    if field_kind(path) is not str or (path in SIGNAL_FIELDS and path not in TIME_FIELDS):
        raise Invalid(f'{path}: operator "{op}" needs a time field '
                      f'(occurred_at, received_at or a label holding an ISO 8601 time)', line)
    try:
        return Atom(path, op, durations.parse(value))
    except ValueError as exc:
        raise Invalid(f'{path}: {exc}', line) from None


def _field(path: str, value: object, line: int) -> Node:
    if isinstance(value, list):
        return Atom(path, "in", _list(path, "in", value, line))
    if isinstance(value, dict):
        if not value:
            raise Invalid(f'{path}: empty condition (write a value, a list or operators)', line)
        atoms = tuple(_operator(path, op, v, line_of(value, op, line)) for op, v in value.items())
        return atoms[0] if len(atoms) == 1 else All(atoms)
    return Atom(path, "eq", _scalar(path, value, line))


def _group(key: str, value: object, line: int, ruleset: str, rule: str) -> Node:
    if not isinstance(value, list) or not value:
        raise Invalid(f'"{key}" needs a non-empty list of condition maps', line)
    items = []
    for i, item in enumerate(value):
        item_line = line_of(value, i, line)
        if not isinstance(item, dict) or not item:
            raise Invalid(f'each item of "{key}" must be a non-empty map of conditions', item_line)
        items.append(All(tuple(c.node for c in parse_when(item, ruleset, rule, item_line, nested=True))))
    return Any(tuple(items)) if key == "any" else All(tuple(items))


def _during(key: str, value: object, line: int) -> During:
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not names or not all(isinstance(n, str) and n for n in names):
        raise Invalid(f'{key} needs the name of a time interval or a list of them, e.g. "{key}: office-hours"', line)
    return During(tuple(dict.fromkeys(names)), negate=key == "not_during")


COUNT_KEYS = ("at_least", "within", "same")


def _count(value: object, line: int, ruleset: str, rule: str) -> Count:
    if not isinstance(value, dict):
        raise Invalid('count needs a map: {at_least: 3, within: 10m, same: [labels.job]}', line)
    for key in value:
        if key not in COUNT_KEYS:
            raise Invalid(f'count: unknown key "{key}"{did_you_mean(key, COUNT_KEYS)}', line_of(value, key, line))
    at_least = value.get("at_least")
    if isinstance(at_least, bool) or not isinstance(at_least, int) or at_least < 1:
        raise Invalid(f'count: at_least needs a whole number of at least 1, got {_show(at_least)}', line)
    if "within" not in value:
        raise Invalid('count: missing key "within"', line)
    try:
        within = durations.parse(value["within"])
    except ValueError as exc:
        raise Invalid(f'count: {exc}', line_of(value, "within", line)) from None
    same = value.get("same", [])
    same = [same] if isinstance(same, str) else same
    if not isinstance(same, list):
        raise Invalid('count: same needs a list of fields', line)
    for path in same:
        _check_path(path, line_of(value, "same", line))
    return Count(ruleset, rule, at_least, within, tuple(same))


def parse_when(when: dict, ruleset: str, rule: str, line: int, nested: bool = False) -> list[Condition]:
    """The top-level conditions of one `when` map, in the order written. Raises Invalid."""
    out = []
    for key, value in when.items():
        key_line = line_of(when, key, line)
        text = text_of(when, key) if isinstance(when, YDict) else str(key)
        if key in ("any", "all"):
            node = _group(key, value, key_line, ruleset, rule)
        elif key in ("during", "not_during"):
            node = _during(key, value, key_line)
        elif key == "count":
            if nested:
                raise Invalid('count is only allowed at the top of "when"', key_line)
            node = _count(value, key_line, ruleset, rule)
        else:
            node = _field(_check_path(key, key_line), value, key_line)
        out.append(Condition(str(key), text, key_line, node))
    return out


# -- the plain-Python meaning ----------------------------------------------------------------------

def paths_of(node: Node) -> set[str]:
    """Every field a node reads (for deciding which brain facts a ruleset needs)."""
    if isinstance(node, (All, Any)):
        return set().union(*(paths_of(n) for n in node.items)) if node.items else set()
    if isinstance(node, Count):
        return set(node.same)
    if isinstance(node, During):
        return set()
    return {node.path}


def intervals_of(node: Node) -> set[str]:
    """The time interval names a node refers to (`rules check` knows them all)."""
    if isinstance(node, (All, Any)):
        return set().union(*(intervals_of(n) for n in node.items)) if node.items else set()
    return set(node.names) if isinstance(node, During) else set()
