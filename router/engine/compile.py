"""A `Ruleset` compiled for durable-rules: the JSON ruleset, and what Python computes first.

Each rule becomes one or more engine rules, one per alternative of its conditions (a short list
`source: [nagios, alertmanager]` or an `any:` becomes alternatives), each a single pattern over
one fact. Tests the engine does safely are expressed in it: equality and `not` (`$neq`), numeric
comparisons (on a numeric copy of the field; a time comparison on an epoch-seconds copy),
`exists: true` (`$ex`). Everything else — Python
regexes (the engine's own are a Lua dialect), ages, `exists: false` (`$nex` hangs the engine),
long lists, big `any:` blocks and `count` windows — is computed in Python before evaluation and
handed to the engine as a plain `c<n>: 1` field (absent when false). The engine never sees a
user's regex.

Tests inside a pattern are put in a canonical order (fields with few distinct values first,
computed fields last) so rules share the engine's alpha nodes; `limits.py` checks the shape.
"""
from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass, field

from router.engine import limits
from router.engine.conditions import (
    NUMERIC_OPS,
    All,
    Any,
    Atom,
    Count,
    During,
    Instant,
    Node,
    brain_fields,
    field_kind,
    paths_of,
)
from router.engine.predicates import Predicate, predicate, to_epoch, to_number
from router.engine.ruleset import Rule, Ruleset

MAX_LIST = 8           # longer lists are computed in Python rather than expanded
MAX_ALTERNATIVES = 16  # per rule; beyond this, parts of it are computed in Python
SENTINEL = "__sentinel"
ACTION = "decide"      # every engine rule "runs" this; which rule fired comes from the rule name


@dataclass(frozen=True)
class Test:
    """One engine test of one fact field: op is eq, neq, gt, gte, lt, lte or ex."""

    alias: str
    op: str
    value: object
    path: str = field(compare=False)  # for messages: the field as the rule file names it
    shown: str = field(default="", compare=False)  # for messages: a time operand as written

    def json(self) -> dict:
        if self.op == "eq":
            return {self.alias: self.value}
        if self.op == "ex":
            return {"$ex": {self.alias: 1}}
        return {f"${self.op}": {self.alias: self.value}}

    def describe(self) -> str:
        shown = json.dumps(self.shown or self.value, ensure_ascii=False)
        if self.alias.startswith("c"):
            return f"{self.path} (computed)"
        if self.op == "eq":
            return f"{self.path}: {shown}"
        if self.op == "ex":
            return f"{self.path}: {{exists: true}}"
        return f"{self.path}: {{{ {'neq': 'not'}.get(self.op, self.op)}: {shown}}}"


@dataclass
class CompiledRule:
    rule: Rule
    checks: list[tuple[str, int, Predicate]]  # (condition as written, memo slot, predicate)
    always: bool                          # matches every signal: no engine rule needed
    window_filter: Predicate | None       # for `count` rules: which signals enter the window
    # Copied out of `rule` for the hot loop in explain.decide:
    name: str = ""
    index: int = 0
    cont: bool = False
    actions: list = field(default_factory=list)   # as written: [{"notify": {...}}, ...]

    def __post_init__(self) -> None:
        self.name, self.index, self.cont = self.rule.name, self.rule.index, self.rule.cont
        self.actions = [a.as_written() for a in self.rule.actions]


@dataclass
class Compiled:
    ruleset: Ruleset
    engine_name: str
    definition: dict                       # the durable-rules JSON ruleset
    engine_rules: dict[str, int]           # engine rule name -> rule index
    rules: list[CompiledRule]
    field_aliases: list[tuple[str, str, str]]    # (alias, path, kind) kind: text, bool, int, number, time, exists
    computed: list[tuple[str, Predicate]]
    brain_fields: set[str]
    counts: list[tuple[int, Count]]
    problems: list[str]                    # limit violations, phrased for the ruleset
    slots: int = 0                         # distinct top-level conditions (explanations memoise them)

    @property
    def name(self) -> str:
        return self.ruleset.name

    def fact(self, ctx: dict, number: int) -> dict:
        """The engine fact for one signal's context (only the fields this ruleset reads)."""
        out = {"id": str(number)}
        for alias, path, kind in self.field_aliases:
            value = ctx.get(path)
            if kind == "text":
                out[alias] = "" if value is None else value
            elif kind == "bool":
                out[alias] = 1 if value else 0
            elif kind == "int":
                out[alias] = value or 0
            elif kind == "number":
                number = to_number(value)
                if number is not None:
                    out[alias] = number
            elif kind == "time":  # epoch seconds, compared with a time operand compiled the same way
                moment = to_epoch(value)
                if moment is not None:
                    out[alias] = moment
            elif value not in (None, ""):  # exists
                out[alias] = 1
        for alias, check in self.computed:
            if check(ctx):
                out[alias] = 1
        return out


