"""Alert state per fingerprint (router/alerts/state.py) and Slack mentions from people.yml."""
from __future__ import annotations

import pytest

from router.alerts import state as alerts
from router.core import brain, people
from tests.actions.conftest import alert, store


def test_alert_state_follows_firing_ack_resolve_and_refire(redis):
    fire1, ack, resolve, fire2 = store(redis, alert(), alert(status="acknowledged", actor="bob"),
                                       alert(status="resolved"), alert())
    assert alerts.record(redis, fire1)
    state = alerts.state(redis, "web-01/HTTP")
    assert (state["status"], state["firing_since"], state["labels"]) == ("firing", fire1["occurred_at"],
                                                                         {"host": "web-01"})
    assert redis.sismember(brain.key_firing(), "web-01/HTTP")
    assert redis.sismember(brain.key_firing_by("host", "web-01"), "web-01/HTTP")

    alerts.record(redis, ack)
    assert alerts.acked_by(redis, "web-01/HTTP") == "bob"
    alerts.record(redis, resolve)
    state = alerts.state(redis, "web-01/HTTP")
    assert state["status"] == "resolved" and "acked_by" not in state
    assert not redis.sismember(brain.key_firing(), "web-01/HTTP")

    alerts.record(redis, fire2)
    assert alerts.state(redis, "web-01/HTTP")["firing_since"] == fire2["occurred_at"]
    # The `repeat` history is the rules' to keep, while one reads it (tests/engine/test_brain_fields.py)
    assert not redis.exists(brain.key_repeat("web-01/HTTP"))
    assert 0 < redis.ttl(brain.key_alert("web-01/HTTP")) <= brain.ALERT_STATE_TTL


def test_older_or_repeated_signals_change_nothing(redis):
    first, second = store(redis, alert(), alert(status="resolved"))
    assert alerts.record(redis, second)
    assert not alerts.record(redis, first)          # arrived late
    assert not alerts.record(redis, second)         # recorded twice
    assert alerts.state(redis, "web-01/HTTP")["status"] == "resolved"
    assert not alerts.record(redis, {**first, "kind": "build"})


@pytest.mark.parametrize("written, expected", [
    ("@alice", "<@U01ALICE>"),
    ("@oncall", "<@U01ALICE> <@U01BOB>"),
    ("@oncall @alice", "<@U01ALICE> <@U01BOB>"),
    ("alice-gh", "<@U01ALICE>"),                    # a GitHub login, e.g. from {actor}
    ("@here, @carol", "<!here> @carol"),            # unknown names stay as written
    ("U02DIRECT", "<@U02DIRECT>"),
])
def test_mentions_resolve_through_people_yml(rules_dir, written, expected):
    assert people.slack_mentions(written, people.load(rules_dir)) == expected


def test_a_broken_people_file_leaves_names_as_written(tmp_path):
    (tmp_path / "people.yml").write_text("people: [unclosed")
    assert people.slack_mentions("@alice", people.load(tmp_path)) == "@alice"


def test_record_many_is_record_for_a_batch(redis):
    first, build, second = store(redis, alert("a/1"), alert("b/1"), alert("a/1", status="resolved"))
    build["kind"] = "build"
    assert alerts.record_many(redis, [first, build, second, first]) == [True, False, True, False]
    assert alerts.state(redis, "a/1")["status"] == "resolved"
    assert alerts.record_many(redis, []) == []
