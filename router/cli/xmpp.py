"""`sparky xmpp`: hold Sparky's XMPP connection (router/chat/xmpp/service.py) until Ctrl-C.

`sparky up` starts it when XMPP_JID is set; in production run exactly one next to the workers (a
second one waits until the first is gone). Commands said to the bot become chat signals here,
taken in through reception like a hook's (channel `xmpp`), so a worker runs them through the one
`execute` and answers through the outbox.
"""
from __future__ import annotations

import logging
import signal
import sys

import click
from redis import Redis

from router.app import resolve_redis
from router.chat.xmpp.service import Service
from router.commands.channels import chat_signal
from router.commands.execute import XMPP_CHANNEL
from router.core import connections
from router.core.config import Config
from router.pipeline.reception import Backpressure, accept


def take_in(conn: Redis, config: Config):
    """The service's `take_in`: a command said to the bot → a stored, queued chat signal."""
    def take(room: str, user: str, nick: str, text: str) -> str | None:
        signal_ = chat_signal(XMPP_CHANNEL, text, room, user, user_name=nick)
        try:
            accept(conn, config, "chat", [signal_])
        except Backpressure as busy:
            return f"Sorry, Sparky is too busy to take commands right now ({busy}); try again in a minute."
        return None
    return take


@click.command()
def xmpp() -> None:
    """Hold the XMPP connection: join XMPP_ROOMS, take commands in, send what workers queue."""
    config = resolve_redis(Config.from_env())
    if not config.xmpp_jid or not config.xmpp_password:
        raise click.ClickException("set XMPP_JID and XMPP_PASSWORD (and XMPP_ROOMS) to use XMPP")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s xmpp %(levelname)s %(message)s")
    logging.getLogger("slixmpp").setLevel(logging.ERROR)   # its reconnect noise; ours says what matters
    # a socket timeout above the outbox's BLPOP (1 s): a dead brain is noticed, a quiet one is not
    conn = connections.connect(config.redis_url, socket_timeout=10, socket_connect_timeout=2,
                               health_check_interval=30)
    service = Service(config, conn, take_in(conn, config))
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: service.stop())
    click.echo(f"XMPP: connecting as {config.xmpp_jid} (rooms: {', '.join(config.xmpp_rooms) or 'none'})")
    code = service.run()
    if service.error:
        click.echo(f"XMPP: {service.error}", err=True)
    sys.exit(code)
