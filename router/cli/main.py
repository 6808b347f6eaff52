"""The `sparky` console script: one group, a module per command (router/cli/*.py)."""
from __future__ import annotations

import click

import worker as worker_module
from router.assembly import PluginError, assemble
from router.cli import stale
from router.cli.audit import audit
from router.cli.brain import brain
from router.cli.commands import commands
from router.cli.rooms import rooms
from router.cli.rules import rules
from router.cli.say import say
from router.cli.template import template
from router.cli.up import up
from router.cli.xmpp import xmpp
from router.core.config import describe


@click.group()
def main() -> None:
    """Sparky: a ChatOps rules router and policy service."""
    try:
        assemble()   # every subcommand sees the same registry as the web and worker processes
    except PluginError as exc:
        raise click.ClickException(str(exc)) from None


@main.command()
def config() -> None:
    """Print every configuration variable and its value (secrets only as set/unset)."""
    for name, value in describe():
        click.echo(f"{name:<24} {value}")


@main.command()
@click.option("--burst", is_flag=True, help="drain the queues, then exit")
def worker(burst: bool) -> None:
    """Run one RQ worker on Sparky's queues (same as `python worker.py`)."""
    worker_module.main(["--burst"] if burst else [])


main.add_command(up)           # sparky up (router/cli/up.py)
main.add_command(brain)        # sparky brain export|import (router/cli/brain.py)
main.add_command(rooms)        # sparky rooms list|tail
main.add_command(rules)        # sparky rules check|test|reload
main.add_command(commands)     # sparky commands test: the packs' examples
main.add_command(say)          # sparky say --as USER "<command>"
main.add_command(audit)        # sparky audit tail
main.add_command(template)     # sparky template render FILE --signal PAYLOAD
main.add_command(xmpp)         # sparky xmpp: holds the XMPP connection (router/chat/xmpp/)
stale.register(main)           # sparky scan [NAME], sparky stale [OWNER]

if __name__ == "__main__":
    main()
