"""The rules in force: every file of a rules dir loaded, validated, compiled, under one version.

`load(files, display_dir)` returns `(Rules, [])` or `(None, problems)`; it never touches the
engine or Redis (check.py adds the engine build and the inline tests).

Choices where SPEC is silent:
- `people.yml` and `permissions.yml` are data files (validated, not rulesets); every other
  `*.yml`/`*.yaml` file is a ruleset. `deploy.yml`, `stale.yml` and `suppression.yml` may carry
  the extra top-level keys SPEC §10 and §6 give them (apps/calendar/bypass, scans, guardrails).
- Only the ruleset named `routing` must end in a default route (a catch-all `when: {}`): it is
  the one that decides where a signal goes, like Alertmanager's root route. Suppression, deploy,
  stale and custom rulesets act on some signals only.
- A rule is unreachable when an earlier rule without `continue` (and without `count`) has a
  subset of its conditions — the catch-all being the commonest case.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import PurePath

from router.core.registry import Vocabulary
from router.engine import datafiles, schema, vocabulary
from router.engine.compile import Compiled, compile_ruleset
from router.engine.conditions import intervals_of
from router.engine.loader import Document, Problem, YDict, did_you_mean, line_of, parse
from router.engine.ruleset import Ruleset, build

DATA_FILES = tuple(datafiles.DATA_FILES)
DEFAULT_ROUTE_REQUIRED = ("routing",)


def version_of(files: dict[str, str]) -> str:
    """Content hash of a rules dir: the same files always give the same version."""
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + files[name].encode() + b"\0")
    return digest.hexdigest()[:12]


@dataclass
class Rules:
    version: str
    files: dict[str, str]
    rulesets: list[Compiled]
    data: dict = field(default_factory=dict)   # people, groups, permissions, apps, calendar, scans, ...
    display_dir: str = ""

    def ruleset(self, name: str) -> Compiled | None:
        return next((c for c in self.rulesets if c.name == name), None)

    @property
    def guardrails(self) -> dict:
        """The suppression ruleset's `guardrails:` (snooze limits the chat layer enforces)."""
        return self.data.get("guardrails", {})


def load(files: dict[str, str], display_dir: str = "rules",
         vocab: Vocabulary | None = None) -> tuple[Rules | None, list[Problem]]:
    """Load with the names `vocab` allows (default: the process's registry, router/core/registry.py)."""
    with vocabulary.using(vocab):
        return _load(files, display_dir)


def _load(files: dict[str, str], display_dir: str) -> tuple[Rules | None, list[Problem]]:
    version = version_of(files)
    problems: list[Problem] = []
    docs = {name: parse(name, text, str(PurePath(display_dir) / name)) for name, text in sorted(files.items())}
    for doc in docs.values():
        problems += doc.problems
    data: dict = {}
    data_docs: dict[str, Document] = {}
    rulesets: list[Ruleset] = []
    seen: dict[str, str] = {}
    broken: set[str] = set()
    folders: dict[str, list[Document]] = {}
    for name, doc in docs.items():
        if doc.problems:
            continue
        if "/" in name:
            folders.setdefault(name.split("/", 1)[0], []).append(doc)
            continue
        stem = PurePath(name).stem
        if stem in DATA_FILES:
            loaded, found = schema.load(datafiles.DATA_FILES[stem](), doc.data, doc.display)
            problems += found
            if loaded is not None:
                data.update(loaded)
                data_docs[stem] = doc
            continue
        ruleset, found = build(doc)
        problems += found
        if ruleset is None:
            continue
        if found:
            broken.add(ruleset.name)
        if ruleset.name in seen:
            problems.append(Problem(doc.display, ruleset.line,
                                    f'ruleset "{ruleset.name}" is already defined in {seen[ruleset.name]}'))
            continue
        seen[ruleset.name] = doc.display
        rulesets.append(ruleset)
        for key, value in ruleset.extras.items():
            if key == INTERVALS:
                problems += _more_intervals(data, value, doc)
            else:
                data[key] = value
    for folder, found_docs in sorted(folders.items()):
        reader = vocabulary.active().folders.get(folder)
        if reader is None:
            problems += [Problem(d.display, 0, f"no feature of this Sparky reads {folder}/ files") for d in found_docs]
            continue
        extra, found = reader(found_docs, data)
        problems += found
        data.update(extra)
    for ruleset in rulesets:
        problems += _order_problems(ruleset)
        problems += _interval_names(ruleset, {i["name"] for i in data.get(INTERVALS, [])})
    problems += _references(data, data_docs, rulesets)
    if "people" in data_docs:
        known = set(data.get("people", {})) | set(data.get("groups", {}))
        for check in vocabulary.active().checks:    # the features' own references
            problems += check(data, data_docs, rulesets, known)
    compiled = []
    for ruleset in rulesets:
        if ruleset.name in broken:
            continue
        c = compile_ruleset(ruleset, version)
        problems += [Problem(ruleset.display, ruleset.line, p) if p.startswith("ruleset ") else
                     Problem(ruleset.display, _rule_line(ruleset, p), p) for p in c.problems]
        compiled.append(c)
    if problems:
        return None, sorted(set(problems))
    return Rules(version=version, files=dict(files), rulesets=compiled, data=data, display_dir=display_dir), []


INTERVALS = "time_intervals"
MUTING_ACTIONS = ("notify", "group", "escalate")


