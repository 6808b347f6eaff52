"""The chat commands as a feature: `register(registry)` adds them, the way a plugin adds its own.

Also registered here: the kinds of request `approve`/`deny` decide (deploys, stale clean-ups,
on-call swaps), the
command names SPEC §6 gives that are not built yet (permissions.yml may name them, and `help`
says they are coming), and the hook that hands each evaluated batch's chat commands to their own
job (router/commands/jobs.py).
"""
from __future__ import annotations

from router.commands import (  # noqa: F401
    ack,
    alerts,
    approve,
    deploy,
    escalation,
    help,
    jobs,
    oncall,
    snooze,
    stale,
    why,
)
from router.commands.declare import DECLARED
from router.core.registry import Registry

# SPEC §6 names these; until they are built they answer "not available in this Sparky yet".
# (`builds`, `traffic`, `lunch` and `image` are command packs shipped in rules/commands/.)
PLANNED = ("say",)


def register(registry: Registry) -> None:
    for name in sorted(DECLARED):
        registry.add_command(DECLARED[name])
    registry.planned.update(name for name in PLANNED if name not in registry.commands)
    registry.approvables += [deploy.DEPLOY_REQUESTS, stale.STALE_REQUESTS, oncall.SWAP_REQUESTS]
    registry.on_batch(jobs.enqueue_commands)
