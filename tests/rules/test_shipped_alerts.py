"""rules/routing.yml, suppression.yml, people.yml and permissions.yml exactly as shipped, end to end:
a captured Nagios notification through /hooks/nagios and a real RQ worker, chat commands in a
built-in room and from Slack, at a pinned time (a Wednesday morning in Berlin)."""
from __future__ import annotations

import datetime as dt
import time
from urllib.parse import urlencode

import pytest
import time_machine

from router.chat import rooms
from router.core import brain
from router.core.config import DEFAULT_RULES_DIR, Config
from tests.commands.conftest import signed, use_rules
from tests.conftest import SLACK_SECRET, payload

WEDNESDAY = dt.datetime(2026, 12, 9, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))


@pytest.fixture
def config(monkeypatch, redis, redis_url, tmp_path):
    """A worker's environment on the shipped rules dir; built-in rooms (no Slack token)."""
    for name in ("SLACK_BOT_TOKEN", "SPARKY_ADMIN_TOKEN", "SPARKY_HOOK_TOKENS", "GITHUB_WEBHOOK_SECRET"):
        monkeypatch.delenv(name, raising=False)
    for name, value in {"SPARKY_REDIS_URL": redis_url, "SPARKY_RULES_DIR": str(DEFAULT_RULES_DIR),
                        "SPARKY_RULES_POLL": "0", "SLACK_SIGNING_SECRET": SLACK_SECRET}.items():
        monkeypatch.setenv(name, value)
    use_rules(redis, DEFAULT_RULES_DIR)
    with time_machine.travel(WEDNESDAY, tick=True):
        yield Config.from_env().with_(data_dir=tmp_path / "var")


def notify(client, run_jobs, number: int = 1) -> str:
    """The captured Nagios notification for web-01/HTTP CRITICAL; `number` makes it a re-notification."""
    body, headers = payload("nagios/slack_nagios_pl.service_problem.form")
    body = body.replace(b"SERVICENOTIFICATIONNUMBER=1&", f"SERVICENOTIFICATIONNUMBER={number}&".encode())
    body = body.replace(b"SERVICENOTIFICATIONID=48811&", f"SERVICENOTIFICATIONID={48810 + number}&".encode())
    answer = client.post("/hooks/nagios", data=body, headers=headers)
    assert answer.status_code == 202, answer.json
    run_jobs()
    (sid,) = answer.json["signals"]
    return sid


def matched(client, sid: str) -> dict[str, list[str]]:
    decision = client.get(f"/api/signals/{sid}/decision").json
    return {name: [m["rule"] for m in outcome["matched"]] for name, outcome in decision["rulesets"].items()}


def say(client, run_jobs, redis, user: str, text: str, room: str = "#ops") -> str:
    answer = client.post(f"/api/rooms/{room.replace('#', '%23')}/messages", json={"user": user, "text": text})
    assert answer.status_code == 202, answer.json
    run_jobs()
    (sid,) = answer.json["signals"]
    (reply,) = [m["text"] for m in rooms.messages(redis, room, 500) if m.get("reply_to") == sid]
    return reply


def posted(redis, room: str = "#ops") -> list[str]:
    """What the rules posted in a room (not what people said there, nor Sparky's replies to them)."""
    return [m["text"] for m in rooms.messages(redis, room, 500) if m.get("key")]


def test_routing_posts_a_critical_alert_to_ops_and_suppression_drops_it_once_snoozed(client, redis, run_jobs):
    first = notify(client, run_jobs)
    assert matched(client, first) == {"routing": ["critical-alerts"], "suppression": [], "deploy": [], "stale": [],
                                      "oncall": []}
    # `@oncall` is whoever oncall.yml's ops/primary names when it is sent: alice, that week
    assert posted(redis) == ["@alice :red_circle: CRITICAL web-01/HTTP: CRITICAL - Socket timeout after 10 seconds"]

    # alice is on call (people.yml), so permissions.yml lets her snooze; the guardrails allow 2h
    reply = say(client, run_jobs, redis, "alice", "snooze host=web-01 for 2h because deploying")
    assert reply.startswith("Snoozed "), reply
    again = notify(client, run_jobs, number=2)
    assert matched(client, again)["suppression"] == ["snoozed"]
    assert len(posted(redis)) == 1                                     # recorded, not posted
    why = say(client, run_jobs, redis, "bob", "why web-01/HTTP")
    assert f"`{again}`" in why and "Suppressed by `suppression/snoozed`: recorded, not posted." in why


