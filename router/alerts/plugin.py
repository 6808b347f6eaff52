"""The alerts feature's registration: the alert facts the rules read, and the state kept first;
inhibition (suppression.yml's `inhibit_rules`, the `inhibited` facts)."""
from __future__ import annotations

from router.alerts import facts, inhibitors, schema
from router.core.registry import Facts, Registry


def register(registry: Registry) -> None:
    registry.add_facts(Facts("alerts", facts.FIELDS, record=facts.record, gather=facts.gather,
                             writes=frozenset({"repeat"})))
    # After "alerts": its record keeps the alert state the inhibition record reads.
    registry.add_facts(Facts("inhibition", inhibitors.FIELDS, record=inhibitors.record, gather=inhibitors.gather,
                             reads_rules=True))
    registry.add_extras("suppression", schema.EXTRAS)
