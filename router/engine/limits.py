"""Load-time limits that stand in for durable-rules' hangs and crashes (notes §4).

The engine builds one alpha-node tree per ruleset: each engine rule is a path of tests, rules
share their common prefix. Measured on 2.0.28 (and re-checked in tests/engine/test_limits.py):
- a node with 512 or more children makes `post` loop forever (513+: `create_ruleset` hangs);
- evaluation keeps a stack of at most 64 matching nodes; one fact needing more fails with
  error 303 — e.g. 65 rules that all test different fields and all hold;
- 4,096 rules per ruleset at most (error 106), ~254 properties per fact (error 302).
We model the tree here and refuse a ruleset that would reach any of these, naming the place.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from router.engine.ruleset import Ruleset

MAX_RULES = 2000          # rules in one file
MAX_ENGINE_RULES = 4000   # engine rules after expanding lists and any: (engine limit 4,096)
MAX_CHILDREN = 511        # children of one node, the sentinel rule included at the root
MAX_STACK = 64            # matching nodes pending at once while one fact is evaluated
MAX_FIELDS = 200          # fields per fact before computed ones (engine limit ~254 properties)


class _Node:
    __slots__ = ("children", "rules")

    def __init__(self) -> None:
        self.children: dict[tuple, _Node] = {}
        self.rules: set[int] = set()


def check(ruleset: Ruleset, conjunctions: list, field_count: int) -> list[str]:
    """Problems (without file/line) for a compiled ruleset's engine shape; [] when it fits."""
    problems = []
    if len(conjunctions) > MAX_ENGINE_RULES:
        problems.append(f'ruleset "{ruleset.name}": {len(conjunctions)} engine rules after expanding lists '
                        f'and any: (limit {MAX_ENGINE_RULES}); use fewer alternatives per rule')
    if field_count > MAX_FIELDS:
        problems.append(f'ruleset "{ruleset.name}": reads {field_count} different fields (limit {MAX_FIELDS})')
    if problems:
        return problems
    root = _Node()
    for index, conj in conjunctions:
        node = root
        for test in conj:
            node = node.children.setdefault((test.alias, test.op, repr(test.value), test.describe()), _Node())
            node.rules.add(index)
        node.rules.add(index)
    names = {r.index: r.name for r in ruleset.rules}
    problems += _fanout(ruleset, root, names)
    if not problems:
        problems += _stack(ruleset, root, names)
    return problems


def _fanout(ruleset: Ruleset, root: _Node, names: dict[int, str]) -> list[str]:
    out = []

    def walk(node: _Node, prefix: list[str], limit: int) -> None:
        if len(node.children) > limit:
            where = f" after {' and '.join(prefix)}" if prefix else ""
            fields = sorted({key[3].split(":")[0] for key in node.children})
            out.append(f'ruleset "{ruleset.name}": {len(node.children)} rules branch at one point on '
                       f'{", ".join(fields[:3])}{where} (the engine allows {limit}); add an equality '
                       f'condition that splits them into groups first (e.g. labels.team)')
            return
        for key, child in node.children.items():
            walk(child, prefix + [key[3]], MAX_CHILDREN)

    walk(root, [], MAX_CHILDREN - 1)  # the sentinel rule is one more child of the root
    return out


def _stack(ruleset: Ruleset, root: _Node, names: dict[int, str]) -> list[str]:
    worst: dict = {"k": 0, "node": None}

    def matching(node: _Node) -> int:
        """How many children of `node` can hold for one fact: one equality per field, all others."""
        eq_fields = {key[0] for key in node.children if key[1] == "eq" and not key[0].startswith("c")}
        others = sum(1 for key in node.children if key[1] != "eq" or key[0].startswith("c"))
        return len(eq_fields) + others

    def excess(node: _Node) -> int:
        k = matching(node)
        if k == 0:
            return -1
        if k > worst["k"]:
            worst.update(k=k, node=node)
        return k - 1 + max(0, max(excess(child) for child in node.children.values()))

    height = 1 + excess(root)
    if height <= MAX_STACK:
        return []
    rules = sorted(worst["node"].rules if worst["node"] is not root else set().union(
        *(c.rules for c in root.children.values())))
    shown = ", ".join(f'"{names[i]}"' for i in rules[:3])
    more = f" and {len(rules) - 3} more" if len(rules) > 3 else ""
    return [f'ruleset "{ruleset.name}": up to {height} conditions can hold at once for one signal '
            f'(the engine allows {MAX_STACK}), among rules {shown}{more}; give them an equality '
            f'condition on one field that tells them apart (e.g. kind or labels.team)']
