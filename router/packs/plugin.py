"""Command packs as a feature: the rules loader reads `commands/*.yml` through `model.read`, and
rules may feed a pack's brain with the `pack` action (remember.py)."""
from __future__ import annotations

from router.core.registry import Action, Registry
from router.packs import model, remember


def register(registry: Registry) -> None:
    registry.add_folder("commands", model.read)
    registry.add_action(Action("pack", remember.PackParams, remember.remember))
