"""`sparky say --as USER [--room ROOM] "<text>"`: a chat command from a terminal (SPEC §6).

The command runs here, synchronously, through the same `execute` as Slack and the built-in
rooms, with the same permissions for USER (people.yml name or Slack id) in ROOM. With --room, the
line and its answer are also kept in that built-in room, as if typed in the dashboard's chat box.
Exit status: 0 when the command did its job, 1 when it was refused, malformed or failed.
"""
from __future__ import annotations

import sys

import click

from router.app import connect, resolve_redis
from router.chat.send import notice
from router.commands.channels import chat_signal, record_said
from router.commands.jobs import run_here
from router.core import brain
from router.core.config import Config


@click.command()
@click.option("--as", "user", required=True, metavar="USER", help="who speaks: a people.yml name or a Slack id")
@click.option("--room", default="", metavar="ROOM",
              help="the room it is said in, e.g. '#ops' (permissions may depend on it)")
@click.argument("text", nargs=-1, required=True)
def say(user: str, room: str, text: tuple[str, ...]) -> None:
    """Run a chat command as USER and print the answer, e.g. sparky say --as alice "alerts"."""
    config = resolve_redis(Config.from_env())
    conn = connect(config)
    line = " ".join(text).strip()
    signal = chat_signal("cli", line, room.strip(), user.strip()).to_dict()
    pipe = conn.pipeline(transaction=True)
    brain.store_signals(pipe, [signal], config.signal_ttl)
    pipe.execute()
    if room:
        record_said(conn, room, user, line, signal["id"])
    reply = run_here(conn, config, signal)
    if room:
        notice(conn, config, room, "rooms", f"command/{signal['id']}/reply", reply.text)
    click.echo(reply.text)
    if reply.outcome != "ok":
        sys.exit(1)