def test_an_acked_alert_that_fires_again_is_not_posted_again(client, redis, run_jobs):
    notify(client, run_jobs)
    alert_id = brain.alert_id("web-01/HTTP")
    assert say(client, run_jobs, redis, "bob", f"ack {alert_id} looking").startswith(f"bob acked `{alert_id}`")
    again = notify(client, run_jobs, number=2)
    assert matched(client, again)["suppression"] == ["acked-repeats"]
    assert len(posted(redis)) == 1


def test_a_down_instance_inhibits_its_other_alerts_until_it_is_back(client, redis, run_jobs):
    """suppression.yml's inhibit_rules: InstanceDown mutes the other alerts of its instance."""
    from router.core.times import from_epoch

    def push(labels: dict, summary: str, resolved: bool = False) -> None:
        alert = {"labels": labels, "annotations": {"summary": summary}, "startsAt": from_epoch(time.time() - 60)}
        if resolved:
            alert["endsAt"] = from_epoch(time.time() - 1)
        assert client.post("/api/v2/alerts", json=[alert]).status_code == 200
        run_jobs()

    down = {"alertname": "InstanceDown", "instance": "db1:9100", "severity": "critical"}
    push(down, "db1 is down")
    push({"alertname": "HighLatency", "instance": "db1:9100", "severity": "warning"}, "db1 is slow")
    push({"alertname": "HighLatency", "instance": "db2:9100", "severity": "critical"}, "db2 is slow")
    assert posted(redis) == ["@alice :red_circle: db1 is down", "@alice :red_circle: db2 is slow"]   # @oncall: alice that week
    (muted,) = [a for a in client.get("/api/alerts").json["alerts"] if a["inhibited"]]
    assert muted["labels"]["instance"] == "db1:9100" and muted["inhibited_by"][0]["fingerprint"] != muted["fingerprint"]
    why = say(client, run_jobs, redis, "bob", f"why {muted['id']}")
    assert "Suppressed by `suppression/inhibited`: recorded, not posted." in why and "Inhibited by `" in why

    push(down, "db1 is down", resolved=True)
    assert sorted(posted(redis)[2:]) == [":white_check_mark: db1 is down",
                                 "still firing now that " + muted["inhibited_by"][0]["fingerprint"]
                                 + " resolved (it was inhibited): db1 is slow"]


@pytest.mark.parametrize("user, text, refusal", [
    ("carol", "snooze host=web-01 for 1h because testing", "`snooze` is for oncall; carol is not one of them."),
    ("bob", "bypass dp-abc123 because hotfix", "`bypass` is for admins; bob is not one of them."),
    ("mallory", "alerts", "I don't know you (mallory): ask an admin to add you to people.yml."),
])
def test_permissions_refuse_by_person_and_group(client, redis, run_jobs, user, text, refusal):
    notify(client, run_jobs)
    assert say(client, run_jobs, redis, user, text, room="#dev") == f"Refused: {refusal}"
    assert not say(client, run_jobs, redis, "alice", text, room="#dev").startswith("Refused")   # alice may


def test_a_slack_user_is_the_person_people_yml_names(client, redis, run_jobs):
    notify(client, run_jobs)
    body = urlencode({"command": "/sparky", "text": f"ack {brain.alert_id('web-01/HTTP')}", "user_id": "U01BOB",
                      "user_name": "bob.b", "channel_id": "C01OPS", "channel_name": "ops",
                      "response_url": "http://127.0.0.1:9/unused", "team_id": "T1"}).encode()
    form = "application/x-www-form-urlencoded"
    assert client.post("/slack/commands", data=body, headers=signed(body, form, time.time())).status_code == 200
    run_jobs(allow_failures=True)          # the reply to the unreachable response_url may fail; the ack is done
    acked, _ = brain.audit_entries(redis, 50, filters={"event": "alert.acked"})
    assert [(e["who"], e["alert"]) for e in acked] == [("bob", "web-01/HTTP")]
