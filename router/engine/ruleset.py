"""One rule file as data: `build(doc)` validates it and returns a `Ruleset` plus problems.

Every problem names the file, the line and (inside a rule) the rule, e.g.
`rules/routing.yml:14: rule "main-build-broken": unknown operator "match" (did you mean "matches"?)`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from router.core.placeholders import fields_in, strings_in
from router.core.templates import is_deferred, is_jinja, jinja_problem
from router.engine import schema, vocabulary
from router.engine.conditions import SIGNAL_FIELDS, Condition, Count, Invalid, parse_when
from router.engine.limits import MAX_RULES
from router.engine.loader import Document, Problem, did_you_mean, line_of

TEMPLATE_FIELDS = SIGNAL_FIELDS
WINDOW_TEMPLATES = {"group": ("message",)}   # parameters rendered over a group's window (actions/group.py)


@dataclass
class Action:
    name: str
    params: dict
    line: int

    def as_written(self) -> dict:
        return {self.name: self.params}


@dataclass
class Rule:
    index: int
    name: str
    line: int
    conditions: list[Condition]
    actions: list[Action]
    cont: bool = False
    description: str = ""
    broken: bool = False  # its conditions did not parse: left out of order checks

    @property
    def catch_all(self) -> bool:
        return not self.conditions and not self.broken

    @property
    def count(self) -> Count | None:
        return next((c.node for c in self.conditions if isinstance(c.node, Count)), None)


@dataclass
class InlineTest:
    number: int
    line: int
    name: str
    signal: dict
    brain: dict
    at: str | None
    expect: list[str]


@dataclass
class Ruleset:
    name: str
    file: str        # file name in the rules dir
    display: str     # how problems name the file
    line: int
    rules: list[Rule]
    tests: list[InlineTest] = field(default_factory=list)
    extras: dict = field(default_factory=dict)   # apps, calendar, scans, guardrails, ...
    source: object = None                        # the parsed YAML (YDict): lines for features' checks


def build(doc: Document) -> tuple[Ruleset | None, list[Problem]]:
    """Validate one ruleset document (already parsed YAML) and build its `Ruleset`.

    The ruleset comes back even with problems (unless its top level is unusable), so that
    order checks can still report on it; only a ruleset without problems is compiled.
    """
    data = doc.data
    name = data.get("ruleset") if isinstance(data, dict) else None
    raw_rules = data.get("rules") if isinstance(data, dict) else None
    if isinstance(raw_rules, list) and len(raw_rules) > MAX_RULES:
        return None, [Problem(doc.display, line_of(data, "ruleset", 1),
                              f'ruleset "{name}": {len(raw_rules)} rules (limit {MAX_RULES}); '
                              f'split it by concern into several files')]
    loaded, problems = schema.load(schema.ruleset_file_schema(name), data, doc.display)
    if loaded is None:
        # Still check the rules, so one run reports everything wrong with the file.
        raw_rules = data.get("rules") if isinstance(data, dict) else None
        if isinstance(raw_rules, list) and isinstance(name, str):
            problems += _rules(raw_rules, name, doc.display)[1]
        return None, problems
    rules, rule_problems = _rules(data["rules"], loaded["ruleset"], doc.display)
    problems += rule_problems
    tests, test_problems = _tests(data.get("tests") or [], doc.display)
    problems += test_problems
    extras = {k: v for k, v in loaded.items() if k not in ("ruleset", "version", "description", "rules", "tests")}
    ruleset = Ruleset(name=loaded["ruleset"], file=doc.name, display=doc.display, line=line_of(data, "ruleset", 1),
                      rules=rules, tests=tests, extras=extras, source=data)
    return ruleset, problems


def _rules(raw: list, ruleset: str, display: str) -> tuple[list[Rule], list[Problem]]:
    rules, problems, seen = [], [], {}
    for index, item in enumerate(raw):
        line = line_of(raw, index, line_of(raw))
        label = item.get("name") if isinstance(item, dict) and isinstance(item.get("name"), str) else f"#{index + 1}"
        prefix = f'rule "{label}": '
        loaded, found = schema.load(schema.RuleSchema(), item, display, prefix)
        problems += found
        if isinstance(item, dict) and isinstance(item.get("name"), str):
            if label in seen:
                problems.append(Problem(display, line_of(item, "name", line),
                                        f'{prefix}duplicate rule name (first used on line {seen[label]})'))
            else:
                seen[label] = line_of(item, "name", line)
        when = item.get("when") if isinstance(item, dict) else None
        conditions: list[Condition] = []
        broken = not isinstance(when, dict)
        if isinstance(when, dict):
            try:
                conditions = parse_when(when, ruleset, label, line_of(item, "when", line))
            except Invalid as exc:
                problems.append(Problem(display, exc.line, f"{prefix}{exc}"))
                broken = True
        actions: list[Action] = []
        then = item.get("then") if isinstance(item, dict) else None
        if isinstance(then, list):
            actions, found = _actions(then, display, prefix)
            problems += found
        if loaded is not None:
            rules.append(Rule(index=index, name=loaded["name"], line=line, conditions=conditions, actions=actions,
                              cont=loaded["continue_"], description=loaded.get("description", ""),
                              broken=broken))
    return rules, problems


def _actions(then: list, display: str, prefix: str) -> tuple[list[Action], list[Problem]]:
    catalogue = vocabulary.active().actions   # name -> parameter schema, from the registry
    out, problems = [], []
    for i, item in enumerate(then):
        line = line_of(then, i, line_of(then))
        if isinstance(item, str):
            item = {item: None}
        if not isinstance(item, dict) or len(item) != 1:
            problems.append(Problem(display, line, f"{prefix}each action is a one-key map, e.g. "
                                                   f'"- notify: {{room: \\"#ops\\"}}"'))
            continue
        (name, params), = item.items()
        if name not in catalogue:
            hint = did_you_mean(name, catalogue) or f" (known: {', '.join(catalogue)})"
            problems.append(Problem(display, line, f'{prefix}unknown action "{name}"{hint}'))
            continue
        params = {} if params is None else params
        where = f'{prefix}action "{name}": '
        loaded, found = schema.load(catalogue[name](), params, display, where)
        if found:
            problems += [Problem(p.file, p.line or line, p.message) for p in found]
            continue
        # A group's `message` reads the window (label, counts, alerts...), not one signal's fields.
        signal_texts = {k: v for k, v in params.items() if k not in WINDOW_TEMPLATES.get(name, ())} \
            if isinstance(params, dict) else params
        for text in strings_in(params):
            if is_jinja(text):      # Jinja (router/core/templates.py): compiled here, so a typo is a check error
                problem = jinja_problem(text)
                if problem:
                    problems.append(Problem(display, line, f"{where}template: {problem}"))
                continue
            if text not in list(strings_in(signal_texts)):
                continue
            for path in fields_in(text):
                if path not in TEMPLATE_FIELDS and not (path.startswith("labels.") and len(path) > 7) \
                        and not is_deferred(path):   # `{oncall:…}`: router/oncall checks the names
                    hint = did_you_mean(path, TEMPLATE_FIELDS)
                    hint = hint.replace('"?', '}"?').replace('mean "', 'mean "{') if hint else ""
                    problems.append(Problem(display, line, f'{where}unknown field "{{{path}}}" in template{hint}'))
        out.append(Action(name=name, params=params, line=line))
    return out, problems


def _tests(raw: list, display: str) -> tuple[list[InlineTest], list[Problem]]:
    out, problems = [], []
    for i, item in enumerate(raw):
        line = line_of(raw, i, line_of(raw))
        loaded, found = schema.load(schema.TestSchema(), item, display, f"test {i + 1}: ")
        problems += found
        if loaded is not None:
            out.append(InlineTest(number=i + 1, line=line, name=loaded.get("name", ""), signal=loaded["signal"],
                                  brain=loaded["brain"], at=loaded.get("at"), expect=loaded["expect"]))
    return out, problems
