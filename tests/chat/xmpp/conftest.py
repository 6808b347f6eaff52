"""Fixtures of the XMPP tests: a real Prosody for the session, `sparky xmpp` in this process, people.

The server (prosody.py) is started once per session on a free loopback port with a throwaway
config and a self-signed certificate, with the bot's account and three people's: alice and bob
are in people.yml (`xmpp:`), mallory is not. Each test gets a room of its own, so no test reads
another's history. Without Prosody the tests that need it skip, saying what to install.
"""
from __future__ import annotations

import threading
import uuid

import pytest

from router.chat.xmpp.service import Service
from router.core.config import Config
from tests.chat.xmpp.person import Person
from tests.chat.xmpp.prosody import ProsodyServer, Unavailable
from tests.commands.conftest import use_rules, write_rules

ACCOUNTS = {"sparky": "sparky-pw", "alice": "alice-pw", "bob": "bob-pw", "mallory": "mallory-pw"}

PEOPLE = """\
people:
  alice: {xmpp: alice@localhost, slack: U01ALICE}
  bob: {xmpp: Bob@Localhost}
  carol: {slack: U01CAROL}
groups:
  oncall: [alice, bob]
"""

PERMISSIONS = """\
permissions:
  - command: "*"
    allow: ["*"]
"""

ROUTING = """\
ruleset: routing
rules:
  - name: chat-commands
    when: {kind: command}
    then:
      - drop: {reason: handled by the chat layer}
  - name: alerts-to-the-room
    when: {kind: alert}
    then:
      - notify: {room: "xmpp:%s", mention: "@oncall"}
  - name: everything-else
    when: {}
    then:
      - drop: {reason: noise}
"""


@pytest.fixture(scope="session")
def prosody_server():
    """Prosody for the whole session (MUC with its archive, and the accounts' archive)."""
    try:
        server = ProsodyServer(accounts=ACCOUNTS, extra_modules=("mam",))
    except Unavailable as missing:
        pytest.skip(str(missing))
    try:
        server.start()
        yield server
    finally:
        server.cleanup()


@pytest.fixture
def prosody(prosody_server):
    """The session's server, running (a test that stopped it has started it again)."""
    if not prosody_server.is_running():
        prosody_server.start()
    return prosody_server


@pytest.fixture
def room(prosody) -> str:
    return prosody.room_jid(f"ops-{uuid.uuid4().hex[:8]}")


@pytest.fixture
def xmpp_env(monkeypatch, prosody, room, redis, redis_url, tmp_path):
    """What a worker and `sparky xmpp` read: XMPP at the test server, pace off, the rules in force."""
    rules = write_rules(tmp_path / "rules", people_yml=PEOPLE, permissions_yml=PERMISSIONS,
                        routing_yml=ROUTING % room.partition("@")[0])
    for name in ("SLACK_BOT_TOKEN", "SPARKY_ADMIN_TOKEN", "SPARKY_HOOK_TOKENS"):
        monkeypatch.delenv(name, raising=False)
    host, port = prosody.address
    for name, value in {"XMPP_JID": prosody.jid("sparky"), "XMPP_PASSWORD": ACCOUNTS["sparky"],
                        "XMPP_ROOMS": room, "XMPP_SERVER": host, "XMPP_PORT": str(port),
                        "XMPP_CA_CERTS": prosody.ca_cert, "SPARKY_XMPP_RATE": "0", "SPARKY_XMPP_TIMEOUT": "10",
                        "SPARKY_RULES_DIR": str(rules), "SPARKY_RULES_POLL": "0",
                        "SPARKY_REDIS_URL": redis_url}.items():
        monkeypatch.setenv(name, value)
    use_rules(redis, rules)
    return Config.from_env()


class Running:
    """`sparky xmpp` on a thread of this process, with the service the CLI builds."""

    def __init__(self, config: Config, redis):
        from router.cli.xmpp import take_in

        self.service = Service(config, redis, take_in(redis, config), backoff=(0.5, 5.0))
        self.thread = threading.Thread(target=self.service.run, name="sparky-xmpp", daemon=True)
        self.thread.start()

    def wait_ready(self, timeout: float = 20.0) -> None:
        assert self.service.ready.wait(timeout), f"sparky xmpp not online in its rooms in {timeout}s"

    def stop(self) -> None:
        self.service.stop()
        self.thread.join(10)
        assert not self.thread.is_alive(), "sparky xmpp did not stop"


@pytest.fixture
def sparky_xmpp(xmpp_env, redis):
    running = Running(xmpp_env, redis)
    try:
        running.wait_ready()
        yield running
    finally:
        running.stop()


@pytest.fixture
def people(prosody, room):
    """Connect people as needed: people("alice") is in the room, people("mallory", rooms=[]) not."""
    connected: list[Person] = []

    def connect(user: str, rooms: list[str] | None = None) -> Person:
        person = Person(prosody, user, [room] if rooms is None else rooms)
        connected.append(person)
        return person

    yield connect
    for person in connected:
        person.close()
