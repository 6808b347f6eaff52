"""Running a pack command: which of its forms the words fit, its one thing (fetch, brain op, post),
and the reply rendered from the result — with the fallback, never a traceback, when it fails.

The effects come in as small objects so the same code runs live (Redis, real HTTP, reception)
and offline for the `examples:` (a dict brain, the recorded response, nothing posted):
- a `Store` does the brain ops in the pack's own namespace;
- `fetch(request) -> (status, body text)` makes (or replays) the HTTP call;
- `post(fields) -> signal id` takes a signal in through the rules.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import os
import random
from dataclasses import dataclass
from typing import Callable

from router.core import templates
from router.packs.formats import Mismatch, match
from router.packs.model import PackCommand
from router.packs.schema import DEFAULT_CAP

log = logging.getLogger("sparky.packs")

DEFAULT_FALLBACK = "Sorry, `{word}` could not get an answer right now; try again later."


class NoForm(Exception):
    """The words fit none of the command's formats; the message lists them."""


class Failed(Exception):
    """The pack's one thing did not work (HTTP error, unreachable, bad JSON); logged, never shown."""


@dataclass
class Call:
    """Who runs the command, where and when (dates are in their time zone)."""

    who: str
    room: str
    now: float
    today: dt.date


def choose(commands: tuple[PackCommand, ...], tokens: list[str], today: dt.date) -> tuple[PackCommand, dict]:
    """The form the words (after the command word) fit, and its parameters; NoForm or Mismatch."""
    wrong: Mismatch | None = None
    for command in commands:
        for fmt in command.formats:
            try:
                params = match(fmt, tokens, today)
            except Mismatch as exc:
                wrong = wrong or exc
                continue
            if params is not None:
                return command, params
    if wrong is not None:
        raise wrong
    raise NoForm("That does not fit `" + "`, `".join(f.usage() for c in commands for f in c.formats) + "`.")


# -- the brain -----------------------------------------------------------------------------------

class Store:
    """Brain ops on one pack's keys. Subclasses: RedisStore (live), MemoryStore (examples)."""

    def op(self, op: str, key: str, value: object = None, by: int = 1, ttl: float | None = None,
           cap: int = DEFAULT_CAP) -> tuple[object, bool]:
        """(result, changed) of one op."""
        raise NotImplementedError


class RedisStore(Store):
    def __init__(self, conn, key_of: Callable[[str], str]):
        self.conn, self.key_of = conn, key_of

    def op(self, op, key, value=None, by=1, ttl=None, cap=DEFAULT_CAP):
        conn, k = self.conn, self.key_of(key)
        text = "" if value is None else str(value)
        if op == "get":
            raw = conn.get(k)
            return (raw.decode() if raw is not None else None), False
        if op == "set":
            conn.set(k, text, ex=int(ttl) if ttl else None)
            return text, True
        if op == "incr":
            result = conn.incrby(k, by)
            if ttl:
                conn.expire(k, int(ttl))
            return int(result), True
        if op == "list":
            return self._items(k), False
        if op == "list add":
            items = self._items(k)
            if any(i.lower() == text.lower() for i in items) or not text:
                return items, False
            conn.rpush(k, text)
            return items + [text], True
        if op == "list remove":
            items = self._items(k)
            same = [i for i in items if i.lower() == text.lower()]
            for item in same:
                conn.lrem(k, 0, item)
            return [i for i in items if i not in same], bool(same)
        if op == "log":
            with conn.pipeline(transaction=True) as pipe:
                pipe.lpush(k, text)
                pipe.ltrim(k, 0, cap - 1)
                if ttl:
                    pipe.expire(k, int(ttl))
                pipe.execute()
            return self._items(k), True
        if op == "pick random":
            items = self._items(k)
            return (random.choice(items) if items else None), False
        if op == "hll add":
            values = value if isinstance(value, list) else [text]
            changed = bool(conn.pfadd(k, *[str(v) for v in values])) if values else False
            if ttl:
                conn.expire(k, int(ttl))
            return int(conn.pfcount(k)), changed
        if op == "hll count":
            return int(conn.pfcount(k)), False
        raise ValueError(f"unknown brain op {op!r}")

    def _items(self, k: str) -> list[str]:
        return [i.decode() for i in self.conn.lrange(k, 0, -1)]


