"""Command packs (router/packs/): each pack's own namespace, and the fetch cache."""
from __future__ import annotations

from router.core.brain.base import PREFIX

PACK_FETCH_CACHE_MAX = 24 * 3600     # the longest a pack may keep a fetched answer


def key_pack(pack: str, key: str) -> str:
    """Whatever a pack's brain ops name (`key: places`): only that pack reads and writes it."""
    return f"{PREFIX}pack:{pack}:{key}"


def key_pack_fetch(pack: str, digest: str) -> str:
    """JSON `{status, body}` of a fetch the pack said to cache (`cache: 5m`), by request digest."""
    return f"{PREFIX}pack-fetch:{pack}:{digest}"


def key_pack_digest(pack: str, command: str, index: int, slot: int) -> str:
    """Claim of one slot of a pack command's `every:` digest: set once, by the worker that queues it."""
    return f"{PREFIX}pack-digest:{pack}:{command}:{index}:{slot}"


def key_plugin(plugin: str, key: str) -> str:
    """A Python plugin's own namespace (router/assembly.py gives each plugin its prefix)."""
    return f"{PREFIX}plugin:{plugin}:{key}"
