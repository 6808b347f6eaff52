"""The composition root's registry: every built-in feature registered, the evaluator wired.

`create_app` (router/app.py), the worker (worker.py), the `sparky` command and the rules-check
child process all start here, so every process holds the same catalogue, facts, commands and
sources. Each built-in feature registers through its module-level `register(registry)` exactly as
a third-party plugin will (the extensions issue adds allow-listed entry points to BUILT_IN's list).
Order matters where features build on each other: the alert state is recorded before the deploy
gates read it, and sources come first so the hooks can be built from them.
"""
from __future__ import annotations

import functools
import sys

import sources
from actions import catalogue
from router.alerts import plugin as alerts
from router.commands import plugin as commands
from router.core.registry import Registry, install
from router.deploys import plugin as deploys
from router.engine.decisions import decide
from router.oncall import plugin as oncall
from router.snoozes import plugin as snoozes
from router.stale import plugin as stale

# oncall before alerts: its heartbeats count every signal, the alert re-sends the alert state absorbs too.
BUILT_IN = (sources, oncall, alerts, snoozes, deploys, stale, catalogue, commands)


def build() -> Registry:
    registry = Registry()
    for feature in BUILT_IN:
        feature.register(registry)
        registry.plugins.append(feature.__name__)
    registry.evaluator = functools.partial(decide, registry=registry)
    # `sparky rules check` builds the rulesets in a child process (router/engine/check.py): this
    # module assembles it the same way, then runs router/engine/validate.py.
    registry.child = (sys.executable, "-m", "router.assembly")
    return registry


def assemble() -> Registry:
    """Build the registry and make it this process's own."""
    return install(build())


if __name__ == "__main__":
    from router.engine import validate

    assemble()
    sys.exit(validate.main())
