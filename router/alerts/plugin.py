"""The alerts feature's registration: the alert facts the rules read, and the state kept first."""
from __future__ import annotations

from router.alerts import facts
from router.core.registry import Facts, Registry


def register(registry: Registry) -> None:
    registry.add_facts(Facts("alerts", facts.FIELDS, record=facts.record, gather=facts.gather,
                             writes=frozenset({"repeat"})))
