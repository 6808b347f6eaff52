"""notify → Slack through slack_sdk against a fake Slack Web API on 127.0.0.1: the exact call,
threads for resolutions, at-most-once per action, 429 / 5xx handling, and no token anywhere."""
from __future__ import annotations

import json
import logging

from rq import Queue
from rq.registry import FailedJobRegistry

from router.core import brain
from router.jobs import runner
from router.jobs.context import Context
from router.jobs.queues import ACTIONS_QUEUE
from tests.actions.conftest import alert, nagios_signal, scheduled, store
from tests.fakeslack import TOKEN, Scripted

PROBLEM = "slack_nagios_pl.service_problem.form"
RECOVERY = "env_dump.nagios_prefix.service_recovery.form"


def enqueue(redis, signal: dict, params: dict, action: str = "notify", rule: str = "ops", index: int = 0):
    return runner.enqueue_actions(redis, [(signal["id"], "routing", rule, index, action, params)])


def test_nagios_problem_posts_exact_block_kit_message(redis, run_jobs, fake_slack, slack_env):
    signal, = store(redis, nagios_signal(PROBLEM))
    enqueue(redis, signal, {"room": "#ops", "mention": "@oncall"})
    assert run_jobs() == 1

    call, = fake_slack.post_calls()
    assert call["headers"]["Authorization"] == f"Bearer {TOKEN}"
    text = "<@U01ALICE> <@U01BOB> CRITICAL web-01/HTTP: CRITICAL - Socket timeout after 10 seconds"
    assert call["body"] == {
        "channel": "#ops",
        "text": text,
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": f":red_circle: {text}"}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": "nagios · firing · web-01/HTTP"}]},
            {"type": "actions", "block_id": "sparky_alert_actions", "elements": [
                {"type": "button", "action_id": "sparky_ack", "text": {"type": "plain_text", "text": "Ack"},
                 "value": "ack web-01/HTTP", "style": "primary"},
                {"type": "button", "action_id": "sparky_snooze_1h",
                 "text": {"type": "plain_text", "text": "Snooze 1h"}, "value": "snooze web-01/HTTP for 1h"},
            ]},
        ],
        "metadata": {"event_type": "sparky_delivery",
                     "event_payload": {"key": f"{signal['id']}/routing/ops/0", "signal": signal["id"]}},
    }
    outcome, = runner.outcomes(redis, signal["id"])
    assert (outcome["action"], outcome["state"]) == ("notify", "done")
    assert outcome["outcome"].startswith("posted to #ops (Slack, ")


def test_recovery_answers_in_the_firing_message_thread(redis, run_jobs, fake_slack, slack_env):
    problem, recovery = store(redis, nagios_signal(PROBLEM), nagios_signal(RECOVERY))
    enqueue(redis, problem, {"room": "#ops"})
    run_jobs()
    enqueue(redis, recovery, {"room": "#ops"})
    run_jobs()

    firing, resolved = fake_slack.post_calls()
    parent_ts = fake_slack.posts()[0]["ts"]
    assert "thread_ts" not in firing["body"]
    assert resolved["body"]["thread_ts"] == parent_ts
    assert resolved["body"]["text"].startswith("RECOVERY OK web-01/HTTP")
    assert resolved["body"]["blocks"][0]["text"]["text"].startswith(":white_check_mark: RECOVERY")
    assert len(resolved["body"]["blocks"]) == 2  # no Ack/Snooze buttons on a resolution


def test_the_same_action_run_twice_posts_once(redis, run_jobs, fake_slack, slack_env):
    signal, = store(redis, alert())
    enqueue(redis, signal, {"room": "#ops"})
    enqueue(redis, signal, {"room": "#ops"})           # a re-delivered job
    assert run_jobs() == 2
    ctx = Context(signal["id"], "routing", "ops", 0, "notify")
    assert runner.execute(redis, slack_env, ctx, {"room": "#ops"}).startswith("duplicate")
    assert len(fake_slack.post_calls()) == 1
    # another action of the same rule is another message
    enqueue(redis, signal, {"room": "#ops"}, index=1)
    run_jobs()
    assert len(fake_slack.post_calls()) == 2


def test_429_then_500_then_200_delivers_once_after_the_waits_asked(redis, run_jobs, clock, fake_slack,
                                                                   slack_env):
    fake_slack.answer(Scripted(429, {"Retry-After": "7"}, {"ok": False, "error": "ratelimited"}),
                      Scripted(500, {}, {"ok": False, "error": "internal_error"}))
    signal, = store(redis, alert())
    job_id, = enqueue(redis, signal, {"room": "#ops"})

    run_jobs()                                   # 429: comes back when Slack said
    first = fake_slack.post_calls()[0]["at"]
    (due_job, due), = scheduled(redis).items()
    assert due_job == job_id and 7 <= due - first <= 9
    assert clock.run_at(due - 1) == 0            # not before

    clock.run_at(due)                            # 500: RQ's Retry backoff, first interval 10s
    (_, retry_due), = scheduled(redis).items()
    assert 10 <= retry_due - due <= 11.5
    assert len(fake_slack.posts()) == 0

    clock.run_at(retry_due)                      # 200
    assert len(fake_slack.post_calls()) == 3
    assert len(fake_slack.posts()) == 1
    assert not scheduled(redis)
    assert runner.outcomes(redis, signal["id"])[0]["state"] == "done"
    assert brain.dead_letters(redis) == []


