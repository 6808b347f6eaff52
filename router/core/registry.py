"""The registry: what features and plugins add to Sparky, filled once at start-up.

The layers below the features — the pipeline, the rules engine, the job runner — never import a
feature. They read what features registered here: the action catalogue (`then:` names, their
parameter schemas and functions), fact providers (brain-derived fields the rules read, and state
kept before each evaluation), chat commands, sources, the extra keys a ruleset file may carry,
hooks run on each evaluated batch, and what a starting worker puts right.

A feature (router/alerts, snoozes, deploys, stale, actions/, the chat commands) has a module-level
`register(registry)`; a composition root (router/assembly.py, used by `create_app`, worker.py and
the CLI) calls each once, then `install`s the result for the process. A third-party plugin will
register exactly the same way (the extensions issue opens the entry point).

`current()` is how code without an explicit registry argument (RQ jobs, which RQ calls by name)
reaches it; everything that can take it as an argument does.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping


@dataclass(frozen=True)
class Action:
    """An effect a rule names in `then:`: its parameters' schema and the function a job runs.

    `run(signal, conn, config, *, ctx, **params) -> outcome text`; None for an action whose whole
    effect is its record in the decision (`at_decision`, e.g. drop) or that is not built.
    """

    name: str
    params: type                                  # a marshmallow Schema class (unknown keys refused)
    run: Callable[..., str] | None = None
    at_decision: bool = False                     # done when decided: no job is queued
    sends_decision: bool = False                  # its job also reads the stored decision (webhook)


@dataclass(frozen=True)
class Facts:
    """Brain-derived fields the rules may read, and the feature that fills them.

    - `fields`: each field and its value when there is no brain (inline tests, `rules test`);
    - `record(conn, data, signals) -> {signal id: note}`: state kept before the rules run (the
      alert state, deploy gate facts); a signal it returns is absorbed — recorded, the rules not
      run for it (an alert re-sent while it keeps its status), with the note in its decision;
    - `gather(pipe, ctxs, needed, now, write) -> [callback]`: queue the reads for the `needed`
      fields of these contexts on one pipeline, one callback per queued command (None for a
      command whose reply is not needed), each setting the fields from its reply;
    - `writes`: fields whose gathering also writes when `write` is set (the `repeat` history), so
      the batch's pipeline must be one MULTI transaction;
    - `reads_rules`: `gather` also takes `data=` the rule files' data (inhibition reads the
      suppression ruleset's `inhibit_rules`).
    """

    name: str
    fields: Mapping[str, Any] = field(default_factory=dict)
    record: Callable[..., Mapping[str, str] | None] | None = None
    gather: Callable[..., list] | None = None
    writes: frozenset[str] = frozenset()
    reads_rules: bool = False


class Registry:
    """Everything registered; read by the layers below the features."""

    def __init__(self) -> None:
        self.actions: dict[str, Action] = {}
        self.facts: list[Facts] = []
        self.commands: dict[str, Any] = {}            # name -> router.commands.declare.Command
        self.aliases: dict[str, str] = {}
        self.sources: dict[str, Any] = {}             # endpoint name -> adapter module (sources/)
        self.extras: dict[str, dict[str, Any]] = {}   # ruleset -> {top-level key: marshmallow field}
        self.approvables: list[Any] = []              # kinds of request `approve`/`deny` decide
        self.batch_hooks: list[Callable] = []         # (conn, signal_ids): each drained batch
        self.evaluator: Callable | None = None        # (conn, signal_ids) -> decided
        self.recoveries: dict[str, Callable] = {}     # name -> (conn) -> how many put right
        self.checks: list[Callable] = []              # (rules data, docs, rulesets, known names) -> problems
        self.folders: dict[str, Callable] = {}       # rules-dir folder -> (docs, data) -> (data, problems)
        self.resolvers: list[Callable] = []           # (conn, config, text) -> text, as a message is sent
        self.planned: set[str] = set()                # command names SPEC gives that are not built yet
        self.plugins: list[str] = []                  # what registered, in order
        self.child: tuple[str, ...] = ()              # argv starting a process assembled like this one

    # -- registering --------------------------------------------------------------------------
    def add_action(self, action: Action) -> None:
        self._unique(action.name, self.actions, "action")
        self.actions[action.name] = action

    def add_facts(self, provider: Facts) -> None:
        taken = {name for other in self.facts for name in other.fields}
        clash = taken & set(provider.fields)
        if clash:
            raise ValueError(f"fact field(s) {sorted(clash)} registered twice (by {provider.name})")
        self.facts.append(provider)

    def add_command(self, command: Any) -> None:
        self._unique(command.name, self.commands, "command")
        self.commands[command.name] = command
        for alias in command.aliases:
            self.aliases[alias] = command.name

    def add_source(self, name: str, adapter: Any) -> None:
        """An adapter (sources/): posted to at `/hooks/<name>` unless it names its own `PATHS`."""
        self._unique(name, self.sources, "source")
        self.sources[name] = adapter

    def add_extras(self, ruleset: str, keys: Mapping[str, Any]) -> None:
        mine = self.extras.setdefault(ruleset, {})
        for key in keys:
            self._unique(key, mine, f"{ruleset} key")
        mine.update(keys)

    def add_check(self, check: Callable) -> None:
        """`check(data, docs, rulesets, known) -> [Problem]`, run by the rules loader once the files
        load: references a feature's settings make (people and groups named in deploy.yml, ...)."""
        self.checks.append(check)

    def add_folder(self, folder: str, load: Callable) -> None:
        """`load(docs, data) -> (extra data, [Problem])` reads the files of a rules-dir folder
        (`commands/*.yml`: command packs) once the top-level files are loaded into `data`."""
        self._unique(folder, self.folders, "rules folder")
        self.folders[folder] = load
    def add_resolver(self, resolve: Callable) -> None:
        """`resolve(conn, config, text) -> text`, applied by router/chat/send.py to a message's text
        and mention as it is sent (`@oncall` → whoever is on call then: router/oncall)."""
        self.resolvers.append(resolve)

    def on_batch(self, hook: Callable) -> None:
        self.batch_hooks.append(hook)

    def on_recover(self, name: str, hook: Callable) -> None:
        """`hook(conn) -> int`, run when a worker starts and at each of its maintenance runs: put
        right what a dead process left half done (router/jobs/recovery.py)."""
        self._unique(name, self.recoveries, "recovery")
        self.recoveries[name] = hook

    @staticmethod
    def _unique(name: str, where: Mapping, what: str) -> None:
        if name in where:
            raise ValueError(f'{what} "{name}" registered twice')

    # -- reading ------------------------------------------------------------------------------
    @property
    def fields(self) -> dict[str, Any]:
        """Every brain-derived field and its default."""
        return {name: default for provider in self.facts for name, default in provider.fields.items()}

    def command(self, name: str) -> Any | None:
        name = name.lower()
        return self.commands.get(self.aliases.get(name, name))

    def vocabulary(self) -> "Vocabulary":
        return Vocabulary(actions={n: a.params for n, a in self.actions.items()},
                          fields=self.fields, commands=frozenset(self.commands) | frozenset(self.planned),
                          extras={r: dict(k) for r, k in self.extras.items()}, checks=tuple(self.checks),
                          folders=dict(self.folders), planned=frozenset(self.planned))


@dataclass(frozen=True)
class Vocabulary:
    """What rule files may name, as the engine checks them: actions and their parameter schemas,
    brain-derived fields with their defaults, chat commands (permissions.yml), extra file keys."""

    actions: Mapping[str, type] = field(default_factory=dict)
    fields: Mapping[str, Any] = field(default_factory=dict)
    commands: frozenset[str] = frozenset()
    extras: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    checks: tuple[Callable, ...] = ()
    folders: Mapping[str, Callable] = field(default_factory=dict)
    planned: frozenset[str] = frozenset()     # named but not built: a command pack may build them


_installed: Registry | None = None


class NotAssembled(RuntimeError):
    """Code that needs the registry ran in a process that no composition root set up."""


def install(registry: Registry) -> Registry:
    """Make `registry` the process's own (done by the composition roots, and the test suite)."""
    global _installed
    _installed = registry
    return registry


def installed() -> Registry | None:
    return _installed


def current() -> Registry:
    if _installed is None:
        raise NotAssembled("no registry in this process: start Sparky through create_app(), worker.py or "
                           "the `sparky` command (router/assembly.py builds it)")
    return _installed
