"""The plain-Python meaning of a condition tree (router/engine/conditions.py): `predicate(node)`.

The reference semantics (the conditions module's docstring says what each operator means): the
engine uses it for fields computed in Python and to explain the first failing condition, and the
tests and the rules benchmark use it as the plain-Python baseline. `to_number` and `to_epoch` read
a field's text the way both evaluators must.
"""
from __future__ import annotations

import datetime as dt
import math
import re
from typing import Callable

from router.engine.conditions import (
    INTERVALS,
    NUMERIC_OPS,
    All,
    Any,
    Atom,
    Count,
    During,
    Instant,
    Node,
    field_kind,
)

_NUMBER = re.compile(r"^\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*$")


def to_number(value: object) -> float | None:
    """A finite number from a field value, or None (booleans and non-numeric text are not numbers)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str) and _NUMBER.match(value):
        number = float(value)
        return number if math.isfinite(number) else None
    return None


def to_epoch(value: object) -> float | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.timestamp()


Context = dict  # path -> value; "__now__" -> epoch seconds; ("count", ruleset, rule) -> int
Predicate = Callable[[Context], bool]


def predicate(node: Node) -> Predicate:
    """The reference meaning of a condition node, as a closure over a context dict."""
    if isinstance(node, All):
        parts = tuple(predicate(n) for n in node.items)
        return lambda ctx: all(p(ctx) for p in parts)
    if isinstance(node, Any):
        parts = tuple(predicate(n) for n in node.items)
        return lambda ctx: any(p(ctx) for p in parts)
    if isinstance(node, Count):
        key, at_least = ("count", node.ruleset, node.rule), node.at_least
        return lambda ctx: ctx.get(key, 0) >= at_least
    if isinstance(node, During):
        names, negate = frozenset(node.names), node.negate
        return lambda ctx: bool(names & ctx.get(INTERVALS, frozenset())) != negate
    return _atom_predicate(node)


def _atom_predicate(atom: Atom) -> Predicate:  # noqa: C901 (one branch per operator)
    path, op, operand = atom.path, atom.op, atom.operand
    text = field_kind(path) is str

    def value(ctx):
        v = ctx.get(path)
        return "" if v is None and text else v

    if op == "eq":
        return lambda ctx: value(ctx) == operand
    if op == "not":
        return lambda ctx: value(ctx) != operand
    if op == "in":
        members = frozenset(operand)
        return lambda ctx: value(ctx) in members
    if op == "not_in":
        members = frozenset(operand)
        return lambda ctx: value(ctx) not in members
    if op in NUMERIC_OPS:
        compare = {"gt": float.__gt__, "gte": float.__ge__, "lt": float.__lt__, "lte": float.__le__}[op]
        if isinstance(operand, Instant):
            limit = operand.epoch

            def timed(ctx):
                moment = to_epoch(ctx.get(path))
                return moment is not None and compare(moment, limit)
            return timed

        def numeric(ctx):
            number = to_number(ctx.get(path))
            return number is not None and compare(number, operand)
        return numeric
    if op == "matches":
        pattern = re.compile(operand)
        return lambda ctx: pattern.fullmatch(str(value(ctx))) is not None
    if op == "exists":
        return lambda ctx: (ctx.get(path) not in (None, "")) == operand
    if op in ("older_than", "newer_than"):
        older = op == "older_than"

        def age(ctx):
            moment = to_epoch(ctx.get(path))
            if moment is None:
                return False
            elapsed = ctx["__now__"] - moment
            return elapsed > operand if older else elapsed < operand
        return age
    raise AssertionError(op)
