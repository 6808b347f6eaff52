"""Every command from every channel, end to end: a real HTTP request into the app (Slack requests
signed with the v0 scheme against the app's injectable clock), a real RQ worker, the reply where
the channel expects it (response_url, a post, the built-in room, the terminal) and the brain state."""
from __future__ import annotations

import json
import uuid
from urllib.parse import quote, urlencode

import pytest
from click.testing import CliRunner

from router.chat import rooms
from router.cli.main import main
from router.core import brain
from router.pipeline.intake import evaluate as evaluate_with
from tests.commands.conftest import fire, signed, slash_form

FORM = "application/x-www-form-urlencoded"


class Channels:
    """Say a command through one channel and return Sparky's answer as the person would see it."""

    def __init__(self, client, redis, run_jobs, response_url, clock):
        self.client, self.redis, self.run_jobs, self.response_url, self.clock = \
            client, redis, run_jobs, response_url, clock

    def slash(self, text: str, user: str = "U01ALICE") -> str:
        body = slash_form(text, user=user, response_url=self.response_url.url)
        answer = self.client.post("/slack/commands", data=body, headers=signed(body, FORM, self.clock.now))
        assert answer.status_code == 200 and answer.data == b""   # Slack shows nothing until the reply
        self.run_jobs()
        return self._unescape(self.response_url.bodies[-1]["text"])

    def mention(self, text: str, user: str = "U01ALICE", dm: bool = False) -> str:
        event = {"type": "message", "channel_type": "im", "channel": "D01ALICE"} if dm else \
            {"type": "app_mention", "channel": "C04OPS"}
        event.update(user=user, text=f"<@U06SPARKY> {text}", ts="1772546772.004200")
        body = json.dumps({"type": "event_callback", "event_id": f"Ev{uuid.uuid4().hex[:10]}", "event": event,
                           "authorizations": [{"user_id": "U06SPARKY", "is_bot": True}]}).encode()
        answer = self.client.post("/slack/events", data=body, headers=signed(body, "application/json", self.clock.now))
        assert answer.status_code == 200
        self.run_jobs()
        # No SLACK_BOT_TOKEN in these tests: router.chat.send delivers to the built-in room of that id.
        return rooms.messages(self.redis, event["channel"], limit=1)[-1]["text"]

    def dm(self, text: str, user: str = "U01ALICE") -> str:
        return self.mention(text, user, dm=True)

    def button(self, text: str, user: str = "U01ALICE") -> str:
        action_id = "sparky_ack" if text.startswith("ack") else "sparky_snooze_1h"
        payload = {"type": "block_actions", "user": {"id": user, "username": user.lower()},
                   "channel": {"id": "C04OPS", "name": "ops"}, "response_url": self.response_url.url,
                   "container": {"type": "message", "message_ts": "1.2", "channel_id": "C04OPS"},
                   "actions": [{"type": "button", "action_id": action_id, "value": text, "action_ts": "1772546790.1"}]}
        body = urlencode({"payload": json.dumps(payload)}).encode()
        answer = self.client.post("/slack/interactions", data=body, headers=signed(body, FORM, self.clock.now))
        assert answer.status_code == 200
        self.run_jobs()
        return self._unescape(self.response_url.bodies[-1]["text"])

    def room(self, text: str, user: str = "alice") -> str:
        answer = self.client.post(f"/api/rooms/{quote('#ops', safe='')}/messages", json={"user": user, "text": text})
        assert answer.status_code == 202, answer.json
        self.run_jobs()
        (sid,) = answer.json["signals"]
        messages = self.client.get(f"/api/rooms/{quote('#ops', safe='')}/messages").json["messages"]
        said = next(i for i, m in enumerate(messages) if m.get("signal") == sid)
        assert messages[said]["text"] == f"{user}: {text}"    # the person's line, then the answer
        (reply,) = [m for m in messages[said + 1:] if m.get("reply_to") == sid]
        return reply["text"]

    def cli(self, text: str, user: str = "alice") -> str:
        result = CliRunner().invoke(main, ["say", "--as", user, "--room", "#ops", text])
        assert result.exception is None or isinstance(result.exception, SystemExit), result.output
        self.run_jobs()   # what the command queued (a snooze's end) runs on a worker
        return result.output.strip()

    @staticmethod
    def _unescape(text: str) -> str:
        return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


