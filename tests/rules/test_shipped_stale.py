"""rules/stale.yml (and people.yml) exactly as shipped, end to end: its `github-prs` scan run through
`POST /api/scans/github-prs` against the fake GitHub, the signals through the shipped rules on a
real RQ worker, and the nag delivered to the author's built-in room, at a pinned time."""
from __future__ import annotations

import datetime as dt
import time

import pytest
import time_machine

from router.core import brain
from router.core.config import DEFAULT_RULES_DIR
from router.stale import inventory
from tests.stale import conftest as stale
from tests.stale.conftest import deliver_due, publish, room

# The stale tests' fixtures (fake GitHub, Chef, Artifactory; the worker's environment), on the
# shipped rules dir instead of theirs.
stale_env, github, chef, chef_key, artifactory, clock = (
    stale.stale_env, stale.github, stale.chef, stale.chef_key, stale.artifactory, stale.clock)

DAY = 86400
WEDNESDAY = dt.datetime(2026, 12, 9, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))


@pytest.fixture
def rules_dir():
    return DEFAULT_RULES_DIR


@pytest.fixture
def client(stale_env, redis):
    from router.app import create_app

    with time_machine.travel(WEDNESDAY, tick=True):
        yield create_app(stale_env.with_(rules_poll=0)).test_client()


def test_an_idle_pull_request_is_found_decided_and_nagged(client, redis, stale_env, github, run_jobs, clock):
    now = time.time()
    github.add_pull("acme/web-api", 7, "alice", now - 10 * DAY, title="Add retries")       # waiting on alice
    github.add_pull("acme/web-ui", 8, "carol", now - 1 * DAY, title="Fresh")               # active: nothing
    publish(redis, stale_env)
    answer = client.post("/api/scans/github-prs")
    assert answer.status_code in (200, 202), answer.json
    run_jobs()
    assert inventory.summaries(redis)["github-prs"]["error"] == ""
    signals = {s["fingerprint"]: s for s in brain.recent_signals(redis, source="inventory", limit=10)}
    assert {fp: s["status"] for fp, s in signals.items()} == {"acme/web-api#7": "idle", "acme/web-ui#8": "active"}
    decision = client.get(f"/api/signals/{signals['acme/web-api#7']['id']}/decision").json
    assert [m["rule"] for m in decision["rulesets"]["stale"]["matched"]] == ["pr-waiting"]
    deliver_due(redis, clock, horizon=600)                      # the nag's gathering wait (2m)
    (nag,) = room(redis, "@alice")
    assert "acme/web-api#7" in nag["text"] and "Add retries" in nag["text"]
    assert room(redis, "@carol") == []
