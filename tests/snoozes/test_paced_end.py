"""A snooze that ends while its Slack room is paced comes back at the room's slot, not as a failure.

The end job's chat wait (router/core/outcomes.py `Later`, Slack's per-channel pace) used to read
`later.seconds`, which a `Later` does not have: the job failed every retry and the alerts it should
have posted again were never posted. Through the real pacing, a real RQ job and a fake Slack.
"""
from __future__ import annotations

import json
import time

from rq import Queue
from rq.registry import FailedJobRegistry, ScheduledJobRegistry

from router.chat import pacing
from router.core import brain
from router.jobs.queues import ACTIONS_QUEUE
from router.snoozes import lifecycle
from tests.fakeslack import TOKEN


def test_a_paced_snooze_end_waits_for_the_rooms_slot(redis, run_jobs, monkeypatch, fake_slack, rules_dir,  # noqa: F811
                                                      redis_url):
    for name, value in {"SLACK_BOT_TOKEN": TOKEN, "SLACK_API_URL": fake_slack.url, "SPARKY_SLACK_RATE": "0.1",
                        "SPARKY_RULES_DIR": str(rules_dir), "SPARKY_REDIS_URL": redis_url}.items():
        monkeypatch.setenv(name, value)
    now = time.time()
    snooze = {"id": "s1", "matchers": [{"name": "host", "op": "=", "value": "web-01"}], "room": "#ops",
              "transport": "slack", "created_by": "alice", "text": "host=web-01", "starts_at": now - 600,
              "ends_at": now - 1}
    redis.set(brain.key_snooze("s1"), json.dumps(snooze))
    # someone else's message has just taken #ops' slot: the next is due in 10 s (0.1 per second)
    state, _ = pacing.acquire(redis, "#ops", "earlier-message", 0.1, {"state": "sending"}, now=now)
    assert state == "go"

    Queue(ACTIONS_QUEUE, connection=redis).enqueue(lifecycle.end, "s1", job_id="end-s1")
    run_jobs(allow_failures=True)

    queue = Queue(ACTIONS_QUEUE, connection=redis)
    assert FailedJobRegistry(queue=queue).get_job_ids() == []
    assert ScheduledJobRegistry(queue=queue).get_job_ids() == ["end-s1"]    # back at #ops' next slot
    assert fake_slack.calls == []                                           # nothing posted out of turn