@pytest.fixture
def say(client, redis, run_jobs, response_url, slack_clock):
    return Channels(client, redis, run_jobs, response_url, slack_clock)


@pytest.fixture
def firing(redis, env, run_jobs):
    """Two firing alerts, evaluated and posted: a production web check and a staging disk."""
    web = fire(redis, "web-01/HTTP", env="production")
    disk = fire(redis, "db-01/Disk", env="staging")
    evaluate_with(redis, [web.id, disk.id])
    run_jobs()
    return web, disk


def snooze_now(redis, **fields) -> dict:
    snooze = {"id": brain.next_snooze_id(redis), "matchers": [{"name": "host", "op": "=", "value": "db-01"}],
              "ends_at": 4_000_000_000, "created_by": "bob", "reason": "disk swap", "created_at": "2026-01-01T00:00:00Z",
              "starts_at": 1_700_000_000, "text": "host=db-01", "envs": ["staging"], **fields}
    brain.put_snooze(redis, snooze)
    return snooze


CHANNELS = ["slash", "mention", "dm", "room", "cli"]


@pytest.mark.parametrize("channel", CHANNELS)
def test_help(say, firing, channel):
    answer = getattr(say, channel)("help")
    assert "Commands alice can run" in answer
    assert "`snooze <matcher or alert id> for <duration> [because <reason>]`" in answer


@pytest.mark.parametrize("channel", CHANNELS)
def test_help_for_a_command(say, firing, channel):
    answer = getattr(say, channel)("help ack")
    assert "Usage: ack <alert id or fingerprint> [reason]" in answer and "Examples:" in answer


@pytest.mark.parametrize("channel", CHANNELS)
def test_alerts(say, firing, channel):
    answer = getattr(say, channel)("alerts env=staging")
    assert answer.startswith("1 firing matching `env=staging`:")
    assert f"`{brain.alert_id('db-01/Disk')}` [critical] db-01/Disk" in answer and "web-01" not in answer


@pytest.mark.parametrize("channel", CHANNELS + ["button"])
def test_snooze(say, firing, redis, channel):
    answer = getattr(say, channel)("snooze db-01/Disk for 1h")
    assert answer.startswith("Snoozed `s1`: `fingerprint=db-01/Disk` until ")
    assert "Right now it matches 1 firing alert: db-01/Disk." in answer
    (snooze,) = brain.active_snoozes(redis, 0)
    assert snooze["matchers"] == [{"name": "fingerprint", "op": "=", "value": "db-01/Disk"}]
    assert snooze["created_by"] == "alice" and 3590 < snooze["ends_at"] - snooze["starts_at"] <= 3600


@pytest.mark.parametrize("channel", CHANNELS)
def test_snoozes(say, firing, redis, channel):
    snooze_now(redis)
    answer = getattr(say, channel)("snoozes")
    assert answer.startswith("1 active snooze:\n`s1` `host=db-01` · by bob · until ")
    assert "because disk swap · silencing 1 firing" in answer


@pytest.mark.parametrize("channel", CHANNELS)
def test_unsnooze(say, firing, redis, channel):
    snooze_now(redis)
    answer = getattr(say, channel)("unsnooze s1 disk swapped")
    assert answer == ("Ended snooze `s1` (`host=db-01`, by bob): disk swapped. "
                      "Still firing, posted again shortly: db-01/Disk.")
    assert brain.active_snoozes(redis, 0) == [] and brain.ended_snooze(redis, "s1")["ended_by"] == "alice"


@pytest.mark.parametrize("channel", CHANNELS + ["button"])
def test_ack(say, firing, redis, channel):
    answer = getattr(say, channel)("ack web-01/HTTP")
    assert answer.startswith(f"alice acked `{brain.alert_id('web-01/HTTP')}` web-01/HTTP")
    assert redis.hget(brain.key_alert("web-01/HTTP"), "acked_by") == b"alice"


