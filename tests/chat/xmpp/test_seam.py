"""XMPP behind the chat seam, without a server: room names, addresses, the message's two forms, the
configuration, identity, and the workers' side of the hand-over to `sparky xmpp` (real Redis, with
the holder's side of router/chat/xmpp/outbox.py answering on a thread, as `sparky xmpp` would)."""
from __future__ import annotations

import asyncio
import json
import threading

import pytest
from marshmallow import ValidationError

from actions.nag import destination
from router.chat import platforms
from router.chat import send as chat
from router.chat.compose import alert_buttons
from router.chat.xmpp import holder, outbox
from router.chat.xmpp.address import Address, resolve
from router.chat.xmpp.client import Bot, addressed
from router.chat.xmpp.render import compose, parts
from router.cli.up import processes
from router.commands import permissions
from router.commands.context import Context
from router.core import brain, people
from router.core.config import SECRET_VARS, Config, ConfigError, describe
from router.core.outcomes import Later, Permanent, Retryable
from router.engine.datafiles import PeopleFileSchema
from router.jobs import runner
from tests.actions.conftest import alert, store

ROOMS = ("ops@conference.chat.example", "dev@conference.chat.example")
XMPP = Config(xmpp_jid="sparky@chat.example", xmpp_rooms=ROOMS, xmpp_rate=0, xmpp_timeout=2)


@pytest.mark.parametrize("room, slack, expected", [
    ("#ops", False, ("rooms", "#ops")),
    ("#ops", True, ("slack", "#ops")),
    ("C0123", True, ("slack", "C0123")),
    ("slack:#ops", True, ("slack", "#ops")),
    ("builtin:#ops", True, ("rooms", "#ops")),
    ("builtin:#ops", False, ("rooms", "#ops")),
    ("xmpp:ops", False, ("xmpp", "ops")),
    ("XMPP:ops@conference.chat.example", True, ("xmpp", "ops@conference.chat.example")),
    ("deploy:prod", False, ("rooms", "deploy:prod")),      # not a platform: a built-in room's name
])
def test_a_room_name_says_its_platform(room, slack, expected):
    config = XMPP.with_(slack_bot_token="xoxb-1" if slack else "")
    assert platforms.transport(config, room) == expected


@pytest.mark.parametrize("room, missing", [("slack:#ops", "SLACK_BOT_TOKEN"), ("xmpp:ops", "XMPP_JID")])
def test_a_platform_that_is_not_configured_is_a_permanent_failure(room, missing):
    with pytest.raises(Permanent, match=f"{missing} is unset"):
        platforms.transport(Config(), room)


@pytest.mark.parametrize("target, expected", [
    ("ops@conference.chat.example", Address("ops@conference.chat.example", True)),
    ("OPS@Conference.Chat.Example", Address("ops@conference.chat.example", True)),
    ("ops", Address("ops@conference.chat.example", True)),
    ("#dev", Address("dev@conference.chat.example", True)),
    ("alice@chat.example", Address("alice@chat.example", False)),
])
def test_an_xmpp_name_is_a_room_of_xmpp_rooms_or_a_person(target, expected):
    assert resolve(XMPP, target) == expected


@pytest.mark.parametrize("target, problem", [
    ("sales", "no room of that name in XMPP_ROOMS (ops@conference.chat.example, dev@conference.chat.example)"),
    ("sales@conference.chat.example", "a room Sparky is not in; add it to XMPP_ROOMS"),
    ("alice@chat.example/phone", "give a bare JID (no /resource)"),
])
def test_an_xmpp_name_that_names_nothing_is_refused(target, problem):
    with pytest.raises(Permanent) as refused:
        resolve(XMPP, target)
    assert str(refused.value) == f"xmpp:{target}: {problem}"


def firing_message(room: str = "xmpp:ops") -> chat.Message:
    signal = alert("web-01/HTTP", summary="CRITICAL web-01 <HTTP> & more")
    return chat.Message(room=room, key="k", text=signal.summary, mention="@oncall", emoji=":red_circle:",
                        context="nagios · firing · web-01/HTTP", url="https://nagios.example/?h=web-01&s=HTTP",
                        buttons=alert_buttons(signal.to_dict()))


