"""The snoozes feature's registration: the `snoozed` fact and suppression.yml's guardrails."""
from __future__ import annotations

from router.core.registry import Facts, Registry
from router.snoozes import facts, schema


def register(registry: Registry) -> None:
    registry.add_facts(Facts("snoozes", facts.FIELDS, gather=facts.gather))
    registry.add_extras("suppression", schema.EXTRAS)
