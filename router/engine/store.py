"""Rules versions in the brain, and hot reload.

A version is the content hash of the rules dir's files. Publishing one stores the files under
`key_rules(version)` and flips `key_rules_version`; every web and worker process reads that key
before each evaluation batch and switches to the new version on the spot (compiling it from the
stored files, ~ms). A reload first runs the full check; a refused one leaves the version in force
untouched and its problems in `key_rules_problems()` for `GET /api/rules`.

Each process also polls SPARKY_RULES_DIR (names, sizes, mtimes; at most once per
SPARKY_RULES_POLL seconds, 0 = off) and reloads when it changed. Only the process holding the
publish lock checks and publishes; the others pick the new version up from the brain.
"""
from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from redis import Redis

from router.core import brain
from router.core.times import utcnow
from router.engine.check import check_files
from router.engine.loader import Problem, dir_signature, display_path, read_dir
from router.engine.rules import Rules, load, version_of

log = logging.getLogger("sparky.rules")

CACHE_VERSIONS = 3


class RulesUnavailable(Exception):
    """No rules version is in force and the rules dir cannot be published."""

    def __init__(self, problems: list[Problem] | list[str]):
        self.problems = [str(p) for p in problems]
        super().__init__("no rules in force: " + "; ".join(self.problems))


@dataclass
class ReloadResult:
    version: str | None
    changed: bool
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


_cache: dict[str, Rules] = {}
_cache_lock = threading.Lock()
_polls: dict[str, dict] = {}


def in_force(conn: Redis) -> str | None:
    raw = conn.get(brain.key_rules_version())
    return raw.decode() if isinstance(raw, bytes) else raw


def publish(conn: Redis, rules: Rules, by: str = "") -> bool:
    """Make `rules` the version in force (already checked). False when it already was."""
    version = rules.version
    if in_force(conn) == version:
        conn.delete(brain.key_rules_problems())
        return False
    record = {"version": version, "files": rules.files, "display_dir": rules.display_dir,
              "published_at": utcnow(), "by": by}
    old = [v.decode() if isinstance(v, bytes) else v
           for v in conn.lrange(brain.key_rules_history(), brain.RULES_HISTORY_CAP - 1, -1)]
    pipe = conn.pipeline(transaction=True)
    pipe.set(brain.key_rules(version), json.dumps(record))
    pipe.lrem(brain.key_rules_history(), 0, version)
    pipe.lpush(brain.key_rules_history(), version)
    pipe.ltrim(brain.key_rules_history(), 0, brain.RULES_HISTORY_CAP - 1)
    for stale in old:
        if stale != version:
            pipe.delete(brain.key_rules(stale))
    pipe.set(brain.key_rules_version(), version)
    pipe.delete(brain.key_rules_problems())
    pipe.execute()
    brain.audit(conn, "rules.published", who=by or "?", what=f"rules version {version}", version=version)
    log.info("rules version %s published by %s", version, by or "?")
    return True


def reload(conn: Redis, rules_dir: Path | str, by: str = "", engine: bool = True) -> ReloadResult:
    """Check the rules dir and publish it as the version in force (unless it already is)."""
    files = read_dir(Path(rules_dir)) if Path(rules_dir).is_dir() else {}
    return reload_files(conn, files, display_path(Path(rules_dir)), by=by, engine=engine)


def reload_files(conn: Redis, files: dict[str, str], display_dir: str, by: str = "",
                 engine: bool = True) -> ReloadResult:
    version = version_of(files) if files else None
    if version is not None and version == in_force(conn):
        conn.delete(brain.key_rules_problems())     # the dir is the version in force again: nothing is refused
        return ReloadResult(version, False)
    result = check_files(files, display_dir, engine=engine)
    if not result.ok:
        conn.set(brain.key_rules_problems(), json.dumps({"version": version, "at": utcnow(), "by": by,
                                                          "problems": [str(p) for p in result.problems]}))
        log.error("rules refused (version %s stays in force):\n%s", in_force(conn),
                  "\n".join(str(p) for p in result.problems))
        return ReloadResult(in_force(conn), False, result.problems)
    changed = publish(conn, result.rules, by=by)
    _remember(result.rules)
    return ReloadResult(result.rules.version, changed)


def last_refusal(conn: Redis) -> dict | None:
    raw = conn.get(brain.key_rules_problems())
    return json.loads(raw) if raw else None


def rules_for(conn: Redis, version: str) -> Rules:
    """The compiled rules of a published version (cached per process)."""
    with _cache_lock:
        cached = _cache.get(version)
    if cached is not None:
        return cached
    raw = conn.get(brain.key_rules(version))
    if raw is None:
        raise RulesUnavailable([f"version {version} is not in the brain"])
    record = json.loads(raw)
    rules, problems = load(record["files"], record.get("display_dir", "rules"))
    if rules is None:  # published by a Sparky that accepted what this one refuses
        raise RulesUnavailable(problems)
    return _remember(rules)


def _remember(rules: Rules) -> Rules:
    with _cache_lock:
        _cache[rules.version] = rules
        while len(_cache) > CACHE_VERSIONS:
            _cache.pop(next(iter(_cache)))
    return rules


# Seconds the poll's publish lock is held at most. It only spares other processes a duplicate check
# (publishing one version twice is harmless); a check takes ~0.5–2 s. A process killed while
# holding it stopped every reload by poll for the lock's life — 120 s, seen in tests/test_chaos.py.
PUBLISH_LOCK_TTL = 10


def maybe_poll(conn: Redis, rules_dir: Path | str, interval: float) -> None:
    """Reload when the rules dir changed since this process last looked (rate-limited)."""
    if interval <= 0:
        return
    key = str(Path(rules_dir).resolve())
    state = _polls.setdefault(key, {"at": float("-inf"), "signature": None})
    now = time.monotonic()
    if now - state["at"] < interval:
        return
    state["at"] = now
    signature = dir_signature(Path(rules_dir))
    if signature == state["signature"]:
        return
    state["signature"] = signature
    files = read_dir(Path(rules_dir)) if signature else {}
    if not files:
        return
    if version_of(files) == in_force(conn):
        # A refused edit was undone (or this process just started on the dir in force): the refusal
        # no longer describes the dir, so /rules and /api/rules stop showing it.
        conn.delete(brain.key_rules_problems())
        return
    lock = brain.key_rules_publish_lock()
    if not conn.set(lock, "1", nx=True, ex=PUBLISH_LOCK_TTL):
        # Another process is checking a version — maybe an older one, read mid-write: look again at
        # the next poll rather than take this signature as handled (a reload went missing so).
        state["signature"] = None
        return
    try:
        reload_files(conn, files, display_path(Path(rules_dir)), by="poll")
    finally:
        conn.delete(lock)


def current(conn: Redis, rules_dir: Path | str, poll: float = 0.0, version: str | None = None) -> Rules:
    """The rules in force; publishes the rules dir first when the brain has no version yet."""
    maybe_poll(conn, rules_dir, poll)
    version = version or in_force(conn)
    if version is None:
        result = reload(conn, rules_dir, by="bootstrap")
        if not result.ok or result.version is None:
            raise RulesUnavailable(result.problems or [f"{rules_dir}: no rule files"])
        version = result.version
    return rules_for(conn, version)
