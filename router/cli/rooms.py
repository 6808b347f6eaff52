"""`sparky rooms list` and `sparky rooms tail <room>`: the built-in rooms from a terminal."""
from __future__ import annotations

import time

import click
from redis import Redis

from router.app import resolve_redis
from router.chat import rooms as built_in
from router.core import connections
from router.core.config import Config

POLL_SECONDS = 0.5


def _conn() -> Redis:
    return connections.connect(resolve_redis(Config.from_env()).redis_url)


@click.group("rooms")
def rooms() -> None:
    """Built-in chat rooms (used when SLACK_BOT_TOKEN is unset)."""


@rooms.command("list")
def list_rooms() -> None:
    """Rooms with messages, most recently active first."""
    found = built_in.list_rooms(_conn())
    if not found:
        click.echo("no rooms yet: messages appear here once a rule posts to a room")
    for room in found:
        click.echo(f"{room['room']:<24} {room['messages']:>6} messages, last at {room['last_at']}")


@rooms.command("tail")
@click.argument("room")
@click.option("-n", "--lines", type=int, default=10, show_default=True, help="messages to show first")
@click.option("--follow/--no-follow", default=True, show_default=True,
              help="keep printing new messages until Ctrl-C")
@click.option("--for", "seconds", type=float, default=0, help="stop following after this many seconds")
def tail(room: str, lines: int, follow: bool, seconds: float) -> None:
    """Print the last messages of ROOM, such as '#ops', then new ones as they arrive."""
    conn = _conn()
    for message in built_in.messages(conn, room, limit=lines) if lines > 0 else []:
        click.echo(built_in.format_line(message))
    newest = built_in.messages(conn, room, limit=1)
    last = newest[-1]["id"] if newest else ""
    if not follow:
        return
    if not last:
        click.echo(f"(no messages in {room} yet; waiting)", err=True)
    deadline = time.monotonic() + seconds if seconds else None
    try:
        while deadline is None or time.monotonic() < deadline:
            fresh = built_in.messages(conn, room, limit=200, after=last)
            for message in fresh:
                click.echo(built_in.format_line(message))
                last = message["id"]
            time.sleep(POLL_SECONDS)
    except KeyboardInterrupt:
        pass
