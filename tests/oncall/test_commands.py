"""`oncall` and `oncall override` in a built-in room: layers, schedules, usage mistakes, refusals."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from router.commands.channels import chat_signal
from router.commands.execute import execute
from router.core import brain

MONDAY = dt.datetime(2026, 10, 26, 8, 0, tzinfo=ZoneInfo("Europe/Berlin"))   # the day after the autumn change


def run(redis, config, text: str, who: str = "alice"):
    with time_machine.travel(MONDAY, tick=False):
        return execute(redis, config, chat_signal("room", text, "#ops", who).to_dict())


def test_override_a_layer_of_another_schedule_until_a_time(redis, config):
    reply = run(redis, config, "oncall override dave on ops/secondary until 18:00 because training")
    assert reply.outcome == "ok", reply.text
    assert reply.text == "dave is on call for ops/secondary until 18:00 CET (10h) (training)."
    (override,) = brain.overrides(redis, "ops")
    assert (override["layer"], override["who"], override["by"]) == ("secondary", "dave", "alice")
    assert run(redis, config, "oncall ops").text.splitlines()[2] == "  secondary: dave (override) until 18:00 CET, then carol"


def test_oncall_lists_every_schedule(redis, config):
    lines = run(redis, config, "oncall", who="bob").text.splitlines()
    # bob has no time zone in people.yml: UTC; db has one member, so nobody is next
    assert lines == ["*ops*", "  primary: bob until 08:00 UTC, then alice",
                     "  secondary: dave until 08:00 UTC, then carol", "*db*", "  primary: carol"]


@pytest.mark.parametrize("text, message", [
    ("oncall override bob", "For how long?"),
    ("oncall override bob carol for 1h", "Name one person"),
    ("oncall override bob on nope for 1h", '"nope" is neither a schedule nor a layer of "ops"'),
    ("oncall override bob for soon", '"soon" is not a duration'),
    ("oncall nope", 'No schedule "nope" (known: ops, db).'),
])
def test_usage_mistakes(redis, config, text, message):
    reply = run(redis, config, text)
    assert reply.outcome == "usage" and message in reply.text, reply.text


def test_only_people_can_be_on_call_and_only_some_may_override(redis, config):
    assert run(redis, config, "oncall override leads for 1h").text == \
        'Refused: "leads" is not in people.yml: only a person there can be on call.'
    refused = run(redis, config, "oncall override carol for 1h", who="carol")
    assert refused.outcome == "refused" and "is for oncall" in refused.text
    assert brain.overrides(redis, "ops") == []