def test_a_room_message_names_present_people_by_nick_and_hints_the_commands_to_type():
    short = brain.alert_id("web-01/HTTP")
    mentions = [("alice", "alice@chat.example"), ("bob", "bob@chat.example"), ("@carol", "")]
    plain, html = compose(parts(firing_message(), mentions, room=True, nick="sparky"),
                          {"alice@chat.example": "Alice (laptop)"})
    assert plain == ("🔴 Alice (laptop), bob, @carol: CRITICAL web-01 <HTTP> & more\n"
                     "nagios · firing · web-01/HTTP · https://nagios.example/?h=web-01&s=HTTP\n"
                     f"Reply: sparky: ack {short} or sparky: snooze {short} for 1h")
    assert html == (
        "<p>🔴 <strong>Alice (laptop), bob, @carol: </strong>CRITICAL web-01 &lt;HTTP&gt; &amp; more</p>"
        '<p><em>nagios · firing · web-01/HTTP</em> · <a href="https://nagios.example/?h=web-01&amp;s=HTTP">open</a></p>'
        f"<p>Reply: <strong>sparky: ack {short}</strong> or <strong>sparky: snooze {short} for 1h</strong></p>")


def test_a_direct_message_hints_bare_commands_and_keeps_lines():
    message = chat.Message(room="xmpp:alice@chat.example", key="k", text="3 stale items:\n- acme/web#1",
                           buttons=(chat.Button("Approve", "a", "approve st-1"),))
    plain, html = compose(parts(message, [], room=False, nick="sparky"))
    assert plain == "3 stale items:\n- acme/web#1\nReply: approve st-1"
    assert html == "<p>3 stale items:<br/>- acme/web#1</p><p>Reply: <strong>approve st-1</strong></p>"


@pytest.mark.parametrize("body, command", [
    ("sparky: alerts", "alerts"), ("Sparky, ack 3f9a2c1 on it", "ack 3f9a2c1 on it"), ("@sparky:why x", "why x"),
    ("  sparky :  help ", "help"), ("sparkyx: alerts", None), ("ack 3f9a2c1", None), ("hey sparky: alerts", None),
])
def test_a_room_message_is_a_command_when_it_starts_with_the_nick(body, command):
    assert addressed(body, "sparky") == command


def test_the_xmpp_configuration_is_read_and_checked():
    config = Config.from_env({"XMPP_JID": "Sparky@Chat.Example", "XMPP_PASSWORD": "pw",
                              "XMPP_ROOMS": "ops@conference.chat.example, dev@conference.chat.example,",
                              "XMPP_SERVER": "10.0.0.5", "XMPP_PORT": "5223", "XMPP_TLS": "direct"})
    assert (config.xmpp_jid, config.xmpp_rooms, config.xmpp_server, config.xmpp_port, config.xmpp_tls,
            config.nick) == ("sparky@chat.example", ROOMS, "10.0.0.5", 5223, "direct", "sparky")
    assert Config.from_env({"XMPP_JID": "bot@x.example", "XMPP_NICK": "Sparky"}).nick == "Sparky"
    assert "XMPP_PASSWORD" in SECRET_VARS
    assert ("XMPP_PASSWORD", "(set)") in describe({"XMPP_PASSWORD": "hunter2"})
    for env, message in [
        ({"XMPP_JID": "sparky"}, "XMPP_JID must be a bare JID like sparky@chat.example, got 'sparky'"),
        ({"XMPP_JID": "sparky@chat.example/bot"}, "XMPP_JID must be a bare JID"),
        ({"XMPP_ROOMS": "ops"}, "XMPP_ROOMS must be comma-separated room JIDs like ops@conference.chat.example"),
        ({"XMPP_TLS": "yes"}, "XMPP_TLS must be one of starttls, direct, off, got 'yes'"),
        ({"XMPP_PORT": "x"}, "XMPP_PORT must be an integer"),
    ]:
        with pytest.raises(ConfigError, match=message):
            Config.from_env(env)


def test_sparky_up_starts_the_xmpp_connection_only_when_xmpp_is_configured():
    assert "xmpp" not in processes(Config(), 8080, 2)
    assert processes(XMPP, 8080, 2)["xmpp"][-3:] == ["-m", "router.cli.main", "xmpp"]


POLICY = permissions.policy({"people": {"alice": {"xmpp": "Alice@Chat.Example", "slack": "U01ALICE"},
                                        "bob": {"slack": "U01BOB", "email": "bob@chat.example"}},
                             "permissions": [{"command": "*", "allow": ["*"]}]})


@pytest.mark.parametrize("user, via, known_as", [
    ("alice@chat.example", "xmpp", "alice"),
    ("ALICE@chat.example", "xmpp", "alice"),
    ("alice", "xmpp", None),                 # a nick or name proves nothing on XMPP
    ("bob@chat.example", "xmpp", None),      # bob's e-mail is not his JID
    ("U01ALICE", "xmpp", None),
    ("alice@chat.example", "slack", None),
    ("alice@chat.example", "", "alice"),     # the CLI and the built-in rooms take any of the ids
    ("bob@chat.example", "", "bob"),
])
def test_an_xmpp_caller_is_known_by_their_people_yml_jid_only(user, via, known_as):
    who = permissions.identify(POLICY, user, via=via)
    assert (who.name if who.known else None) == known_as


