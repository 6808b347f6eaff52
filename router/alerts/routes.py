"""The routing ruleset as an Alertmanager routing tree: `config.original` for amtool, the receivers.

Alertmanager clients read a routing tree: `amtool config routes [test]` parses `config.original`
of `/api/v2/status` with Alertmanager's own loader and walks it, Grafana shows it, and every alert
in `/api/v2/alerts` names its `receivers`. Sparky routes by its rule files, so this module writes
the routing ruleset (rules/routing.yml) as the tree that means the same for alerts:

- every rule that can match a firing alert is a child route of the root, in file order, with its
  `continue`; the catch-all rule (`when: {}`, which the routing ruleset must end with) is the
  last child and the root's receiver as well;
- a rule's receiver is the room of its `notify` or `group` action (`#ops`); a rule that notifies
  two rooms is two routes, the first with `continue: true`, as in Alertmanager; a rule without a
  room is named after its first action (`drop`, `webhook`);
- conditions become matchers: a value `=`, a list `=~"a|b"`, `not` `!=`/`!~`, `matches` `=~`,
  `exists` `!=""`/`=""`. Labels keep their names (`labels.env` → `env`); a signal field is shown
  as a label of that name (`severity`, `source`), which is what it is for Alertmanager's alerts;
- conditions on `kind` and `status` say whether the rule can route a firing alert at all; they
  are not matchers. Any other condition (numbers, times, brain-derived facts such as `acked`,
  `any:`, `count:`, names or regexes Alertmanager cannot read) stays out of the matchers and is
  written as a comment under its route, so the tree routes a little more than Sparky does;
- `group.by` is `group_by`, `group.wait` is `group_wait`; a `notify` is `group_by: ['...']`
  (every alert its own message); `repeat` (when the action has one) is `repeat_interval`.

`routes_of` walks the same tree for one alert, with Sparky's own matcher test, so an alert's
`receivers` is what `amtool config routes test` answers for its labels.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from router.alerts.lookup import as_signal
from router.core import am_matchers, durations
from router.core.matchers import LABELS, Matcher, holds
from router.core.signal import flat
from router.engine.conditions import All, Atom, Condition
from router.engine.rules import Rules

ROUTING = "routing"
ROOM_ACTIONS = ("notify", "group")
DEFAULT_RECEIVER = "sparky"          # when no rules are in force: a tree amtool can still read
FIRING = ("firing", "flapping")
EVERY_ALERT = "..."                  # Alertmanager's group_by for "each alert its own group"


@dataclass
class Route:
    receiver: str
    matchers: list[Matcher] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)     # what the matchers leave out, as comments
    cont: bool = False
    group_by: list[str] = field(default_factory=lambda: [EVERY_ALERT])
    group_wait: str = ""
    repeat: str = ""
    rule: str = ""
    where: str = ""                                    # routing.yml:12
    room: bool = True                                  # the receiver is a room (not "drop", "escalate")


@dataclass
class Tree:
    root: Route
    routes: list[Route]
    version: str = ""
    inhibit_rules: list = field(default_factory=list)     # suppression.yml's, as written
    time_intervals: list = field(default_factory=list)    # the rule files', as written

    @property
    def receivers(self) -> list[str]:
        """Every receiver the tree names, root first, each once."""
        return list(dict.fromkeys([self.root.receiver] + [r.receiver for r in self.routes]))


def _am_duration(value: object) -> str:
    """A rule file's duration as Alertmanager writes one (`90s` → `1m30s`); "" when unreadable."""
    try:
        seconds = int(durations.parse(str(value)))
    except ValueError:
        return ""
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts) or "0s"


def _regex_of(values: tuple) -> str:
    """A list of values as one anchored alternation both Python and RE2 read the same way."""
    return "|".join(re.sub(r"([\\.+*?()|\[\]{}^$])", r"\\\1", str(v)) for v in values)


def _matcher_name(path: str) -> str:
    """A condition's field as a matcher name: `labels.host` → `host`, `labels.severity` stays the
    label (router/core/am_matchers.py), a signal field keeps its name."""
    return am_matchers.label_name(path[len(LABELS):]) if path.startswith(LABELS) else path