class MemoryStore(Store):
    """A dict brain for the examples: `pick random` picks the first item, so replies are fixed."""

    def __init__(self, state: dict | None = None):
        self.state = {k: (list(v) if isinstance(v, list) else v) for k, v in (state or {}).items()}

    def op(self, op, key, value=None, by=1, ttl=None, cap=DEFAULT_CAP):
        text = "" if value is None else str(value)
        if op == "get":
            got = self.state.get(key)
            return (None if got is None else str(got)), False
        if op == "set":
            self.state[key] = text
            return text, True
        if op == "incr":
            self.state[key] = int(self.state.get(key) or 0) + by
            return self.state[key], True
        items = [str(i) for i in self.state.get(key) or []] if op not in ("hll add", "hll count") else []
        if op == "list":
            return items, False
        if op == "list add":
            if any(i.lower() == text.lower() for i in items) or not text:
                return items, False
            self.state[key] = items + [text]
            return self.state[key], True
        if op == "list remove":
            kept = [i for i in items if i.lower() != text.lower()]
            self.state[key] = kept
            return kept, len(kept) != len(items)
        if op == "log":
            self.state[key] = ([text] + items)[:cap]
            return self.state[key], True
        if op == "pick random":
            return (items[0] if items else None), False
        if op in ("hll add", "hll count"):
            seen = set(map(str, self.state.get(key) or []))
            before = len(seen)
            if op == "hll add":
                seen |= set(map(str, value if isinstance(value, list) else [text]))
                self.state[key] = sorted(seen)
            return len(seen), len(seen) != before
        raise ValueError(f"unknown brain op {op!r}")


# -- doing it ------------------------------------------------------------------------------------

def missing_env(command: PackCommand, environ: dict | None = None) -> list[str]:
    """The environment variables the command's fetch reads and nobody set."""
    environ = os.environ if environ is None else environ
    if not command.fetch:
        return []
    used = " ".join(_flat(command.fetch))
    return [name for name in command.env if name in used and not environ.get(name)]


def perform(command: PackCommand, params: dict, call: Call, store: Store,
            fetch: Callable[[dict], tuple[int, str]], post: Callable[[dict], str],
            environ: dict | None = None, quiet: bool = False) -> tuple[str, str]:
    """(reply text, outcome "ok" | "error"): the command's one thing, then its reply."""
    environ = os.environ if environ is None else environ
    base = {**params, "params": params, "who": call.who, "room": call.room, "today": call.today.isoformat(),
            "now": dt.datetime.fromtimestamp(call.now, dt.timezone.utc).isoformat(timespec="seconds")}
    secrets = [environ[name] for name in command.env if environ.get(name)]
    missing = missing_env(command, environ)
    if missing:
        return (f"`{command.word}` is not configured in this Sparky: ask an admin to set "
                f"{', '.join(missing)}."), "error"
    try:
        extra = _do(command, base, store, fetch, post, {n: environ.get(n, "") for n in command.env})
    except Failed as exc:
        if not quiet:
            log.warning("pack %s, command %s failed: %s", command.pack, command.name, _scrub(str(exc), secrets))
        return _scrub(templates.render(command.fallback or DEFAULT_FALLBACK.replace("{word}", command.word),
                                       {**base, "word": command.word}), secrets), "error"
    text = templates.render(command.reply, {**base, **extra}).strip()
    return _scrub(text, secrets) or "(nothing to say)", "ok"


def _do(command: PackCommand, base: dict, store: Store, fetch: Callable, post: Callable, env: dict) -> dict:
    if command.brain:
        spec = command.brain
        key = templates.render(spec["key"], base)
        value = templates.render_all(spec.get("value"), base) if "value" in spec else None
        if isinstance(value, str) and spec["op"] == "hll add":
            value = [v for v in value.split() if v]
        result, changed = store.op(spec["op"], key, value, by=spec.get("by", 1), ttl=spec.get("ttl"),
                                   cap=spec.get("cap", DEFAULT_CAP))
        return {"result": result, "changed": changed}
    if command.fetch:
        spec = command.fetch
        with_env = {**base, "env": env}
        request = {"method": spec["method"], "url": templates.render(spec["url"], with_env),
                   "headers": {k: templates.render(v, with_env) for k, v in spec["headers"].items()},
                   "json": templates.render_all(spec["json"], with_env) if "json" in spec else None,
                   "timeout": spec["timeout"], "cache": spec.get("cache")}
        status, body = fetch(request)
        if status >= 400:
            raise Failed(f"{request['method']} answered {status}")
        try:
            parsed = json.loads(body) if body.strip() else None
        except ValueError:
            parsed = None
        result = parsed if parsed is not None else body
        return {"result": result, "response": {"status": status, "json": parsed, "text": body}}
    if command.post:
        fields = templates.render_all(dict(command.post), base)
        return {"result": post(fields)}
    return {}


def _flat(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _flat(v)]
    if isinstance(value, list):
        return [s for v in value for s in _flat(v)]
    return []


def _scrub(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        if len(secret) >= 4:
            text = text.replace(secret, "[redacted]")
    return text