def test_people_yml_takes_a_bare_jid():
    PeopleFileSchema().load({"people": {"alice": {"xmpp": "alice@chat.example"}}})
    with pytest.raises(ValidationError, match="a bare JID like alice@chat.example"):
        PeopleFileSchema().load({"people": {"alice": {"xmpp": "alice@chat.example/phone"}}})


def test_mentions_on_xmpp_are_people_with_their_jids_groups_expanded_once():
    book = people.People(people={"alice": {"xmpp": "Alice@Chat.Example", "github": "alice-gh"},
                                 "bob": {"slack": "U01BOB"}},
                         groups={"oncall": ["alice", "bob"]})
    assert people.xmpp_mentions("@oncall @alice-gh stranger", book) == [
        ("alice", "alice@chat.example"), ("bob", ""), ("stranger", "")]


@pytest.mark.parametrize("config, entry, expected", [
    (XMPP, {"xmpp": "alice@chat.example"}, "xmpp:alice@chat.example"),
    (XMPP.with_(slack_bot_token="x"), {"xmpp": "alice@chat.example", "slack": "U1"}, "U1"),
    (XMPP.with_(slack_bot_token="x"), {"xmpp": "alice@chat.example"}, "xmpp:alice@chat.example"),
    (XMPP, {"slack": "U1"}, ""),
    (Config(), {"xmpp": "alice@chat.example"}, "@alice"),
])
def test_a_nag_goes_to_a_person_on_the_platform_that_knows_them(config, entry, expected):
    assert destination("alice", entry, "", config) == expected


def test_a_command_from_an_xmpp_room_says_where_it_was(redis):
    where = Context(conn=redis, config=XMPP, signal={"labels": {"room": "xmpp:ops@conference.chat.example",
                                                              "room_name": "xmpp:ops@conference.chat.example"}},
                    who=permissions.Person("alice", True), policy=POLICY, data={}, rules_version="", now=0).where()
    assert where == "xmpp:ops@conference.chat.example"


def test_the_reconnect_backoff_is_capped_and_jittered():
    """Guards the slixmpp internals the backoff sets (setup.cfg pins the minor version)."""
    loop = asyncio.new_event_loop()

    async def nothing(*_):
        pass
    try:
        bot = loop.run_until_complete(_bot(loop, nothing))
        bot._current_connection_attempt = loop.create_future()   # as during connect()
        bot._connect_loop = nothing                              # the next attempt: nothing to connect to
        waits = []
        for _ in range(9):
            bot.reschedule_connection_attempt()
            waits.append(bot._connect_loop_wait)
        loop.run_until_complete(asyncio.sleep(0))
        expected = [1, 2, 4, 8, 16, 32, 60, 60, 60]
        assert all(0.8 * e <= w <= 1.2 * e for w, e in zip(waits, expected)), waits
        assert len(set(waits)) == len(waits)     # jittered: many holders do not come back in step
    finally:
        loop.close()


async def _bot(loop, on_command) -> Bot:
    return Bot(XMPP.with_(xmpp_password="pw"), on_command, loop)


# -- the workers' side of the hand-over ------------------------------------------------------------

class Holder:
    """The holder's side on a thread: takes posts and answers them as told (as `sparky xmpp` does)."""

    def __init__(self, redis, answer, claim: bool = True):
        self.redis, self.answer, self.posts = redis, answer, []
        if claim:
            assert holder.claim(redis, holder.me())
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        post = outbox.take(self.redis, 5)
        if post is not None:
            self.posts.append(post)
            self.answer(self.redis, post)


@pytest.fixture
def stand_in(redis):
    """Holder(answer) per test; each one's thread is done before the test's Redis goes."""
    made: list[Holder] = []

    def make(answer, claim: bool = True) -> Holder:
        made.append(Holder(redis, answer, claim))
        return made[-1]

    yield make
    for one in made:
        one.thread.join(10)


def test_without_sparky_xmpp_a_post_is_retried_and_nothing_is_left_marked(redis):
    with pytest.raises(Retryable, match="no `sparky xmpp` process holds the connection"):
        chat.send(redis, XMPP, chat.Message(room="xmpp:ops", key="k1", text="hi"))
    assert not redis.exists(brain.key_delivery("k1"))
    assert not redis.exists(brain.key_xmpp_outbox())