@pytest.mark.parametrize("channel", CHANNELS)
def test_why(say, firing, channel):
    web, _ = firing
    answer = getattr(say, channel)(f"why {web.id}")
    assert answer.startswith(f"`{web.id}` nagios alert firing: web-01/HTTP (rules version ")
    assert "*routing*: matched `alerts-to-ops` → notify #ops" in answer
    assert "not matched: `chat-commands` (kind: command)" in answer
    assert answer.endswith(f"Full decision: /api/signals/{web.id}/decision")


def test_slash_replies_are_visible_to_the_room_only_when_they_change_something(say, firing, response_url):
    say.slash("alerts")
    say.slash("ack web-01/HTTP on it")
    assert [b["response_type"] for b in response_url.bodies] == ["ephemeral", "in_channel"]
    assert all(b["replace_original"] is False for b in response_url.bodies)


def test_expired_response_url_falls_back_to_a_post_in_the_room(say, firing, redis, response_url):
    response_url.status = 404
    say.slash("alerts")
    assert rooms.messages(redis, "C04OPS")[-1]["text"].startswith("2 firing:")


def test_slack_markup_in_a_slash_command_is_decoded(say, firing, redis):
    answer = say.slash("snooze host=<http://db-01|db-01> for 30m because “swap”")
    assert answer.startswith("Snoozed `s1`: `host=db-01` until") and "because swap" in answer


def test_a_badly_signed_slash_command_runs_nothing(client, redis, run_jobs, slack_clock, firing):
    body = slash_form("ack web-01/HTTP")
    headers = signed(body, FORM, slack_clock.now, secret="not-the-secret")
    assert client.post("/slack/commands", data=body, headers=headers).status_code == 401
    run_jobs()
    assert redis.hget(brain.key_alert("web-01/HTTP"), "acked_by") is None


def test_mentions_learn_room_names_from_slash_commands(say, firing, redis):
    """permissions.yml says `#ops`; a mention carries only the channel id, a slash command both."""
    refused = say.mention("snooze host=web-01 for 1h because deploy")
    assert refused.startswith("Refused: `snooze` with env=production may be run only in #ops, not in C04OPS.")
    say.slash("help")   # from C04OPS, named "ops"
    assert say.mention("snooze host=web-01 for 1h because deploy").startswith("Snoozed `s1`")


def test_a_mention_reply_goes_to_slack_with_a_bot_token(say, firing, redis, monkeypatch):
    from tests.fakeslack import TOKEN, FakeSlack

    fake = FakeSlack().start()
    try:
        monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)
        monkeypatch.setenv("SLACK_API_URL", fake.url)
        monkeypatch.setenv("SPARKY_SLACK_RATE", "0")
        body = json.dumps({"type": "event_callback", "event_id": "Ev1", "event": {
            "type": "app_mention", "channel": "C04OPS", "user": "U01BOB", "text": "<@U06SPARKY> alerts env=staging",
            "ts": "1.1"}}).encode()
        assert say.client.post("/slack/events", data=body,
                               headers=signed(body, "application/json", say.clock.now)).status_code == 200
        say.run_jobs()
        (post,) = fake.posts()
        assert post["channel"] == "C04OPS" and "db-01/Disk" in json.dumps(post)
    finally:
        fake.stop()


def test_a_reply_is_delivered_once_when_the_job_runs_again(say, firing, redis, response_url):
    from rq import Queue

    from router.commands.jobs import run_command
    from router.jobs.queues import ACTIONS_QUEUE

    say.slash("ack web-01/HTTP")
    (sid,) = [k.decode().rsplit(":", 1)[1] for k in redis.scan_iter(brain.key_command("*"))]
    Queue(ACTIONS_QUEUE, connection=redis).enqueue(run_command, sid)
    say.run_jobs()
    assert len(response_url.bodies) == 1
    assert [e["event"] for e in brain.audit_entries(redis, filters={"event": "alert.acked"})[0]] == ["alert.acked"]


