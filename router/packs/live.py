"""The live effects of a pack command: its HTTP fetch (router/core/http.py, with the response
cache), its brain namespace, and a signal posted through the rules (reception, like a hook's)."""
from __future__ import annotations

import hashlib
import json
from typing import Callable

from redis import Redis

from router.core import brain
from router.core.config import Config
from router.core.http import Client
from router.core.outcomes import Later, Permanent, Retryable
from router.core.signal import Signal
from router.packs.model import PackCommand
from router.packs.run import Failed, RedisStore
from router.pipeline import reception

SOURCE = "pack"     # the `source` of the signals packs post


def store(conn: Redis, command: PackCommand) -> RedisStore:
    return RedisStore(conn, lambda key: brain.key_pack(command.pack, key))


def fetcher(conn: Redis, command: PackCommand, secrets: list[str]) -> Callable[[dict], tuple[int, str]]:
    def fetch(request: dict) -> tuple[int, str]:
        cache = request.get("cache")
        digest = hashlib.sha256(json.dumps([request["method"], request["url"], request["headers"],
                                            request["json"]], sort_keys=True).encode()).hexdigest()[:32]
        key = brain.key_pack_fetch(command.pack, digest)
        if cache:
            hit = conn.get(key)
            if hit is not None:
                kept = json.loads(hit)
                return kept["status"], kept["body"]
        client = Client(f"pack {command.pack}", request["url"], headers=request["headers"],
                        timeout=request["timeout"], secrets=tuple(secrets))
        try:
            kwargs = {"json": request["json"]} if request["json"] is not None else {}
            response = client.request(request["method"], request["url"], **kwargs)
        except (Later, Retryable, Permanent) as exc:
            raise Failed(str(exc)) from None
        finally:
            client.close()
        if cache:
            conn.set(key, json.dumps({"status": response.status_code, "body": response.text}),
                     ex=max(1, int(min(cache, brain.PACK_FETCH_CACHE_MAX))))
        return response.status_code, response.text
    return fetch


def poster(conn: Redis, config: Config, command: PackCommand, who: str) -> Callable[[dict], str]:
    def post(fields: dict) -> str:
        labels = {**fields.get("labels", {}), "pack": command.pack, "command": command.name, "by": who}
        signal = Signal(source=SOURCE, kind=fields["kind"], status=fields["status"], severity=fields["severity"],
                        subject=fields["subject"] or f"{command.name} by {who}", summary=fields["summary"],
                        text=fields["text"], labels=labels, actor=who)
        accepted = reception.accept(conn, config, SOURCE, [signal])
        return (accepted.ids or accepted.duplicate_of or [signal.id])[0]
    return post