def test_a_confirmed_post_is_sent_once_and_a_rerun_is_a_duplicate(redis, stand_in):
    first = stand_in(lambda conn, post: outbox.mark_sent(conn, post, "room-id-1"))
    message = chat.Message(room="xmpp:ops", key="k2", text="disk full", anchor="web-01/HTTP")
    assert chat.send(redis, XMPP, message).describe() == "posted to xmpp:ops (XMPP, room-id-1)"
    post, = first.posts
    assert (post["to"], post["groupchat"], post["verify"], post["parts"]["text"]) == (
        "ops@conference.chat.example", True, False, "disk full")
    assert chat.threads_of(redis, "web-01/HTTP") == {"xmpp:ops": "room-id-1"}
    assert chat.send(redis, XMPP, message).describe() == "already posted to xmpp:ops (XMPP, room-id-1)"
    assert redis.llen(brain.key_xmpp_outbox()) == 0


def test_no_receipt_leaves_the_post_uncertain_and_the_retry_asks_for_the_archive(redis, stand_in):
    first = stand_in(lambda conn, post: None)      # takes it, never answers
    message = chat.Message(room="xmpp:alice@chat.example", key="k3", text="your PR")
    with pytest.raises(outbox.Uncertain, match="did not confirm the post within 0.3s"):
        chat.send(redis, XMPP.with_(xmpp_timeout=0.3), message)
    assert json.loads(redis.get(brain.key_delivery("k3")))["state"] == "sending"
    first.thread.join(5)
    retry = stand_in(lambda conn, post: outbox.mark_sent(conn, post, "found", duplicate=True), claim=False)
    assert chat.send(redis, XMPP, message).duplicate
    assert [p["verify"] for p in retry.posts] == [True]


@pytest.mark.parametrize("condition, outcome", [
    ("forbidden", Permanent), ("item-not-found", Permanent), ("not-acceptable", Retryable),
    ("resource-constraint", Later), ("undefined-condition", Permanent)])
def test_a_refusal_by_the_server_is_classified_and_unmarks_the_post(redis, stand_in, condition, outcome):
    stand_in(lambda conn, post: outbox.answer(conn, post, "failed", condition=condition, reason="no"))
    with pytest.raises(outcome, match=f"XMPP xmpp:ops: {condition} \\(no\\)"):
        chat.send(redis, XMPP, chat.Message(room="xmpp:ops", key="k4", text="hi"))
    assert not redis.exists(brain.key_delivery("k4"))


def test_a_refused_notify_is_dead_lettered_by_the_job(redis, stand_in, run_jobs, monkeypatch, redis_url, tmp_path):
    for name, value in {"XMPP_JID": "sparky@chat.example", "XMPP_ROOMS": ",".join(ROOMS),
                        "SPARKY_XMPP_RATE": "0", "SPARKY_REDIS_URL": redis_url,
                        "SPARKY_RULES_DIR": str(tmp_path)}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    stand_in(lambda conn, post: outbox.answer(conn, post, "failed", condition="forbidden"))
    signal, = store(redis, alert())
    runner.enqueue_actions(redis, [(signal["id"], "routing", "ops", 0, "notify", {"room": "xmpp:ops"})])
    run_jobs()
    outcome, = runner.outcomes(redis, signal["id"])
    assert (outcome["state"], outcome["outcome"]) == ("failed", "failed: XMPP xmpp:ops: forbidden")
    letter, = brain.dead_letters(redis)
    assert (letter["endpoint"], letter["reason"]) == ("action:notify", "XMPP xmpp:ops: forbidden")


def test_xmpp_posts_keep_to_their_rooms_pace(redis, stand_in):
    stand_in(lambda conn, post: outbox.mark_sent(conn, post, "id-1"))
    paced = XMPP.with_(xmpp_rate=1)
    chat.send(redis, paced, chat.Message(room="xmpp:ops", key="p1", text="one"))
    with pytest.raises(Later, match=r"xmpp:ops paced at 1/s \(SPARKY_XMPP_RATE\)"):
        chat.send(redis, paced, chat.Message(room="xmpp:ops", key="p2", text="two"))
    assert redis.llen(brain.key_xmpp_outbox()) == 0


def test_a_builtin_room_is_the_built_in_room_even_with_slack_on(redis, fake_slack, slack_env):
    signal = alert().to_dict()
    sent = chat.send(redis, slack_env, chat.Message(room="builtin:#ops", key="b1", text="hi",
                                                    anchor=signal["fingerprint"]))
    assert sent.describe().startswith("posted to builtin:#ops (built-in room, ")
    assert [m["text"] for m in chat.rooms.messages(redis, "#ops")] == ["hi"]
    assert chat.thread_of(redis, signal["fingerprint"], "builtin:#ops") == sent.ts
    assert fake_slack.post_calls() == []
