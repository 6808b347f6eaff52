"""XMPP end to end against a real Prosody: `sparky xmpp` in this process, real RQ jobs, and people
on a second slixmpp client — an alert posted to a room, `ack` from the room, direct messages both
ways, a stranger refused, and the server restarted and crashed mid-stream with nothing lost or
posted twice."""
from __future__ import annotations

import json
import threading
import time

import pytest

from router.alerts import state as alerts
from router.chat import send as chat
from router.core import brain
from router.jobs import runner
from tests.actions.conftest import alert, store
from tests.chat.xmpp.conftest import Running
from tests.chat.xmpp.prosody import ProsodyServer
from tests.conftest import payload

pytestmark = pytest.mark.slow

NAGIOS = "nagios/slack_nagios_pl.service_problem.form"


def from_sparky(item) -> bool:
    return item.kind == "groupchat" and item["nick"] == "sparky"


def until(check, run_jobs, timeout: float = 15.0):
    """Run the queues until `check()` holds: `sparky xmpp` takes commands in on its own thread."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run_jobs()
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"not within {timeout}s")


def test_an_alert_goes_to_the_room_with_xhtml_and_reply_hints(client, redis, run_jobs, sparky_xmpp, people, room):
    alice = people("alice")
    mark = alice.sink.mark()
    body, headers = payload(NAGIOS)
    answer = client.post("/hooks/nagios", data=body, headers=headers)
    assert answer.status_code == 202
    run_jobs()

    posted = alice.wait(from_sparky, since=mark)
    short = brain.alert_id("web-01/HTTP")
    assert posted["body"] == (
        "🔴 alice, bob: CRITICAL web-01/HTTP: CRITICAL - Socket timeout after 10 seconds\n"
        "nagios · firing · web-01/HTTP\n"
        f"Reply: sparky: ack {short} or sparky: snooze {short} for 1h")
    assert "<strong>alice, bob: </strong>CRITICAL web-01/HTTP" in posted["html"]
    assert f"<strong>sparky: ack {short}</strong>" in posted["html"]
    outcome, = [o for o in runner.outcomes(redis, answer.json["signals"][0]) if o["action"] == "notify"]
    assert outcome["state"] == "done"
    assert outcome["outcome"] == f"posted to xmpp:{room.partition('@')[0]} (XMPP, {posted['stanza_id']})"


def fire(client, run_jobs) -> str:
    """The Nagios alert through the hook and the rules; its signal id."""
    body, headers = payload(NAGIOS)
    answer = client.post("/hooks/nagios", data=body, headers=headers)
    assert answer.status_code == 202
    run_jobs()
    return answer.json["signals"][0]


def audits(redis, **match) -> list[dict]:
    entries, _ = brain.audit_entries(redis, 50, "+", match)
    return entries


def test_ack_from_the_room_goes_through_the_one_command_path(client, redis, run_jobs, sparky_xmpp, people, room):
    alice = people("alice")
    fire(client, run_jobs)
    short = brain.alert_id("web-01/HTTP")

    mark = alice.say(room, f"Sparky: ack {short} looking into it", groupchat=True)
    reply = until(lambda: alice.sink.find(lambda i: from_sparky(i) and "acked" in i["body"], since=mark), run_jobs)
    assert reply[0]["body"].startswith(f"alice acked `{short}` web-01/HTTP: looking into it.")
    state = alerts.state(redis, "web-01/HTTP")
    assert (state["acked_by"], state["ack_reason"]) == ("alice", "looking into it")
    entry, = audits(redis, event="command", channel="xmpp")
    assert (entry["who"], entry["user"], entry["command"], entry["outcome"]) == (
        "alice", "alice@localhost", "ack", "ok")
    assert entry["room"] == f"xmpp:{room}"
    # what was not addressed to Sparky, and Sparky's own words, are not commands
    alice.say(room, f"ack {short}", groupchat=True)
    time.sleep(0.3)
    run_jobs()
    assert len(audits(redis, event="command")) == 1


def test_a_direct_message_is_a_command_and_answered_directly(client, redis, run_jobs, sparky_xmpp, people, prosody):
    bob = people("bob", rooms=[])
    fire(client, run_jobs)
    mark = bob.say(prosody.jid("sparky"), "alerts")
    reply = until(lambda: bob.sink.find(lambda i: i.kind == "chat" and i["bare"] == prosody.jid("sparky"),
                                        since=mark), run_jobs)
    assert "web-01/HTTP" in reply[0]["body"]
    entry, = audits(redis, event="command", channel="xmpp")
    # people.yml writes Bob@Localhost: JIDs compare without case
    assert (entry["who"], entry["command"], entry["outcome"]) == ("bob", "alerts", "ok")


def test_a_command_from_an_unknown_jid_is_refused(client, redis, run_jobs, sparky_xmpp, people, room, prosody):
    mallory = people("mallory")
    fire(client, run_jobs)
    short = brain.alert_id("web-01/HTTP")

    mark = mallory.say(prosody.jid("sparky"), f"ack {short}")
    said = until(lambda: mallory.sink.find(lambda i: i.kind == "chat", since=mark), run_jobs)
    assert said[0]["body"] == ("Refused: I don't know you (mallory@localhost): "
                               "ask an admin to add you to people.yml.")
    mark = mallory.say(room, f"sparky: ack {short}", groupchat=True)
    said = until(lambda: mallory.sink.find(lambda i: from_sparky(i) and "Refused" in i["body"], since=mark),
                 run_jobs)
    assert "mallory@localhost" in said[0]["body"]
    assert not alerts.state(redis, "web-01/HTTP").get("acked_by")
    assert [e["outcome"] for e in audits(redis, event="command", channel="xmpp")] == ["refused", "refused"]


def test_a_message_to_a_person_is_a_direct_message_in_both_forms(redis, run_jobs, sparky_xmpp, people, prosody):
    alice = people("alice", rooms=[])
    signal, = store(redis, alert("db-02/Disk", summary="WARNING db-02 disk 91% <full> & growing",
                                 severity="warning", url="https://nagios.example/db-02"))
    mark = alice.sink.mark()
    runner.enqueue_actions(redis, [(signal["id"], "routing", "dm", 0, "notify", {"room": "xmpp:alice@localhost"})])
    run_jobs()
    got = alice.wait(lambda i: i.kind == "chat", since=mark)
    short = brain.alert_id("db-02/Disk")
    assert got["body"] == ("🟠 WARNING db-02 disk 91% <full> & growing\n"
                           "nagios · firing · db-02/Disk · https://nagios.example/db-02\n"
                           f"Reply: ack {short} or snooze {short} for 1h")
    assert "WARNING db-02 disk 91% &lt;full&gt; &amp; growing" in got["html"]
    assert '<a href="https://nagios.example/db-02">open</a>' in got["html"]
    outcome, = runner.outcomes(redis, signal["id"])
    assert outcome["outcome"].startswith("posted to xmpp:alice@localhost (XMPP, ")


def test_a_post_the_server_refuses_is_dead_lettered(redis, run_jobs, sparky_xmpp, prosody):
    signal, = store(redis, alert())
    runner.enqueue_actions(redis, [(signal["id"], "routing", "dm", 0, "notify",
                                    {"room": "xmpp:nobody@localhost"})])
    run_jobs()
    outcome, = runner.outcomes(redis, signal["id"])
    assert outcome["state"] == "failed"
    assert outcome["outcome"] == "failed: XMPP xmpp:nobody@localhost: service-unavailable"
    letter, = brain.dead_letters(redis)
    assert letter["endpoint"] == "action:notify"
    assert not redis.exists(brain.key_delivery(f"{signal['id']}/routing/dm/0"))


def origin_ids(person, room) -> list[str]:
    return person.call(person.client.origin_ids, room)


def key_id(key: str) -> str:
    return "sparky-" + brain.digest(key, 32)


def test_a_restart_and_a_crash_mid_stream_lose_nothing_and_double_nothing(redis, run_jobs, sparky_xmpp, people,
                                                                           room, prosody):
    alice = people("alice")
    signals = store(redis, *[alert(f"web-{n:02d}/HTTP") for n in range(9)])
    name = f"xmpp:{room.partition('@')[0]}"

    def queue(numbers) -> None:
        runner.enqueue_actions(redis, [(signals[n]["id"], "routing", "ops", 0, "notify", {"room": name})
                                       for n in numbers])

    def meanwhile(work) -> threading.Thread:
        """The server's trouble on a thread while the jobs run here (RQ's worker wants the main
        thread); each job waits for its receipt meanwhile."""
        trouble = threading.Thread(target=work)
        trouble.start()
        return trouble

    queue(range(0, 3))
    run_jobs()
    prosody.kill()                       # a crash: no stream close, the connection just dies
    queue(range(3, 6))
    trouble = meanwhile(lambda: (time.sleep(1.0), prosody.start()))
    run_jobs()
    trouble.join(30)
    queue(range(6, 9))
    mark = alice.sink.mark()
    trouble = meanwhile(prosody.restart)   # SIGTERM: Prosody closes the streams, ~1 s down
    time.sleep(0.1)
    run_jobs()
    trouble.join(30)
    alice.wait(lambda i: i.kind == "ready", since=mark)   # back in the room, with its history

    keys = [f"{s['id']}/routing/ops/0" for s in signals]
    assert [o["state"] for s in signals for o in runner.outcomes(redis, s["id"])] == ["done"] * 9
    archived = origin_ids(alice, room)
    assert sorted(archived) == sorted(key_id(k) for k in keys)       # each once in the room's archive
    # alice (back in the room, with the history since she dropped out) has each message, once
    seen: dict[str, set[str]] = {}
    for item in alice.sink.find(from_sparky):
        seen.setdefault(item["body"].split("\n")[0], set()).add(item["stanza_id"])
    assert len(seen) == 9 and all(len(ids) == 1 for ids in seen.values()), seen


def test_an_unconfirmed_post_is_looked_up_in_the_archive_before_it_is_posted_again(redis, sparky_xmpp, people, room,
                                                                                    xmpp_env):
    alice = people("alice")
    posted = chat.Message(room=f"xmpp:{room}", key="k-posted", text="disk full on db-01")
    first = chat.send(redis, xmpp_env, posted)
    # as if `sparky xmpp` died between posting and writing the marker: the worker's "sending" is left
    sending = json.dumps({"state": "sending", "room": posted.room, "at": time.time(), "transport": "xmpp"})
    redis.set(brain.key_delivery("k-posted"), sending)
    again = chat.send(redis, xmpp_env, posted)
    assert again.duplicate and again.ts == first.ts and not first.duplicate
    # and as if it died before posting: not in the archive, so posted now
    lost = chat.Message(room=f"xmpp:{room}", key="k-lost", text="disk full on db-02")
    redis.set(brain.key_delivery("k-lost"), sending)
    assert not chat.send(redis, xmpp_env, lost).duplicate
    assert sorted(origin_ids(alice, room)) == sorted([key_id("k-posted"), key_id("k-lost")])
    assert [i["body"] for i in alice.sink.find(from_sparky)] == ["disk full on db-01", "disk full on db-02"]


def test_a_direct_message_unconfirmed_is_looked_up_in_the_accounts_archive(redis, sparky_xmpp, people, xmpp_env):
    bob = people("bob", rooms=[])
    message = chat.Message(room="xmpp:bob@localhost", key="k-dm", text="your PR is stale")
    chat.send(redis, xmpp_env, message)
    redis.set(brain.key_delivery("k-dm"), json.dumps({"state": "sending", "room": message.room, "at": 0}))
    assert chat.send(redis, xmpp_env, message).duplicate
    time.sleep(0.3)
    assert [i["body"] for i in bob.sink.find(lambda i: i.kind == "chat")] == ["your PR is stale"]


def test_a_worker_that_stopped_waiting_retries_and_the_message_goes_out_once(redis, sparky_xmpp, people, room,
                                                                             xmpp_env, prosody):
    alice = people("alice")
    message = chat.Message(room=f"xmpp:{room}", key="k-down", text="posted across an outage")
    prosody.kill()
    with pytest.raises(Exception) as waited:
        chat.send(redis, xmpp_env.with_(xmpp_timeout=0.5), message)
    assert type(waited.value).__name__ == "Uncertain"
    assert json.loads(redis.get(brain.key_delivery("k-down")))["state"] == "sending"
    prosody.start()
    sparky_xmpp.wait_ready()
    assert not chat.send(redis, xmpp_env, message).duplicate      # the retry: verified, then posted
    assert chat.send(redis, xmpp_env, message).duplicate          # and a third run finds it sent
    assert origin_ids(alice, room).count(key_id("k-down")) == 1


def test_xmpp_tls_off_connects_to_a_plaintext_server(redis, xmpp_env, prosody_server):
    with ProsodyServer(accounts={"sparky": "sparky-pw"}, tls=False) as plain:
        host, port = plain.address
        running = Running(xmpp_env.with_(xmpp_tls="off", xmpp_port=port, xmpp_ca_certs="",
                                         xmpp_rooms=(plain.room_jid("ops"),)), redis)
        try:
            running.wait_ready()
        finally:
            running.stop()
