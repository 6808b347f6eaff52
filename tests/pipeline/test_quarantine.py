"""One poisoned signal never stops evaluation: it is isolated from its batch, retried a bounded
number of times, then dead-lettered; the rest of its batch is decided and delivered.

The poisons are genuine: a signal stored the way reception stores one but with a lone surrogate in
its text (what reception took before it refused them: Redis cannot encode it, so folding it into
the alert state raises), and a stored signal whose JSON is corrupt. Through real HTTP, real Redis
and a real RQ worker; the messages are read from the built-in rooms.
"""
from __future__ import annotations

import json

import pytest
from redis.exceptions import ConnectionError, OutOfMemoryError, ResponseError

from router.chat import rooms
from router.core import brain
from router.core.signal import Signal
from router.pipeline import intake, quarantine, reception
from router.pipeline.quarantine import Busy
from tests.pipeline.test_reception import post_json


@pytest.fixture(autouse=True)
def built_in_rooms(monkeypatch):
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)   # jobs read Config.from_env(): post to rooms


def alert(i: int) -> dict:
    return {"source": "sparky", "kind": "alert", "status": "firing", "severity": "critical",
            "subject": f"web-{i:03d}/HTTP", "fingerprint": f"web-{i:03d}/HTTP", "summary": f"web-{i:03d} down",
            "labels": {"host": f"web-{i:03d}"}}


def burst(client, first: int, last: int, per_request: int = 10) -> list[str]:
    ids = []
    for start in range(first, last, per_request):
        answer = post_json(client, "/hooks/generic", [alert(i) for i in range(start, min(start + per_request, last))])
        assert answer.status_code == 202
        ids += answer.get_json()["signals"]
    return ids


def poisoned(config, redis) -> str:
    """An Alertmanager alert as reception stored it before it refused lone surrogates."""
    labels = {"alertname": "x\ud800y", "instance": "web-999"}
    signal = Signal(source="alertmanager", kind="alert", status="firing", severity="critical",
                    subject="x\ud800y web-999", fingerprint="f00dfeedf00dfeed", labels=labels,
                    summary="x\ud800y web-999")
    taken = reception.accept(redis, config, "alertmanager", [signal])
    return taken.ids[0]


def unmentioned(text: str) -> str:
    """The text without its `@oncall`: whoever the shipped rules/oncall.yml puts on call today."""
    mention, _, rest = text.partition(" ")
    assert mention in ("@alice", "@bob", "@carol"), text
    return rest


def metric(client, name: str) -> str:
    lines = client.get("/metrics").get_data(as_text=True).splitlines()
    return "\n".join(line for line in lines if line.startswith(name))


def test_one_poison_in_a_burst_of_500_is_dead_lettered_and_the_499_are_delivered(client, redis, config, run_jobs):
    before = burst(client, 0, 250)
    poison = poisoned(config, redis)
    after = burst(client, 250, 499)
    assert intake.pending(redis) == 500

    run_jobs()                                    # fails the test if any job failed

    good = before + after
    assert all(redis.exists(brain.key_decision(sid)) for sid in good)
    posted = rooms.messages(redis, "#ops", limit=1000)
    assert sorted(unmentioned(m["text"]) for m in posted) == sorted(f":red_circle: web-{i:03d} down" for i in range(499))
    letter, = brain.dead_letters(redis)
    assert (letter["endpoint"], letter["signal"], letter["source"]) == ("evaluation", poison, "alertmanager")
    assert letter["attempts"] == quarantine.MAX_ATTEMPTS
    assert letter["error"].startswith("UnicodeEncodeError: 'utf-8' codec can't encode character '\\ud800'")
    assert letter["reason"] == f"evaluation failed {quarantine.MAX_ATTEMPTS} times: {letter['error']}"
    assert letter["where"].startswith("router/alerts/state.py:")
    assert json.loads(letter["body"])["id"] == poison        # the stored signal, to look at or replay
    assert intake.pending(redis) == 0
    decision = client.get(f"/api/signals/{poison}/decision").get_json()
    assert decision["actions"] == [] and decision["failed"]["dead_letter"] == letter["id"]
    assert metric(client, "sparky_signals_dead_lettered_total") == \
        'sparky_signals_dead_lettered_total{source="alertmanager",stage="evaluation"} 1.0'
    assert metric(client, "sparky_dead_letters ") == "sparky_dead_letters 1.0"
    # nothing is stuck: the next signal is evaluated and delivered as usual
    nxt, = burst(client, 500, 501)
    run_jobs()
    assert redis.exists(brain.key_decision(nxt))
    assert unmentioned(rooms.messages(redis, "#ops", limit=1)[0]["text"]) == ":red_circle: web-500 down"


def test_a_signal_whose_stored_json_is_corrupt_is_dead_lettered_alone(client, redis, run_jobs):
    ids = burst(client, 0, 5, per_request=5)
    redis.set(brain.key_signal(ids[2]), b'{"id": "broken', ex=3600)   # e.g. a hand edit, a half write
    run_jobs()
    assert [bool(redis.exists(brain.key_decision(sid))) for sid in ids] == [True] * 5
    letter, = brain.dead_letters(redis)
    assert letter["signal"] == ids[2] and letter["error"].startswith("json.decoder.JSONDecodeError:")
    assert letter["body"] == '{"id": "broken' and letter["source"] == ""
    assert len(rooms.messages(redis, "#ops")) == 4
    assert intake.pending(redis) == 0


def test_a_failure_that_clears_on_retry_is_not_dead_lettered(redis, client):
    """The attempts are bounded, not one: a signal that fails once and then works is decided."""
    sid, = burst(client, 0, 1)
    calls = []

    def flaky(conn, ids):
        calls.append(list(ids))
        if len(calls) == 1:
            raise ValueError("once")
        from router.pipeline.intake import evaluate as evaluate_with
        return evaluate_with(conn, ids)

    assert quarantine.settle(redis, [sid], flaky) == []
    assert redis.exists(brain.key_decision(sid)) and not redis.exists(brain.key_eval_failures(sid))
    assert brain.dead_letters(redis) == []


@pytest.mark.parametrize("trouble", [
    ConnectionError("Connection refused"), OutOfMemoryError("OOM command not allowed when used memory > 'maxmemory'."),
    ResponseError("MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist"),
    Busy("signals stay claimed by another evaluation; retry later"),
])
def test_the_brains_trouble_is_not_the_signals_fault(redis, client, trouble):
    """The job fails (RQ retries it); no signal is counted or dead-lettered."""
    ids = burst(client, 0, 3)

    def down(conn, batch):
        raise trouble

    with pytest.raises(type(trouble)):
        quarantine.settle(redis, ids, down)
    assert brain.dead_letters(redis) == [] and not any(redis.exists(brain.key_eval_failures(s)) for s in ids)
    assert intake.pending(redis) == 3
