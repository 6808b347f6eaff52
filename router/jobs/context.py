"""Which decision an action job carries out: the signal, the ruleset, the rule and the action."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Context:
    """Which decision an action carries out: the signal and the rule's action in it.

    `writes`, in a batch, collects bookkeeping writes (delivery markers, outcome records) that the
    batch sends together at its end; outside a batch they are written at once.
    """

    signal_id: str
    ruleset: str = ""
    rule: str = ""
    index: int = 0
    action: str = ""
    writes: list | None = field(default=None, compare=False, repr=False)
    # The stored decision, when a batch fetched it with the signals (webhook sends it along).
    decision: bytes | None = field(default=None, compare=False, repr=False)

    @property
    def scope(self) -> str:
        """The action within its ruleset, the same for every signal: `<ruleset>/<rule>/<index>`."""
        return f"{self.ruleset}/{self.rule}/{self.index}"

    @property
    def key(self) -> str:
        """The idempotency key: at most one effect per (signal, ruleset, rule, index)."""
        return f"{self.signal_id}/{self.scope}"

    def identity(self) -> dict:
        """The fields that name the decision (for a later job's arguments)."""
        return {"signal_id": self.signal_id, "ruleset": self.ruleset, "rule": self.rule, "index": self.index,
                "action": self.action}