def test_cli_exit_status_and_no_room(firing, env):
    refused = CliRunner().invoke(main, ["say", "--as", "dave", "snooze host=db-01 for 1h"])
    assert refused.exit_code == 1 and refused.output.startswith("Refused: `snooze` is for carol, oncall")
    listed = CliRunner().invoke(main, ["say", "--as", "U01DAVE", "alerts"])
    assert listed.exit_code == 0 and listed.output.startswith("2 firing:")


def test_cli_unsnooze_of_an_unknown_or_ended_snooze_exits_non_zero(firing, env):
    unknown = CliRunner().invoke(main, ["say", "--as", "alice", "unsnooze s9"])
    assert (unknown.exit_code, unknown.output) == (
        1, "Refused: There is no snooze `s9`. `snoozes` lists the active ones.\n")
    made = CliRunner().invoke(main, ["say", "--as", "alice", "--room", "#ops", "snooze host=db-01 for 1h"])
    assert made.exit_code == 0, made.output
    assert CliRunner().invoke(main, ["say", "--as", "alice", "unsnooze s1"]).exit_code == 0
    ended = CliRunner().invoke(main, ["say", "--as", "alice", "unsnooze s1"])
    assert ended.exit_code == 1 and ended.output.startswith("Refused: Snooze `s1` has already ended ("), ended.output


def test_room_messages_validate_their_body(client, env):
    assert client.post("/api/rooms/%23ops/messages", json={"user": "alice"}).json["error"] == \
        "text: Missing data for required field."
    assert client.post("/api/rooms/%23ops/messages", data="x").status_code == 400
    assert client.post("/api/rooms/%23ops/messages", json={"user": "a", "text": "b", "as": "root"}).status_code == 400


def test_the_snooze_1h_button_on_a_production_alert_asks_for_a_reason(say, firing, redis):
    answer = say.button("snooze web-01/HTTP for 1h")
    assert answer == ("Refused: snoozing production alerts needs a reason: "
                      "say `snooze web-01/HTTP for 1h because <reason>`. "
                      "Right now it matches 1 firing alert: web-01/HTTP.")
    assert brain.active_snoozes(redis, 0) == []


def test_a_paced_slack_reply_is_retried_when_its_slot_is_due(say, firing, redis, monkeypatch):
    """Regression: a reply whose channel slot is taken came back as AttributeError, not a retry."""
    from rq import Queue
    from rq.job import Job
    from rq.registry import ScheduledJobRegistry
    from rq.results import Result

    from router.chat import pacing as ratelimit
    from router.jobs.queues import ACTIONS_QUEUE
    from tests.fakeslack import TOKEN, FakeSlack

    fake = FakeSlack().start()
    try:
        monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)
        monkeypatch.setenv("SLACK_API_URL", fake.url)
        monkeypatch.setenv("SPARKY_SLACK_RATE", "1")
        assert ratelimit.acquire(redis, "C04OPS", "someone-else", 1.0, {})[0] == "go"  # the slot is taken
        body = json.dumps({"type": "event_callback", "event_id": "Ev2", "event": {
            "type": "app_mention", "channel": "C04OPS", "user": "U01BOB", "text": "<@U06SPARKY> alerts env=staging",
            "ts": "1.2"}}).encode()
        assert say.client.post("/slack/events", data=body,
                               headers=signed(body, "application/json", say.clock.now)).status_code == 200
        say.run_jobs()  # fails the test if the command job failed
        assert fake.posts() == []
        scheduled = ScheduledJobRegistry(queue=Queue(ACTIONS_QUEUE, connection=redis)).get_job_ids()
        (job_id,) = [j for j in scheduled if j.startswith("sparky-command-")]
        result = Job.fetch(job_id, connection=redis).latest_result()
        # asked to come back when the slot is due, not failed and retried by RQ's policy
        assert result.type == Result.Type.RETRIED, result.exc_string
    finally:
        fake.stop()
