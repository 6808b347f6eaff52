"""Testing a Sparky plugin (after errbot's `testbot`): say a command, assert the reply.

In a plugin package's tests:

    # conftest.py
    pytest_plugins = ["router.testing"]

    @pytest.fixture
    def sparky_plugins():
        return ["hello"]             # the entry-point names to load (default: every one installed)

    # test_hello.py
    def test_hello(sparky_bot):
        assert sparky_bot.say("hello world") == "Hello, world!"

`sparky_bot` is a Sparky assembled with those plugins, a private redis-server (the one Sparky
runs embedded, router/core/embedded.py) and a rules dir of its own: people.yml knows `alice`
(in the group `staff`) and `bob`; there is no permissions.yml, so every built-in and plugin
command is allowed (command packs still need a grant). Override the `sparky_rules` fixture
(`{file name: text}`) to test with other rules. Commands run exactly as `sparky say` runs them:
the same parsing, permissions, execution and audit.
"""
from __future__ import annotations

from importlib.metadata import entry_points
from pathlib import Path

import pytest
from redis import Redis

from router.assembly import PLUGIN_GROUP, assemble
from router.commands.channels import chat_signal
from router.commands.declare import Reply
from router.commands.jobs import run_here
from router.core import brain
from router.core.config import Config
from router.core.embedded import EmbeddedRedis
from router.core.registry import install, installed

PEOPLE = """\
people:
  alice: {name: Alice Example, slack: U01ALICE, tz: UTC}
  bob: {slack: U01BOB}
groups:
  staff: [alice]
"""


class Bot:
    """A Sparky to say commands to; `say` returns the reply's text, `reply` the whole Reply."""

    def __init__(self, conn: Redis, config: Config):
        self.conn, self.config = conn, config

    def reply(self, text: str, user: str = "alice", room: str = "#test") -> Reply:
        signal = chat_signal("cli", text, room, user).to_dict()
        pipe = self.conn.pipeline(transaction=True)
        brain.store_signals(pipe, [signal], self.config.signal_ttl)
        pipe.execute()
        return run_here(self.conn, self.config, signal)

    def say(self, text: str, user: str = "alice", room: str = "#test") -> str:
        return self.reply(text, user, room).text


@pytest.fixture
def sparky_plugins() -> list[str]:
    """The plugins to load: every one installed in the entry-point group, unless overridden."""
    return sorted({ep.name for ep in entry_points(group=PLUGIN_GROUP)})


@pytest.fixture
def sparky_rules() -> dict[str, str]:
    """The rules dir's files, `{name: text}` (`commands/x.yml` for a pack)."""
    return {"people.yml": PEOPLE}


@pytest.fixture
def sparky_bot(tmp_path_factory, sparky_plugins, sparky_rules):
    root = tmp_path_factory.mktemp("sparky-bot")
    rules = root / "rules"
    for name, text in sparky_rules.items():
        (rules / name).parent.mkdir(parents=True, exist_ok=True)
        (rules / name).write_text(text)
    server = EmbeddedRedis(root / "redis", appendonly=False).start()
    before = installed()
    assemble(plugins=list(sparky_plugins))
    conn = Redis.from_url(server.url)
    config = Config.from_env().with_(redis_url=server.url, rules_dir=Path(rules), rules_poll=0,
                                     data_dir=root / "var")
    try:
        yield Bot(conn, config)
    finally:
        conn.close()
        server.stop()
        if before is not None:
            install(before)