def _atom_matcher(atom: Atom) -> Matcher | None:
    name = _matcher_name(atom.path)
    if atom.op == "eq" and isinstance(atom.operand, str):
        return Matcher(name, "=", atom.operand)
    if atom.op in ("in", "not_in") and all(isinstance(v, str) for v in atom.operand):
        return Matcher(name, "=~" if atom.op == "in" else "!~", _regex_of(atom.operand))
    if atom.op == "not" and isinstance(atom.operand, str):
        return Matcher(name, "!=", atom.operand)
    if atom.op == "matches":
        return Matcher(name, "=~", atom.operand)
    if atom.op == "exists":
        return Matcher(name, "!=" if atom.operand else "=", "")
    return None


def _allows(atom: Atom, values: tuple[str, ...]) -> bool:
    """Can a field test on `kind` or `status` hold for one of `values`?"""
    if atom.op == "eq":
        return atom.operand in values
    if atom.op == "in":
        return any(v in atom.operand for v in values)
    if atom.op == "not":
        return any(v != atom.operand for v in values)
    if atom.op == "not_in":
        return any(v not in atom.operand for v in values)
    if atom.op == "matches":
        return any(re.fullmatch(atom.operand, v) for v in values)
    return True


def _atoms(node) -> list[Atom] | None:
    """The atoms of a node that is a plain conjunction of field tests; None for any/count."""
    if isinstance(node, Atom):
        return [node]
    if isinstance(node, All):
        found = []
        for item in node.items:
            inner = _atoms(item)
            if inner is None:
                return None
            found += inner
        return found
    return None


def _conditions(conditions: list[Condition]) -> tuple[bool, list[Matcher], list[str]]:
    """(can it route a firing alert, its matchers, the conditions left out as notes)."""
    matchers, notes = [], []
    for condition in conditions:
        atoms = _atoms(condition.node)
        if atoms is None:
            notes.append(condition.text)
            continue
        left_out = False
        for atom in atoms:
            if atom.path == "kind":
                if not _allows(atom, ("alert",)):
                    return False, [], []
                continue
            if atom.path == "status":
                if not _allows(atom, FIRING):
                    return False, [], []
                continue
            matcher = _atom_matcher(atom)
            if matcher is None or not am_matchers.go_compatible(matcher):
                left_out = True
                continue
            matchers.append(matcher)
        if left_out:
            notes.append(condition.text)
    return True, matchers, notes


def _routes_of(rule, where: str) -> list[Route]:
    ok, matchers, notes = _conditions(rule.conditions)
    if not ok:
        return []
    actions = rule.actions
    rooms = [a for a in actions if a.name in ROOM_ACTIONS and a.params.get("room")]
    if not rooms:
        name = actions[0].name if actions else "drop"
        return [Route(name, matchers, notes, rule.cont, rule=rule.name, where=where, room=False)]
    routes = []
    for i, action in enumerate(rooms):
        params = action.params
        group_by = [EVERY_ALERT]
        if action.name == "group":
            group_by = [_matcher_name(str(b)) for b in params.get("by") or []]
            if not all(am_matchers.LABEL_NAME.match(am_matchers.api_name(g)) for g in group_by):
                notes = notes + [f"group by {', '.join(params.get('by') or [])}"]
                group_by = [EVERY_ALERT]
        routes.append(Route(str(params["room"]), matchers, notes, rule.cont if i == len(rooms) - 1 else True,
                            [am_matchers.api_name(g) if g != EVERY_ALERT else g for g in group_by],
                            _am_duration(params["wait"]) if action.name == "group" and params.get("wait") else "",
                            _am_duration(params["repeat"]) if params.get("repeat") else "",
                            rule.name, where))
    return routes


def tree(rules: Rules | None) -> Tree:
    """The routing ruleset of `rules` as a routing tree (a bare root when there is none)."""
    ruleset = rules.ruleset(ROUTING) if rules is not None else None
    if ruleset is None:
        return Tree(Route(DEFAULT_RECEIVER, room=False), [], rules.version if rules is not None else "")
    root = Route(DEFAULT_RECEIVER, room=False)
    routes = []
    for compiled in ruleset.rules:
        rule = compiled.rule
        if rule.broken:
            continue
        where = f"{ruleset.ruleset.file}:{rule.line}"
        found = _routes_of(rule, where)
        routes += found
        if rule.catch_all and found:
            # The root too; and the last child, so that a rule with `continue` before it leads
            # here as it does in Sparky (Alertmanager takes the root only when no child matches).
            root = Route(found[-1].receiver, [], [], False, found[-1].group_by, found[-1].group_wait,
                         found[-1].repeat, rule.name, where, found[-1].room)
            break
    return Tree(root, routes, rules.version, list(rules.data.get("inhibit_rules") or []),
                list(rules.data.get("time_intervals") or []))


