"""`oncall swap <date> with <person>`: a request the other person accepts with `approve sw-…`,
after which two overrides swap the turns; permissions.yml and the audit trail on each step.
Clock pinned: Wednesday 14 October 2026 in Berlin, alice's week on ops/primary (alice and bob
take weekly turns from Monday 09:00); the week of the autumn clock change comes after."""
from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
import time_machine

from router.commands.channels import chat_signal
from router.commands.execute import execute
from router.core import brain
from router.oncall import rota
from router.oncall.schedule import who

BERLIN = ZoneInfo("Europe/Berlin")
NOW = dt.datetime(2026, 10, 14, 12, 0, tzinfo=BERLIN)


def at(text: str) -> float:
    return dt.datetime.fromisoformat(text).replace(tzinfo=BERLIN).timestamp()


def run(redis, config, text: str, who: str = "alice"):
    with time_machine.travel(NOW, tick=False):
        return execute(redis, config, chat_signal("room", text, "#ops", who).to_dict())


def on_call(redis, config, moment: str) -> str:
    from router.engine import store
    data = store.current(redis, config.rules_dir, poll=0).data
    return who(rota.with_chat_overrides(redis, rota.schedules(data)["ops"]), "primary", at(moment))


def _ask(redis, config, text="oncall swap 2026-10-26 with bob because family visit", who="alice"):
    reply = run(redis, config, text, who)
    assert reply.outcome == "ok", reply.text
    request = re.search(r"`approve (sw-[a-z0-9]+)`", reply.text).group(1)
    return reply, request


def test_a_swap_asked_and_accepted_becomes_two_overrides(redis, config):
    reply, request = _ask(redis, config)
    assert reply.text.startswith("alice asks @bob to swap on ops/primary: bob takes alice's turn "
                                 "2026-10-26 09:00 CET to 2026-11-02 09:00 CET, alice takes bob's turn "
                                 "2026-11-02 09:00 CET to 2026-11-09 09:00 CET (family visit). @bob: "
                                 f"`approve {request}` to accept"), reply.text
    assert on_call(redis, config, "2026-10-27 12:00") == "alice"          # nothing changes until bob says yes
    assert brain.overrides(redis, "ops") == []
    assert f"`{request}` swap on ops/primary asked by alice" in run(redis, config, "approve", "bob").text

    assert run(redis, config, f"approve {request}", "carol").outcome != "ok"     # only bob may accept
    assert run(redis, config, f"approve {request}", "alice").outcome != "ok"     # ... not the asker
    accepted = run(redis, config, f"approve {request}", "bob")
    assert accepted.outcome == "ok" and accepted.text.startswith(f"bob accepted `{request}`: bob takes alice's turn")
    assert on_call(redis, config, "2026-10-26 08:59") == "bob"           # bob's own week, as before
    assert on_call(redis, config, "2026-10-26 09:00") == "bob"           # alice's turn, now bob's
    assert on_call(redis, config, "2026-11-02 09:00") == "alice"         # bob's turn, now alice's
    assert on_call(redis, config, "2026-11-09 09:00") == "alice"         # the rotation resumes
    assert on_call(redis, config, "2026-11-16 09:00") == "bob"
    overrides = sorted(brain.overrides(redis, "ops"), key=lambda o: o["start"])
    assert [(o["who"], o["by"], o["reason"]) for o in overrides] == [
        ("bob", "bob", f"swap {request}: family visit"), ("alice", "bob", f"swap {request}: family visit")]
    assert "already approved" in run(redis, config, f"approve {request}", "bob").text
    events = [(e["event"], e["who"]) for e in brain.audit_entries(redis, 50)[0] if e["event"].startswith("oncall.")]
    assert events == [("oncall.swap.approved", "bob"), ("oncall.swap.asked", "alice")]


def test_declined_or_withdrawn_swaps_change_nothing(redis, config):
    _, request = _ask(redis, config)
    assert run(redis, config, f"deny {request} sorry, away", "bob").text == f"bob declined `{request}`: sorry, away."
    assert "already denied" in run(redis, config, f"approve {request}", "bob").text
    _, again = _ask(redis, config)
    assert run(redis, config, f"deny {again}", "alice").text == f"alice withdrew `{again}`."
    assert brain.overrides(redis, "ops") == []
    assert on_call(redis, config, "2026-10-27 12:00") == "alice"


@pytest.mark.parametrize("text, who_, answer", [
    ("oncall swap 2026-10-19 with bob", "alice", "alice is not on call for ops/primary on 2026-10-19 (bob is)"),
    ("oncall swap 2026-10-26 with carol", "alice", "carol is not in the ops/primary rotation"),
    ("oncall swap 2026-10-26 with zed", "alice", '"zed" is not in people.yml'),
    ("oncall swap someday with bob", "alice", '"someday" is not a day'),
    ("oncall swap 2026-10-26 bob", "alice", "Say which day and with whom"),
    ("oncall swap 2026-10-26 with alice", "alice", "Swap with someone else"),
    ("oncall swap 2026-10-05 with bob", "alice", "That turn is over"),
    ("oncall swap 2026-10-26 with bob on ops/tertiary", "alice", 'schedule "ops" has no layer "tertiary"'),
])
def test_swap_mistakes(redis, config, text, who_, answer):
    reply = run(redis, config, text, who_)
    assert reply.outcome != "ok" and answer in reply.text, reply.text
    assert brain.oncall_swaps(redis) == []


def test_a_weekday_is_the_next_one_in_the_schedule_zone(redis, config):
    # ops/secondary: carol and dave; "monday" from Wednesday 14th is the 19th, dave's week
    reply, _ = _ask(redis, config, "oncall swap monday with carol on ops/secondary", "dave")
    # (dave has no people.yml tz: times in UTC — 09:00 Berlin is 07:00 UTC in summer, 08:00 in winter)
    assert "carol takes dave's turn Mon 07:00 UTC to 2026-10-26 08:00 UTC, dave takes carol's turn " \
           "2026-10-26 08:00 UTC to 2026-11-02 08:00 UTC" in reply.text, reply.text