ALIAS_PREFIX = {"text": "s", "bool": "s", "int": "s", "number": "n", "time": "t", "exists": "e"}


class _Aliases:
    """Short engine field names for the paths, numeric copies, presence marks and computed parts."""

    def __init__(self) -> None:
        self.fields: dict[tuple[str, str], str] = {}
        self.computed: dict[object, str] = {}
        self.predicates: list[tuple[str, Predicate]] = []

    def field(self, path: str, kind: str) -> str:
        key = (path, kind)
        if key not in self.fields:
            self.fields[key] = f"{ALIAS_PREFIX[kind]}{len(self.fields)}"
        return self.fields[key]

    def computed_test(self, node: Node, path: str) -> Test:
        if node not in self.computed:
            alias = f"c{len(self.computed)}"
            self.computed[node] = alias
            self.predicates.append((alias, predicate(node)))
        return Test(self.computed[node], "eq", 1, path)


def _value_kind(path: str) -> str:
    kind = field_kind(path)
    return "bool" if kind is bool else "int" if kind is int else "text"


def _engine_value(path: str, value: object) -> object:
    kind = field_kind(path)
    if kind is bool:
        return 1 if value else 0
    return value


def _describe_node(node: Node) -> str:
    if isinstance(node, During):
        return ("not_during: " if node.negate else "during: ") + ", ".join(node.names)
    paths = sorted(paths_of(node))
    return ", ".join(paths) if paths else "count"


def _lower(node: Node, aliases: _Aliases) -> list[tuple[Test, ...]]:
    """Disjunctive normal form of a node as engine tests (alternatives of conjunctions)."""
    if isinstance(node, Count):
        return [(aliases.computed_test(node, "count"),)]
    if isinstance(node, During):
        return [(aliases.computed_test(node, ("not_during: " if node.negate else "during: ") + ", ".join(node.names)),)]
    if isinstance(node, All):
        parts = [_lower(n, aliases) for n in node.items]
        while _product_size(parts) > MAX_ALTERNATIVES:
            biggest = max(range(len(parts)), key=lambda i: len(parts[i]))
            parts[biggest] = [(aliases.computed_test(node.items[biggest], _describe_node(node.items[biggest])),)]
        return [tuple(itertools.chain.from_iterable(combo)) for combo in itertools.product(*parts)]
    if isinstance(node, Any):
        alternatives = [alt for n in node.items for alt in _lower(n, aliases)]
        if len(alternatives) > MAX_ALTERNATIVES:
            return [(aliases.computed_test(node, _describe_node(node)),)]
        return alternatives
    return _lower_atom(node, aliases)


def _product_size(parts: list[list]) -> int:
    size = 1
    for p in parts:
        size *= len(p)
    return size


def _lower_atom(atom: Atom, aliases: _Aliases) -> list[tuple[Test, ...]]:
    path, op, operand = atom.path, atom.op, atom.operand
    if op in ("eq", "not"):
        alias = aliases.field(path, _value_kind(path))
        return [(Test(alias, "eq" if op == "eq" else "neq", _engine_value(path, operand), path),)]
    if op == "in" and len(operand) <= MAX_LIST:
        alias = aliases.field(path, _value_kind(path))
        return [(Test(alias, "eq", _engine_value(path, v), path),) for v in operand]
    if op == "not_in" and len(operand) <= MAX_LIST:
        alias = aliases.field(path, _value_kind(path))
        return [tuple(Test(alias, "neq", _engine_value(path, v), path) for v in operand)]
    if op in NUMERIC_OPS and isinstance(operand, Instant):
        return [(Test(aliases.field(path, "time"), op, operand.epoch, path, shown=operand.text),)]
    if op in NUMERIC_OPS:
        kind = "int" if field_kind(path) is int else "number"
        alias = aliases.field(path, kind)
        return [(Test(alias, op, operand, path),)]
    if op == "exists" and operand is True:
        return [(Test(aliases.field(path, "exists"), "ex", 1, path),)]
    return [(aliases.computed_test(atom, path),)]