def routes_of(routes: Tree, alert: dict, now: float) -> list[Route]:
    """The routes the tree sends an alert state (router/alerts/state.py) along, in order."""
    view = flat(as_signal(alert), now)
    found = []
    for route in routes.routes:
        if holds([m.as_dict() for m in route.matchers], view) if route.matchers else True:
            found.append(route)
            if not route.cont:
                return found
    return found or [routes.root]     # as Alertmanager: the root only when no child matched


def receivers(matched: list[Route]) -> list[str]:
    """The receivers of those routes, each once."""
    return list(dict.fromkeys(route.receiver for route in matched))


def _quoted(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _route_lines(route: Route, indent: str) -> list[str]:
    lines = [f"{indent}receiver: {_quoted(route.receiver)}"]
    if route.group_by:
        lines.append(f"{indent}group_by: [{', '.join(_quoted(g) for g in route.group_by)}]")
    if route.matchers:
        lines.append(f"{indent}matchers:")
        lines += [f"{indent}- {_quoted(am_matchers.as_text(m))}" for m in route.matchers]
    if route.group_wait:
        lines.append(f"{indent}group_wait: {route.group_wait}")
    if route.repeat:
        lines.append(f"{indent}repeat_interval: {route.repeat}")
    if route.cont:
        lines.append(f"{indent}continue: true")
    return lines


def config_yaml(routes: Tree, header: list[str]) -> str:
    """The tree as an Alertmanager configuration file (comments say where each route comes from)."""
    lines = [f"# {line}" if line else "#" for line in header]
    lines += ["route:"]
    if routes.root.rule:
        lines.append(f"  # rule {routes.root.rule} ({routes.root.where}): the default route")
    lines += _route_lines(routes.root, "  ")
    if routes.routes:
        lines.append("  routes:")
    for route in routes.routes:
        lines.append(f"  # rule {route.rule} ({route.where})")
        first, *rest = _route_lines(route, "    ")
        lines.append("  - " + first.lstrip())
        lines += rest
        lines += [f"    # and, not written as a matcher: {note}" for note in route.notes]
    lines.append("receivers:")
    lines += [f"- name: {_quoted(name)}" for name in routes.receivers]
    lines += _inhibit_lines(routes.inhibit_rules)
    if routes.time_intervals:
        lines.append("time_intervals:")
        lines += [f"- {json.dumps(item, ensure_ascii=False, sort_keys=True)}" for item in routes.time_intervals]
    return "\n".join(lines) + "\n"


def _am_matcher(text: str) -> str | None:
    """An inhibit rule's matcher as Alertmanager's config reads it (None when it cannot)."""
    found = am_matchers.from_config(text)
    matcher = Matcher(found.name[len("labels."):] if found.name.startswith("labels.") else found.name,
                      found.op, found.value)
    return am_matchers.as_text(matcher) if am_matchers.go_compatible(matcher) else None


def _inhibit_lines(rules: list) -> list[str]:
    """suppression.yml's `inhibit_rules` (YAML flow style); one Alertmanager cannot read is a comment."""
    if not rules:
        return []
    lines = ["inhibit_rules:"]
    for rule in rules:
        source = [_am_matcher(m) for m in rule.get("source_matchers") or []]
        target = [_am_matcher(m) for m in rule.get("target_matchers") or []]
        equal = [e[len("labels."):] if e.startswith("labels.") else e for e in rule.get("equal") or []]
        if None in source or None in target:
            lines.append(f"# not for Alertmanager (a regex RE2 cannot read): {json.dumps(rule, ensure_ascii=False)}")
            continue
        lines.append(f"- source_matchers: {json.dumps(source, ensure_ascii=False)}")
        lines.append(f"  target_matchers: {json.dumps(target, ensure_ascii=False)}")
        lines.append(f"  equal: {json.dumps(equal, ensure_ascii=False)}")
    return lines
