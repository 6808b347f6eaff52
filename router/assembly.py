"""The composition root's registry: every built-in feature registered, the evaluator wired.

`create_app` (router/app.py), the worker (worker.py), the `sparky` command and the rules-check
child process all start here, so every process holds the same catalogue, facts, commands and
sources. Each built-in feature registers through its module-level `register(registry)` exactly as
a third-party plugin will (the extensions issue adds allow-listed entry points to BUILT_IN's list).
Order matters where features build on each other: the alert state is recorded before the deploy
gates read it, and sources come first so the hooks can be built from them.

Python plugins come last: installed packages that declare an entry point in the group
`sparky.plugins` (importlib.metadata), loaded only when SPARKY_PLUGINS names them (a comma-
separated allowlist; nothing is ever installed or enabled from chat). A plugin's entry point is a
module or object with `register(registry)`, the same call the built-in features make
(docs/extending.md).
"""
from __future__ import annotations

import functools
import os
import sys
from importlib.metadata import entry_points

import sources
from actions import catalogue
from router.alerts import plugin as alerts
from router.commands import plugin as commands
from router.core.registry import Registry, install
from router.deploys import plugin as deploys
from router.engine.decisions import decide
from router.oncall import plugin as oncall
from router.packs import plugin as packs
from router.snoozes import plugin as snoozes
from router.stale import plugin as stale

# oncall before alerts: its heartbeats count every signal, the alert re-sends the alert state absorbs too.
BUILT_IN = (sources, oncall, alerts, snoozes, deploys, stale, catalogue, packs, commands)
PLUGIN_GROUP = "sparky.plugins"


class PluginError(RuntimeError):
    """SPARKY_PLUGINS names a plugin that is not installed, or one that failed to register."""


def allowed_plugins(env=None) -> list[str]:
    """The plugin names SPARKY_PLUGINS enables, in its order."""
    raw = (os.environ if env is None else env).get("SPARKY_PLUGINS", "")
    return list(dict.fromkeys(name.strip() for name in raw.split(",") if name.strip()))


def load_plugins(registry: Registry, names: list[str]) -> None:
    """Register the allow-listed plugins (refusing, by name, one that is not installed)."""
    if not names:
        return
    installed = {ep.name: ep for ep in entry_points(group=PLUGIN_GROUP)}
    missing = [name for name in names if name not in installed]
    if missing:
        raise PluginError(f"SPARKY_PLUGINS names {', '.join(missing)}, but no installed package declares "
                          f"{'it' if len(missing) == 1 else 'them'} in the entry-point group {PLUGIN_GROUP} "
                          f"(installed: {', '.join(sorted(installed)) or 'none'})")
    for name in names:
        try:
            plugin = installed[name].load()
            plugin.register(registry)
        except Exception as exc:
            raise PluginError(f"plugin {name} ({installed[name].value}) failed to register: "
                              f"{type(exc).__name__}: {exc}") from exc
        registry.plugins.append(f"plugin:{name}")


def build(plugins: list[str] | None = None) -> Registry:
    """Every built-in feature, then the plugins (default: those SPARKY_PLUGINS allows)."""
    registry = Registry()
    for feature in BUILT_IN:
        feature.register(registry)
        registry.plugins.append(feature.__name__)
    load_plugins(registry, allowed_plugins() if plugins is None else plugins)
    registry.evaluator = functools.partial(decide, registry=registry)
    # `sparky rules check` builds the rulesets in a child process (router/engine/check.py): this
    # module assembles it the same way, then runs router/engine/validate.py.
    registry.child = (sys.executable, "-m", "router.assembly")
    return registry


def assemble(plugins: list[str] | None = None) -> Registry:
    """Build the registry and make it this process's own."""
    return install(build(plugins))


if __name__ == "__main__":
    from router.engine import validate

    assemble()
    sys.exit(validate.main())
