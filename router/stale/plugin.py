"""The stale feature's registration: stale.yml's `scans:` (its schedule is worker.py's business)."""
from __future__ import annotations

from router.core.registry import Registry
from router.stale import schema


def register(registry: Registry) -> None:
    registry.add_extras("stale", schema.EXTRAS)
