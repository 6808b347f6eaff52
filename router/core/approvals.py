"""Requests a person approves (deploy requests, stale clean-ups): ids people can type, one JSON
record each in the brain, changed only atomically.

One store for every kind (router/deploys/records.py, router/stale/approvals.py): the kind is the
id's prefix (`dp-4k7q2x`, `st-9c2mhx`), which is also how `approve`/`deny` find it.
"""
from __future__ import annotations

import json
import secrets
import time
from typing import Callable, TypeVar

from redis import Redis, WatchError

ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"   # no 0/o, 1/l/i: ids are typed by people
ID_LENGTH = 6

T = TypeVar("T")


class Unchanged(Exception):
    """Raised by an `update` change to leave the record as it is; carries the answer."""

    def __init__(self, answer: object = None):
        super().__init__("unchanged")
        self.answer = answer


def normalise_id(request_id: str) -> str:
    """As people type it: case, spaces and Slack's backticks do not matter."""
    return request_id.strip().strip("`").lower()


class Store:
    """The records of one kind of request: `prefix` of their ids, their brain key, how long they
    are kept, and `view(record, now)` (e.g. an open request past its expiry shown as expired)."""

    def __init__(self, prefix: str, key: Callable[[str], str], ttl: int,
                 view: Callable[[dict, float], dict] | None = None):
        self.prefix, self.key, self.ttl = prefix, key, ttl
        self.view = view or (lambda record, now: record)

    def new_id(self, conn: Redis) -> str:
        while True:
            candidate = self.prefix + "".join(secrets.choice(ALPHABET) for _ in range(ID_LENGTH))
            if not conn.exists(self.key(candidate)):
                return candidate

    def get(self, conn: Redis, request_id: str, now: float | None = None) -> dict | None:
        raw = conn.get(self.key(normalise_id(request_id)))
        return self.view(json.loads(raw), time.time() if now is None else now) if raw else None

    def save(self, target, record: dict) -> None:
        """Write a record whole (on a connection or a pipeline): a new one, or one nobody else changes."""
        target.set(self.key(record["id"]), json.dumps(record), ex=self.ttl)

    def update(self, conn: Redis, request_id: str, change: Callable[[dict], T],
               now: float | None = None) -> tuple[dict, T]:
        """Apply `change(record)` (it edits the dict in place and returns an answer) atomically.

        `change` may raise `Unchanged(answer)` to write nothing. Raises LookupError when the
        record does not exist. Returns (the record as it is now, the answer).
        """
        key = self.key(normalise_id(request_id))
        with conn.pipeline(transaction=True) as pipe:
            while True:
                try:
                    pipe.watch(key)
                    raw = pipe.get(key)
                    if raw is None:
                        raise LookupError(request_id)
                    record = self.view(json.loads(raw), time.time() if now is None else now)
                    try:
                        answer = change(record)
                    except Unchanged as same:
                        pipe.unwatch()
                        return record, same.answer
                    pipe.multi()
                    pipe.set(key, json.dumps(record), ex=self.ttl)
                    pipe.execute()
                    return record, answer
                except WatchError:
                    continue