def test_after_the_last_retry_the_failure_is_a_dead_letter(redis, run_jobs, clock, fake_slack, slack_env):
    fake_slack.answer(*[Scripted(503, {}, {"ok": False, "error": "service_unavailable"})] * 4)
    signal, = store(redis, alert())
    job_id, = enqueue(redis, signal, {"room": "#ops"})
    run_jobs()
    for _ in range(3):
        (_, due), = scheduled(redis).items()
        clock.run_at(due, allow_failures=True)
    letter, = brain.dead_letters(redis)
    assert letter["endpoint"] == "action:notify"
    assert letter["status"] == 503
    assert letter["reason"] == "Slack chat.postMessage: HTTP 503 service_unavailable"
    assert letter["job"] == job_id and letter["attempts"] == 4
    assert json.loads(letter["body"])["params"] == {"room": "#ops"}
    assert runner.outcomes(redis, signal["id"])[0]["state"] == "failed"
    assert job_id in FailedJobRegistry(queue=Queue(ACTIONS_QUEUE, connection=redis)).get_job_ids()


def test_unknown_channel_is_not_retried(redis, run_jobs, fake_slack, slack_env):
    fake_slack.answer(Scripted(200, {}, {"ok": False, "error": "channel_not_found"}))
    signal, = store(redis, alert())
    enqueue(redis, signal, {"room": "#nowhere"})
    run_jobs()
    assert not scheduled(redis)
    letter, = brain.dead_letters(redis)
    assert letter["reason"] == "Slack chat.postMessage: HTTP 200 channel_not_found"


def test_token_never_in_dead_letters_exceptions_or_logs(redis, run_jobs, clock, fake_slack, slack_env,
                                                        caplog):
    # A Slack (or proxy) that echoes the credential back in its error.
    echo = {"ok": False, "error": f"invalid_auth: Bearer {TOKEN}", "token": TOKEN}
    fake_slack.answer(*[Scripted(502, {"X-Echo": TOKEN}, echo)] * 4)
    signal, = store(redis, alert())
    job_id, = enqueue(redis, signal, {"room": "#ops"})
    with caplog.at_level(logging.DEBUG):
        run_jobs()
        for _ in range(3):
            (_, due), = scheduled(redis).items()
            clock.run_at(due, allow_failures=True)
    letter, = brain.dead_letters(redis)
    job = Queue(ACTIONS_QUEUE, connection=redis).fetch_job(job_id)
    results = [r.exc_string or "" for r in job.results()]
    outcomes = json.dumps(runner.outcomes(redis, signal["id"]))
    everything = json.dumps(letter) + "".join(results) + caplog.text + outcomes
    assert "[redacted]" in letter["reason"]
    expected = "ActionFailed: Slack chat.postMessage: HTTP 502 invalid_auth: Bearer [redacted]"
    assert any(expected in r for r in results)
    assert TOKEN not in everything
    assert TOKEN[5:-5] not in everything


def test_no_answer_then_retry_finds_the_post_and_does_not_repeat_it(redis, run_jobs, clock, fake_slack,
                                                                    slack_env, monkeypatch):
    monkeypatch.setenv("SPARKY_SLACK_TIMEOUT", "1")
    fake_slack.answer(Scripted(delay=2.5))        # Slack posts it, but answers too late
    signal, = store(redis, alert())
    enqueue(redis, signal, {"room": "#ops"})
    run_jobs()
    assert len(fake_slack.posts()) == 1
    (_, due), = scheduled(redis).items()          # timed out: retried
    clock.run_at(due)
    assert len(fake_slack.posts()) == 1           # found in the channel by its metadata: not posted again
    methods = [c["method"] for c in fake_slack.calls]
    assert methods == ["chat.postMessage", "conversations.history"]
    assert runner.outcomes(redis, signal["id"])[0]["outcome"].startswith("already posted to #ops")


def test_posts_reuse_one_kept_alive_connection_and_keep_slack_sdk_errors(fake_slack, slack_env):
    from slack_sdk.errors import SlackApiError

    from router.chat import slack
    from router.core.outcomes import Later

    web = slack.client(slack_env)
    for n in range(3):
        assert web.chat_postMessage(channel="#ops", text=f"hello {n}")["ok"]
    peers = {c["peer"] for c in fake_slack.post_calls()}
    assert len(peers) == 1, f"a new connection per message: {peers}"
    assert fake_slack.post_calls()[0]["headers"]["Authorization"] == f"Bearer {TOKEN}"
    # A refusal still comes back as slack_sdk's error, and its headers as Sparky reads them.
    fake_slack.answer(Scripted(status=429, headers={"Retry-After": "7"}, body={"ok": False, "error": "ratelimited"}))
    try:
        web.chat_postMessage(channel="#ops", text="limited")
        raise AssertionError("a 429 did not raise")
    except SlackApiError as exc:
        failure = slack.failure_of("chat.postMessage", exc)
    assert isinstance(failure, Later) and "asked to wait 7s" in str(failure)