def _more_intervals(data: dict, given: list[dict], doc: Document) -> list[Problem]:
    """Add one file's `time_intervals` to the shared list; a name defined twice is a problem."""
    known = {i["name"] for i in data.get(INTERVALS, [])}
    raw = doc.data.get(INTERVALS) or []
    out = []
    for i, item in enumerate(given):
        if item["name"] in known:
            out.append(Problem(doc.display, line_of(raw, i, line_of(doc.data, INTERVALS)),
                               f'time interval "{item["name"]}" is defined twice'))
            continue
        known.add(item["name"])
        data.setdefault(INTERVALS, []).append(item)
    return out


def _interval_names(ruleset: Ruleset, known: set[str]) -> list[Problem]:
    """`during:`/`not_during:` and `mute_during:` must name a time interval some file defines."""
    out = []

    def unknown(name: str, line: int, where: str) -> None:
        hint = did_you_mean(name, known) or (f" (known: {', '.join(sorted(known))})" if known else
                                             " (none is defined: add time_intervals: to a rule file)")
        out.append(Problem(ruleset.display, line, f'{where}unknown time interval "{name}"{hint}'))

    for rule in ruleset.rules:
        for condition in rule.conditions:
            for name in sorted(intervals_of(condition.node) - known):
                unknown(name, condition.line, f'rule "{rule.name}": ')
        for action in rule.actions:
            muted = action.params.get("mute_during") if isinstance(action.params, dict) else None
            for name in [muted] if isinstance(muted, str) else muted or []:
                if name not in known:
                    unknown(name, action.line, f'rule "{rule.name}": action "{action.name}": mute_during: ')
    return out


def _rule_line(ruleset: Ruleset, message: str) -> int:
    for rule in ruleset.rules:
        if message.startswith(f'rule "{rule.name}"'):
            return rule.line
    return ruleset.line


def _order_problems(ruleset: Ruleset) -> list[Problem]:
    """Unreachable rules (shadowed by an earlier, more general rule) and a missing default route."""
    out = []
    # Earlier rules that stop evaluation, indexed by one of their conditions: a rule can only be
    # shadowed by a stopper whose every condition it has, so candidates share that condition.
    catch_alls: list = []
    by_condition: dict = {}
    frequency: dict = {}
    for rule in ruleset.rules:
        for condition in rule.conditions:
            frequency[condition.node] = frequency.get(condition.node, 0) + 1
    for rule in ruleset.rules:
        if rule.broken:
            continue
        nodes = {c.node for c in rule.conditions}
        candidates = catch_alls + [s for node in nodes for s in by_condition.get(node, ())]
        for earlier, earlier_nodes in sorted(candidates, key=lambda s: s[0].index):
            if earlier_nodes <= nodes:
                why = "matches every signal" if not earlier_nodes else "matches every signal this one does"
                out.append(Problem(ruleset.display, rule.line,
                                   f'rule "{rule.name}": unreachable: rule "{earlier.name}" (line {earlier.line}) '
                                   f'above {why} and has no "continue: true"'))
                break
        if not rule.cont and rule.count is None:
            if nodes:
                rarest = min(nodes, key=lambda n: frequency[n])
                by_condition.setdefault(rarest, []).append((rule, nodes))
            else:
                catch_alls.append((rule, nodes))
    if ruleset.name in DEFAULT_ROUTE_REQUIRED and not any(r.catch_all for r in ruleset.rules):
        out.append(Problem(ruleset.display, ruleset.line,
                           f'ruleset "{ruleset.name}": no default route: end it with a catch-all rule '
                           f'(when: {{}}) so that every signal goes somewhere'))
    return out


def _references(data: dict, docs: dict[str, Document], rulesets: list[Ruleset]) -> list[Problem]:
    """Names in permissions.yml, groups and deploy settings that must exist in people.yml."""
    out: list[Problem] = []
    people_doc = docs.get("people")
    if people_doc is None:
        return out
    people = set(data.get("people", {}))
    groups = set(data.get("groups", {}))
    known = people | groups
    raw_groups = people_doc.data.get("groups") or {}
    for group, members in data.get("groups", {}).items():
        for i, member in enumerate(members):
            if member not in known:
                line = line_of(raw_groups.get(group), i, line_of(raw_groups, group))
                out.append(Problem(people_doc.display, line, f'group "{group}": unknown person or group '
                                                             f'"{member}"{did_you_mean(member, known)}'))
    perm_doc = docs.get("permissions")
    if perm_doc is not None:
        raw = perm_doc.data.get("permissions") or []
        for i, entry in enumerate(data.get("permissions", [])):
            node = raw[i] if i < len(raw) else YDict()
            line = line_of(raw, i)
            for name in entry["allow"]:
                if name != "*" and name not in known:
                    out.append(Problem(perm_doc.display, line_of(node, "allow", line),
                                       f'permission {i + 1}: unknown person or group "{name}"{did_you_mean(name, known)}'))
            # chat commands built in, and those the command packs (commands/*.yml) add
            commands = sorted(set(vocabulary.active().commands) | set(data.get("packs") or {})) + ["*"]
            for command in entry["command"]:
                if command not in commands:
                    out.append(Problem(perm_doc.display, line_of(node, "command", line),
                                       f'permission {i + 1}: unknown command "{command}"'
                                       f'{did_you_mean(command, commands)}'))
    return out
