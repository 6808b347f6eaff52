"""Command packs as the rules in force hold them: read from `commands/*.yml`, checked, examples run.

`read(docs, data)` is what the rules loader calls for the `commands/` folder (registered in
plugin.py): it returns `{"packs": {command word: (PackCommand, ...)}}` for `Rules.data`, or the
problems at `file:line`, in which case the whole rules version is refused and the one in force
stays (like any rules file).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import PurePath

from jinja2 import TemplateError

from router.core import templates
from router.engine.loader import Document, Problem, YDict, YList, did_you_mean, line_of
from router.engine.schema import load as schema_load
from router.engine.vocabulary import active
from router.packs.formats import Format, FormatError, parse_format
from router.packs.schema import PackSchema

ENV_REF = re.compile(r"\benv\.([A-Za-z_][A-Za-z0-9_]*)")


@dataclass(frozen=True)
class Example:
    number: int
    line: int
    say: str
    reply: str
    response: dict | None = None
    brain: dict = field(default_factory=dict)
    at: str = ""
    who: str = "alice"


@dataclass(frozen=True)
class Every:
    cron: str
    room: str
    say: str
    tz: str = "UTC"


# eq=False: hashed by identity (the rules in force are cached per version), so help can cache by it
@dataclass(frozen=True, eq=False)
class PackCommand:
    pack: str
    name: str
    file: str                       # as problems name it: rules/commands/lunch.yml
    line: int
    formats: tuple[Format, ...]
    description: str
    reply: str
    fallback: str = ""
    permission: dict | None = None  # {allow, rooms}: an entry as in permissions.yml, for this form
    rooms: tuple[str, ...] = ()
    public: bool = True
    fetch: dict | None = None
    brain: dict | None = None
    post: dict | None = None
    env: tuple[str, ...] = ()       # the environment variables its fetch may read
    every: tuple[Every, ...] = ()
    examples: tuple[Example, ...] = ()

    @property
    def word(self) -> str:
        return self.formats[0].word

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


def read(docs: list[Document], data: dict) -> tuple[dict, list[Problem]]:
    """Every pack file of the folder → `{"packs": {word: (PackCommand, ...)}}`, or problems."""
    problems: list[Problem] = []
    packs: dict[str, list[PackCommand]] = {}
    names: dict[str, str] = {}
    built_in = set(active().commands) - set(active().planned)
    for doc in docs:
        loaded, found = schema_load(PackSchema(), doc.data, doc.display)
        problems += found
        if loaded is None:
            continue
        pack = loaded.get("pack") or PurePath(doc.name).stem
        if pack in names:
            problems.append(Problem(doc.display, line_of(doc.data, "pack", 1),
                                    f'pack "{pack}" is already defined in {names[pack]}'))
            continue
        names[pack] = doc.display
        raw_commands = doc.data.get("commands") or YList()
        seen: set[str] = set()
        for i, spec in enumerate(loaded["commands"]):
            node = raw_commands[i] if i < len(raw_commands) else YDict()
            command, found = _command(pack, spec, node, doc.display, line_of(raw_commands, i), loaded["env"], data)
            problems += found
            if command is None:
                continue
            if command.name in seen:
                problems.append(Problem(doc.display, command.line, f'command "{command.name}" is defined twice'))
                continue
            seen.add(command.name)
            if command.word in built_in:
                problems.append(Problem(doc.display, line_of(node, "formats", command.line),
                                        f'command "{command.name}": `{command.word}` is a built-in command; '
                                        f'a pack cannot replace it'))
                continue
            others = {c.pack for c in packs.get(command.word, ()) if c.pack != pack}
            if others:
                problems.append(Problem(doc.display, line_of(node, "formats", command.line),
                                        f'command "{command.name}": `{command.word}` belongs to pack '
                                        f'"{sorted(others)[0]}" already'))
                continue
            packs.setdefault(command.word, []).append(command)
    if not problems:
        from router.packs.examples import run_examples  # the runtime is built on this module

        for commands in packs.values():
            for command in commands:
                problems += run_examples(command, packs)
                problems += _digests(command, packs)
    return {"packs": {word: tuple(cs) for word, cs in packs.items()}}, problems


def _command(pack: str, spec: dict, node: YDict, display: str, line: int, env: list[str],
             data: dict) -> tuple[PackCommand | None, list[Problem]]:
    problems: list[Problem] = []
    label = f'command "{spec["name"]}"'
    formats = []
    raw_formats = node.get("formats")
    for j, text in enumerate(spec["formats"]):
        try:
            formats.append(parse_format(text))
        except FormatError as exc:
            problems.append(Problem(display, line_of(raw_formats, j, line_of(node, "formats", line)),
                                    f'{label}: format "{text}": {exc}'))
    if problems:
        return None, problems
    words = {f.word for f in formats}
    if len(words) > 1:
        return None, [Problem(display, line_of(node, "formats", line),
                              f"{label}: every format starts with the same command word, not {sorted(words)}")]
    for key, template in _templates(spec):
        where = line_of(node.get(key.split(".")[0]) if isinstance(node.get(key.split(".")[0]), YDict) else node,
                        key.split(".")[-1], line_of(node, key.split(".")[0], line))
        if templates.is_jinja(template):
            try:
                templates.compiled(template)
            except TemplateError as exc:
                problems.append(Problem(display, where, f"{label}: {key}: template error: {exc}"))
                continue
        unlisted = sorted(set(ENV_REF.findall(template)) - set(env))
        if unlisted and key.startswith("fetch"):
            problems.append(Problem(display, where, f"{label}: {key}: env.{unlisted[0]} is not in the pack's "
                                                    f"`env:` list (only the variables it names may be read)"))
        if key in ("reply", "fallback") and "env" in _names(template):
            problems.append(Problem(display, where, f"{label}: {key}: a reply may not read env "
                                                    f"(secrets are for fetch only, never echoed)"))
    known = set(data.get("people") or {}) | set(data.get("groups") or {})
    permission = spec.get("permission")
    if permission and "people" in data:
        for name in permission["allow"]:
            if name != "*" and name not in known:
                problems.append(Problem(display, line_of(node.get("permission"), "allow", line),
                                        f'{label}: permission: unknown person or group "{name}"'
                                        f'{did_you_mean(name, known)}'))
    examples = tuple(Example(number=k + 1, line=line_of(node.get("examples"), k, line), say=e["say"],
                             reply=e["reply"], response=e.get("response"), brain=dict(e.get("brain") or {}),
                             at=e.get("at", ""), who=e.get("who", "alice"))
                     for k, e in enumerate(spec["examples"]))
    every = tuple(Every(cron=e["cron"], room=e["room"], say=e["say"], tz=e.get("tz", "UTC")) for e in spec["every"])
    command = PackCommand(pack=pack, name=spec["name"], file=display, line=line or line_of(node), formats=tuple(formats),
                          description=spec["description"], reply=spec["reply"], fallback=spec.get("fallback", ""),
                          permission=dict(permission) if permission else None, rooms=tuple(spec.get("rooms") or ()),
                          public=spec["public"], fetch=spec.get("fetch"), brain=spec.get("brain"),
                          post=spec.get("post"), env=tuple(env), every=every, examples=examples)
    return (None if problems else command), problems


def _digests(command: PackCommand, packs: dict) -> list[Problem]:
    """Each `every:` says a command of the packs, in a form that fits."""
    from router.packs.examples import EXAMPLE_DAY
    from router.packs.formats import Mismatch
    from router.packs.run import NoForm, choose
    from router.packs.words import split

    problems = []
    for every in command.every:
        word, tokens = split(every.say)
        try:
            choose(packs.get(word, ()), tokens, EXAMPLE_DAY)
        except (NoForm, Mismatch) as exc:
            problems.append(Problem(command.file, command.line, f'command "{command.name}": every: '
                                                                f'"{every.say}" is no pack command: {exc}'))
    return problems


def _templates(spec: dict) -> list[tuple[str, str]]:
    """(where, template) of every string a pack command renders."""
    out = [("reply", spec["reply"])]
    if spec.get("fallback"):
        out.append(("fallback", spec["fallback"]))
    for part in ("fetch", "brain", "post"):
        for key, value in _strings(spec.get(part) or {}, part):
            out.append((key, value))
    return out


def _strings(value: object, where: str) -> list[tuple[str, str]]:
    if isinstance(value, str):
        return [(where, value)]
    if isinstance(value, dict):
        return [pair for k, v in value.items() for pair in _strings(v, f"{where}.{k}")]
    if isinstance(value, list):
        return [pair for v in value for pair in _strings(v, where)]
    return []


def _names(template: str) -> set[str]:
    """The top-level names a template reads (Jinja's own analysis, or the placeholders)."""
    if templates.is_jinja(template):
        from jinja2 import meta

        try:
            return set(meta.find_undeclared_variables(templates._ENV.parse(template)))
        except TemplateError:
            return set()
    return {path.split(".")[0] for path in templates.placeholders(template)}
