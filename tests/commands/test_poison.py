"""A chat command whose job keeps failing is retried a bounded number of times, then dead-lettered;
the person is told it could not be answered (never a traceback), and nothing runs it again.

Real HTTP (or reception, for a signal only an older reception would have stored), a real RQ worker,
RQ's own scheduler moving the retries under a pinned clock (tests/actions/conftest.Clock).
"""
from __future__ import annotations

import json
import time

import pytest

from router.chat import rooms
from router.commands import jobs
from router.core import brain
from router.core.signal import Signal
from router.jobs import policy
from router.pipeline import reception
from tests.actions.conftest import Clock, scheduled
from tests.commands.conftest import signed, slash_form

FORM = "application/x-www-form-urlencoded"


@pytest.fixture
def clock(redis, run_jobs):
    return Clock(redis, run_jobs)


def retry_until_done(redis, clock) -> int:
    """Run every retry RQ schedules, each when it is due; returns how many rounds it took."""
    rounds = 0
    while due := scheduled(redis):
        clock.run_at(max(due.values()))
        rounds += 1
        assert rounds < 10, "retries never end"
    return rounds


def metric(client, name: str) -> list[str]:
    return [line for line in client.get("/metrics").get_data(as_text=True).splitlines() if line.startswith(name)]


def test_a_reply_that_can_never_be_delivered_is_dead_lettered_after_the_retries(client, redis, config, run_jobs,
                                                                                clock):
    """A Slack mention stored the way reception stored it before it refused lone surrogates: its
    room id cannot be written to Redis, so every delivery of the reply raises."""
    labels = {"room": "C04\ud800", "user": "U01ALICE", "channel": "mention"}
    signal = Signal(source="chat", kind="command", status="received", subject="U01ALICE: help", text="help",
                    labels=labels, actor="U01ALICE", fingerprint="C04/U01ALICE")
    sid, = reception.accept(redis, config, "slack", [signal]).ids

    run_jobs()
    retry_until_done(redis, clock)

    letter, = brain.dead_letters(redis)
    assert (letter["endpoint"], letter["signal"], letter["source"]) == ("command", sid, "chat")
    assert letter["attempts"] == 1 + len(policy.COMMAND.retry)               # bounded: 1 + 3 retries, not forever
    assert letter["error"].startswith("UnicodeEncodeError:") and "Traceback" not in letter["reason"]
    assert json.loads(redis.get(brain.key_command(sid)))["state"] == "failed"
    assert metric(client, "sparky_signals_dead_lettered_total") == \
        ['sparky_signals_dead_lettered_total{source="chat",stage="command"} 1.0']
    # a re-run of the job (a recovered worker) does not try again
    assert jobs.run_with(redis, config, sid) == f"already given up: dead letter {letter['id']}"


def test_a_response_url_that_keeps_failing_ends_in_an_apology_in_the_room(client, redis, run_jobs, clock,
                                                                         response_url, slack_clock, env):
    response_url.status = 500                                     # Slack's side is down for this reply
    slack_clock.now = time.time()
    body = slash_form("help", response_url=response_url.url)
    assert client.post("/slack/commands", data=body, headers=signed(body, FORM, slack_clock.now)).status_code == 200
    run_jobs()
    retry_until_done(redis, clock)

    assert len(response_url.bodies) == 1 + len(policy.COMMAND.retry)         # tried, and retried a bounded number of times
    letter, = brain.dead_letters(redis)
    assert letter["endpoint"] == "command" and letter["error"] == "router.core.outcomes.Retryable: response_url answered 500"
    apology, = rooms.messages(redis, "C04OPS")
    assert apology["text"] == f"Sorry, your command could not be answered (dead letter {letter['id']}, logged)."