def _normalise(conjunction: tuple[Test, ...]) -> tuple[Test, ...] | None:
    """Drop duplicate tests; None when the conjunction contradicts itself (x = a and x = b)."""
    seen: dict[tuple, Test] = {}
    eq: dict[str, object] = {}
    for test in conjunction:
        seen.setdefault((test.alias, test.op, json.dumps(test.value)), test)
        if test.op == "eq":
            if test.alias in eq and eq[test.alias] != test.value:
                return None
            eq[test.alias] = test.value
    for test in seen.values():
        if test.op == "neq" and eq.get(test.alias, object()) == test.value:
            return None
    return tuple(seen.values())


def _order(conjunctions: list[tuple[int, tuple[Test, ...]]]) -> list[tuple[int, tuple[Test, ...]]]:
    """Canonical test order: equality on fields with few distinct values first, computed last."""
    values: dict[str, set] = {}
    first_seen: dict[str, int] = {}
    for _, conj in conjunctions:
        for test in conj:
            first_seen.setdefault(test.alias, len(first_seen))
            if test.op == "eq":
                values.setdefault(test.alias, set()).add(json.dumps(test.value))
    group = {"eq": 0, "neq": 1, "gt": 2, "gte": 2, "lt": 2, "lte": 2, "ex": 3}

    def key(test: Test):
        computed = test.alias.startswith("c")
        return (4 if computed else group[test.op], len(values.get(test.alias, ())) if not computed else 0,
                first_seen[test.alias], test.op, json.dumps(test.value))

    return [(index, tuple(sorted(conj, key=key))) for index, conj in conjunctions]


def compile_ruleset(ruleset: Ruleset, version: str) -> Compiled:
    aliases = _Aliases()
    conjunctions: list[tuple[int, tuple[Test, ...]]] = []
    rules: list[CompiledRule] = []
    never: list[str] = []
    brain: set[str] = set()
    slots: dict[Node, tuple[int, Predicate]] = {}
    fields = set(brain_fields())
    for rule in ruleset.rules:
        for condition in rule.conditions:
            brain |= paths_of(condition.node) & fields
            if condition.node not in slots:
                slots[condition.node] = (len(slots), predicate(condition.node))
        # Rules share conditions (`kind: alert`, `labels.team: web`): each is evaluated once per
        # signal when explaining, through its slot.
        checks = [(c.text, *slots[c.node]) for c in rule.conditions]
        alternatives = _lower(All(tuple(c.node for c in rule.conditions)), aliases) if rule.conditions else [()]
        normal = [n for n in (_normalise(a) for a in alternatives) if n is not None]
        always = any(len(n) == 0 for n in normal)
        if not normal:
            never.append(rule.name)
        if not always:
            conjunctions += [(rule.index, n) for n in normal]
        rules.append(CompiledRule(rule=rule, checks=checks, always=always, window_filter=_window_filter(rule)))
    conjunctions = _order(conjunctions)

    definition: dict = {SENTINEL: {"all": [{"m": {SENTINEL: 1}}], "run": ACTION}}
    engine_rules: dict[str, int] = {}
    per_rule: dict[int, int] = {}
    for index, conj in conjunctions:
        n = per_rule[index] = per_rule.get(index, -1) + 1
        name = f"r{index}_{n}"
        engine_rules[name] = index
        pattern = conj[0].json() if len(conj) == 1 else {"$and": [t.json() for t in conj]}
        definition[name] = {"all": [{"m": pattern}], "run": ACTION}

    digest = hashlib.sha256(json.dumps(definition, sort_keys=True).encode()).hexdigest()[:8]
    field_aliases = [(alias, path, kind) for (path, kind), alias in aliases.fields.items()]
    problems = [f'rule "{name}": can never match (its conditions contradict each other)' for name in never]
    problems += limits.check(ruleset, conjunctions, len(field_aliases))
    return Compiled(ruleset=ruleset, engine_name=f"{ruleset.name}@{version}.{digest}", definition=definition,
                    engine_rules=engine_rules, rules=rules, field_aliases=field_aliases,
                    computed=aliases.predicates, brain_fields=brain,
                    counts=[(r.index, r.count) for r in ruleset.rules if r.count is not None], problems=problems,
                    slots=len(slots))


def _window_filter(rule: Rule) -> Predicate | None:
    """Signals that enter a `count` rule's window: its conditions on signal fields only.

    Brain-derived fields are read in the same round trip that updates the window, so they
    cannot decide what enters it; they still apply to the signal being evaluated.
    """
    if rule.count is None:
        return None
    fields = set(brain_fields())
    parts = [predicate(c.node) for c in rule.conditions
             if not isinstance(c.node, Count) and not (paths_of(c.node) & fields)]
    return lambda ctx: all(p(ctx) for p in parts)


def definition_json(compiled: Compiled) -> str:
    return json.dumps({compiled.engine_name: compiled.definition}, ensure_ascii=False)

