"""durable-rules as a stateless matcher, the way the notes' §6 found it safe.

- One process-wide RLock around every call into the engine (its C core has no locks).
- The engine is built lazily in the process that uses it, and rebuilt after a fork (pid check
  plus `os.register_at_fork`): C state and threads do not survive a fork.
- Hosts never start their two timer threads (`_run` is a no-op); no store callbacks are set.
- Each evaluation (one ruleset, one batch of facts) gets a fresh session: a sentinel event
  whose rule fires first (deleting a session that never ran an action segfaults), then the
  facts, then `delete_state` in `finally`. At most one session is alive per process.
- Facts are asserted, so every rule that matches fires; the caller applies rule order and
  `continue`. Actions are drained straight from the C API: which rule fired is the engine rule's
  name. (Host.post raises on the first unmatched fact of a batch and leaves the other facts'
  actions queued, and its Python plumbing costs about half of each call.)
- Rules versions are registered on a Host each (names `<ruleset>@<version>.<hash>`); the
  previous version's rulesets are deleted once a newer one is in use.
"""
from __future__ import annotations

import itertools
import json
import logging
import os
import threading
from collections import OrderedDict

import durable_rules_engine as dre
from durable import engine as durable

from router.engine.compile import SENTINEL, Compiled

log = logging.getLogger("sparky.rules")

KEEP_VERSIONS = 2
MAX_PROPERTIES = 250  # per fact, sid included; the engine breaks at 255 (see Engine.run)


class EngineError(Exception):
    """The engine refused one fact (e.g. error 302 or 303); the message says which."""


def _noop(c) -> None:
    return None


class _Host(durable.Host):
    """A durable-rules Host with no background timer threads and no store callbacks."""

    def _run(self) -> None:  # Host.__init__ would start two self-rescheduling Timer chains
        self._d_timer = self._t_timer = None

    def get_action(self, action_name):
        return _noop


class Engine:
    """The per-process engine: registered rulesets per version, and the session discipline."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.hosts: OrderedDict[str, tuple[_Host, dict[str, int]]] = OrderedDict()
        self.live_sessions = 0
        self.sessions_opened = 0
        self._sid = itertools.count()

    # -- rulesets ---------------------------------------------------------------------------------

    def handle(self, compiled: Compiled, version: str) -> int:
        entry = self.hosts.get(version)
        if entry is None:
            entry = self.hosts[version] = (_Host(), {})
            self.hosts.move_to_end(version)
            while len(self.hosts) > KEEP_VERSIONS:
                self._retire(*self.hosts.popitem(last=False))
        else:
            self.hosts.move_to_end(version)
        host, handles = entry
        if compiled.engine_name not in handles:
            # set_rulesets pops "run" out of the dict it is given: hand it a copy.
            definition = json.loads(json.dumps({compiled.engine_name: compiled.definition}))
            host.register_rulesets(definition)
            handles[compiled.engine_name] = host.get_ruleset(compiled.engine_name)._handle
        return handles[compiled.engine_name]

    def _retire(self, version: str, entry: tuple) -> None:
        _host, handles = entry
        for name, handle in handles.items():
            try:
                dre.delete_ruleset(handle)
            except Exception:  # noqa: BLE001 (the engine raises its own error type)
                log.warning("could not delete engine ruleset %s", name)

    # -- evaluation ---------------------------------------------------------------------------------

    def run(self, compiled: Compiled, version: str, facts: list[dict]) -> list[set[int] | EngineError]:
        """For each fact (its "id" is its position), the indexes of the rules that fired."""
        out: list[set[int] | EngineError] = [set() for _ in facts]
        sendable = []
        for i, fact in enumerate(facts):
            if len(fact) + 1 > MAX_PROPERTIES:  # + sid
                # 255+ properties: assert_facts returns a garbage state handle and the process
                # segfaults on the next call, instead of error 302. Never send one.
                out[i] = EngineError(f"a signal with {len(fact) + 1} engine fields (limit {MAX_PROPERTIES}): "
                                     f"too many computed conditions hold at once")
            else:
                sendable.append(fact)
        with LOCK:
            handle = self.handle(compiled, version)
            try:
                self._session(handle, compiled, sendable, out)
                return out
            except EngineError:
                pass
            # One fact spoiled the batch: evaluate each alone, so only it carries the error.
            for fact in sendable:
                position = int(fact["id"])
                one: list = [set()]
                try:
                    self._session(handle, compiled, [dict(fact, id="0")], one)
                    out[position] = one[0]
                except EngineError as exc:
                    out[position] = exc
            return out

    def _session(self, handle: int, compiled: Compiled, facts: list[dict], fired: list[set[int]]) -> None:
        sid = f"{self.pid}-{next(self._sid)}"
        self.live_sessions += 1
        self.sessions_opened += 1
        sentinel_ran = False
        try:
            result = dre.assert_event(handle, json.dumps({"id": "sentinel", "sid": sid, SENTINEL: 1}))
            self._drain(handle, result[1], compiled, fired)
            sentinel_ran = True
            for fact in facts:
                fact["sid"] = sid
            try:
                result = dre.assert_facts(handle, json.dumps(facts, ensure_ascii=False))
            except Exception as exc:  # noqa: BLE001
                raise EngineError(str(exc)) from None
            if result[0] == 2:
                raise EngineError("the engine took a fact for a duplicate (error: message observed)")
            self._drain(handle, result[1], compiled, fired)
        finally:
            if sentinel_ran:
                dre.delete_state(handle, sid)
                self.live_sessions -= 1
            else:
                log.error("engine session %s left open: its sentinel did not run", sid)

    @staticmethod
    def _drain(handle: int, state_handle: int, compiled: Compiled, fired: list[set[int]]) -> None:
        """Run the queued actions: record which rule fired for which fact."""
        started = dre.start_action_for_state(handle, state_handle)
        if not started:
            return
        state, message = started
        engine_rules = compiled.engine_rules
        while message:
            for rule_name, frame in json.loads(message).items():
                index = engine_rules.get(rule_name)
                if index is None:
                    continue  # the sentinel
                for one in frame if isinstance(frame, list) else [frame]:
                    fact = one.get("m", one)
                    fired[int(fact["id"])].add(index)
            dre.update_state(handle, state)
            message = dre.complete_and_start_action(handle, state_handle)


LOCK = threading.RLock()
_engine: Engine | None = None


def get() -> Engine:
    """This process's engine, built on first use (and again in a forked child)."""
    global _engine
    with LOCK:
        if _engine is None or _engine.pid != os.getpid():
            _engine = Engine()
        return _engine


def _after_fork_in_child() -> None:
    global LOCK, _engine
    LOCK = threading.RLock()   # the parent's lock may have been held by another thread
    _engine = None


os.register_at_fork(after_in_child=_after_fork_in_child)


def live_sessions() -> int:
    return _engine.live_sessions if _engine is not None and _engine.pid == os.getpid() else 0
