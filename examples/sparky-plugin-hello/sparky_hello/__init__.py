"""A sample Sparky plugin: a chat command, a source and an action, registered like Sparky's own
features.

Enabled by installing this package and naming it in SPARKY_PLUGINS (`SPARKY_PLUGINS=hello`).
"""
from __future__ import annotations

from marshmallow import RAISE, Schema, fields

from router.commands.context import Context
from router.commands.declare import Reply, UsageError, declared
from router.commands.parse import words
from router.core import brain
from router.core.registry import Action
from router.core.templates import render
from sparky_hello import source

NAME = "hello"


def hello(ctx: Context, args: str) -> Reply:
    """Say hello: Sparky greets you (or whoever you name) and counts the greetings.

    Usage: hello [name]

    Examples:
      hello
      hello world
    """
    said = words(args)
    if len(said) > 3:
        raise UsageError("Name one person or thing, in at most three words.")
    whom = " ".join(said) or ctx.who.name
    # the plugin's own namespace in the brain: sparky:plugin:hello:...
    count = ctx.conn.incr(brain.key_plugin(NAME, f"greeted:{whom.lower()}"))
    times = "the first time" if count == 1 else f"{count} times now"
    return Reply(f"Hello, {whom}! ({times})", public=True)


class GreetParams(Schema):
    class Meta:
        unknown = RAISE

    whom = fields.String(required=True)          # a template over the signal, e.g. "{actor}"


def greet(signal: dict, conn, config, *, whom: str, ctx=None) -> str:
    """The `greet` action rules may name: count a greeting for `whom`, as `hello` does."""
    name = render(whom, signal).strip() or "nobody"
    count = conn.incr(brain.key_plugin(NAME, f"greeted:{name.lower()}"))
    return f"greeted {name} ({count})"


def register(registry) -> None:
    registry.add_command(declared("hello", hello, public=True))
    registry.add_source("hello", source)
    registry.add_action(Action("greet", GreetParams, greet))
