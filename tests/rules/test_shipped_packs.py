"""rules/commands/ as shipped (the seed's lunch, traffic, builds, runscope and image commands), end
to end: the signals that feed them through real hooks and a real RQ worker, and each command said
from Slack (a signed slash command), the rooms API and `sparky say`, at a pinned time."""
from __future__ import annotations

import datetime as dt
import json
import time

import pytest
import time_machine

from router.chat import rooms
from router.core import brain
from router.core.config import DEFAULT_RULES_DIR, Config
from tests.commands.conftest import response_url, use_rules  # noqa: F401  (a fixture)
from tests.commands.test_channels import Channels
from tests.conftest import SLACK_SECRET, payload
from tests.fakehttp import JsonServer

# A Wednesday, 10:00 in Berlin (people.yml: alice's zone): the same day in UTC.
WEDNESDAY = dt.datetime(2026, 12, 9, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))
TODAY = "2026-12-09"
HOOK_TOKEN = "hook-token-for-tests"
CHANNELS = ("slash", "room", "cli")


class Now:
    """Slack requests are signed at the (travelled) time they are made."""

    @property
    def now(self) -> float:
        return time.time()


@pytest.fixture
def config(monkeypatch, redis, redis_url, tmp_path):
    for name in ("SLACK_BOT_TOKEN", "SPARKY_ADMIN_TOKEN", "GITHUB_WEBHOOK_SECRET", "IMAGE_SEARCH_URL",
                 "IMAGE_SEARCH_KEY"):
        monkeypatch.delenv(name, raising=False)
    for name, value in {"SPARKY_REDIS_URL": redis_url, "SPARKY_RULES_DIR": str(DEFAULT_RULES_DIR),
                        "SPARKY_RULES_POLL": "0", "SLACK_SIGNING_SECRET": SLACK_SECRET,
                        "SPARKY_HOOK_TOKENS": HOOK_TOKEN}.items():
        monkeypatch.setenv(name, value)
    use_rules(redis, DEFAULT_RULES_DIR)
    with time_machine.travel(WEDNESDAY, tick=True):
        yield Config.from_env().with_(data_dir=tmp_path / "var")


@pytest.fixture
def say(client, redis, run_jobs, response_url):  # noqa: F811
    channels = Channels(client, redis, run_jobs, response_url, Now())
    return lambda channel, text, **kw: getattr(channels, channel)(text, **kw)


def hook(client, run_jobs, source: str, body: bytes, headers: dict) -> list[str]:
    answer = client.post(f"/hooks/{source}", data=body, headers={**headers, "Authorization": f"Bearer {HOOK_TOKEN}"})
    assert answer.status_code == 202, answer.json
    run_jobs()
    return answer.json["signals"]


@pytest.mark.parametrize("channel", CHANNELS)
def test_lunch(say, channel):
    assert say(channel, "lunch") == "The lunch list is empty: add a place with `lunch add <place>`."
    assert say(channel, "lunch add Thai Palace") == "Added Thai Palace: 1 places on the list."
    assert say(channel, "lunch") == "How about Thai Palace?"
    assert say(channel, "lunch remove thai palace") == "Removed thai palace."


@pytest.mark.parametrize("channel", CHANNELS)
def test_traffic_counts_unique_visitors_fed_by_the_traffic_hook(client, redis, run_jobs, say, channel):
    assert say(channel, "traffic") == f"No visits recorded on {TODAY}."
    hook(client, run_jobs, "traffic", b"v1\nv2\nv1\n\nv3\n", {"Content-Type": "text/plain"})
    hook(client, run_jobs, "traffic", json.dumps(["v3", "v4"]).encode(), {"Content-Type": "application/json"})
    assert say(channel, "traffic") == f"4 unique visitors on {TODAY}."
    assert say(channel, f"traffic {TODAY}") == f"4 unique visitors on {TODAY}."
    assert say(channel, "traffic yesterday") == "No visits recorded on 2026-12-08."
    assert redis.pfcount(brain.key_pack("traffic", f"visits:{TODAY}")) == 4


def test_the_traffic_hook_is_token_checked_and_refuses_bad_bodies(client, config):
    assert client.post("/hooks/traffic", data=b"v1\n").status_code == 401
    auth = {"Authorization": f"Bearer {HOOK_TOKEN}"}
    bad = client.post("/hooks/traffic", data=b'{"a": 1}', headers={**auth, "Content-Type": "application/json"})
    assert bad.status_code == 400 and "JSON list" in bad.json["error"]
    empty = client.post("/hooks/traffic", data=b"\n\n", headers=auth)
    assert empty.status_code == 400 and "no visitor ids" in empty.json["error"]


def jenkins(client, run_jobs, duration_ms: int, number: int = 142) -> None:
    body, headers = payload("jenkins/notification.build142.completed_success.json")
    body = body.replace(b'"duration": 187342', f'"duration": {duration_ms}'.encode())
    body = body.replace(b"/142/", f"/{number}/".encode()).replace(b'"number": 142', f'"number": {number}'.encode())
    hook(client, run_jobs, "jenkins", body, headers)


@pytest.mark.parametrize("channel", CHANNELS)
def test_builds_lists_finished_jenkins_builds(client, run_jobs, say, channel):
    assert say(channel, "builds") == "No builds recorded yet."
    jenkins(client, run_jobs, 187342)
    jenkins(client, run_jobs, 61000, number=143)
    assert say(channel, "builds") == ("Recent builds:\n• web-api-build #143 succeeded in 1m01s\n"
                                      "• web-api-build #142 succeeded in 3m07s")
    assert say(channel, "builds web-api-build").startswith("Recent builds of web-api-build:\n")
    assert say(channel, "builds other") == "No builds recorded for other yet."


def test_a_long_build_tells_whoever_started_it_how_long_it_took(client, redis, run_jobs):
    jenkins(client, run_jobs, 187342)
    assert [m["text"] for m in rooms.messages(redis, "#builds", 50)] == []
    jenkins(client, run_jobs, 47 * 60 * 1000 + 3000, number=150)
    (message,) = [m["text"] for m in rooms.messages(redis, "#builds", 50)]
    assert message == ("@dev-user-2 dev-user-2: your job web-api-build #150 took 47 m (succeeded) "
                       "https://jenkins.acme.example/job/web-api-build/150/")


@pytest.mark.parametrize("channel", CHANNELS)
def test_runscope_per_bucket(client, run_jobs, say, channel):
    for name in ("webhook.test_run.pass", "webhook.test_run.fail", "webhook.test_run.pass"):
        body, headers = payload(f"runscope/{name}.json")
        data = json.loads(body)
        data["finished_at"] = data["started_at"] = WEDNESDAY.timestamp()
        data["test_run_id"] = f"{name}-{time.time()}"
        hook(client, run_jobs, "runscope", json.dumps(data).encode(), headers)
    reply = say(channel, "runscope")
    assert reply.startswith(f"Runscope on {TODAY}:\n• ") and "2 passed, 1 failed" in reply, reply


class ImageSearch(JsonServer):
    def handle(self, method, path, query, body, headers):
        if headers.get("Authorization") != "Bearer img-key-123":
            return 401, {}, {"error": "bad key"}
        words = query.get("q", [""])[0]
        return 200, {}, {"images": [{"url": f"https://img.example/{words.replace(' ', '-')}.png"}]}


@pytest.mark.parametrize("channel", CHANNELS)
def test_image_me_through_the_configured_provider(say, monkeypatch, channel):
    assert say(channel, "image me a pug") == ("`image` is not configured in this Sparky: ask an admin to set "
                                              "IMAGE_SEARCH_URL, IMAGE_SEARCH_KEY.")
    provider = ImageSearch().start()
    try:
        monkeypatch.setenv("IMAGE_SEARCH_URL", f"{provider.url}/search")
        monkeypatch.setenv("IMAGE_SEARCH_KEY", "img-key-123")
        assert say(channel, "image me a happy pug") == "https://img.example/a-happy-pug.png"
        assert provider.requests[-1]["path"] == "/search"
        monkeypatch.setenv("IMAGE_SEARCH_KEY", "wrong-key")
        assert say(channel, "image me a cat") == "The image search did not answer; try again in a minute."
    finally:
        provider.stop()


def test_help_lists_the_seed_commands(say):
    listed = say("room", "help")
    for line in ("• `lunch`: Where to go for lunch today", "• `traffic [date]`: Unique visitors on a day",
                 "• `builds [job]`: The last Jenkins builds", "• `image me <query…>`: The first image"):
        assert line in listed, listed


def test_daily_digests_post_once_per_slot_to_their_rooms(client, redis, run_jobs, config):
    from router.packs import digests

    yesterday = {"Content-Type": "text/plain", "X-Traffic-Day": "2026-12-08"}
    hook(client, run_jobs, "traffic", b"a\nb\n", yesterday)
    body, headers = payload("runscope/webhook.test_run.fail.json")
    data = json.loads(body)
    data["finished_at"] = data["started_at"] = (WEDNESDAY - dt.timedelta(days=1)).timestamp()
    hook(client, run_jobs, "runscope", json.dumps(data).encode(), headers)

    nine = dt.datetime(2026, 12, 9, 9, 0, 30, tzinfo=dt.timezone.utc).timestamp()
    def digest_posts(room: str) -> list[str]:
        return [m["text"] for m in rooms.messages(redis, room, 50) if m.get("key", "").startswith("digest/")]

    # 08:00:30 UTC: runscope's digest (0 8 * * *) is due, traffic's (0 9 * * *) not yet
    assert [k.split(":")[2] for k in digests.tick(redis, config, now=nine - 3600)] == ["runscope"]
    run_jobs()
    assert digest_posts("#api-tests") == [f"Runscope on 2026-12-08:\n• {data['bucket_name']}: 0 passed, 1 failed"]
    assert digest_posts("#ops") == []
    assert [k.split(":")[2] for k in digests.tick(redis, config, now=nine)] == ["traffic"]
    run_jobs()
    assert digest_posts("#ops") == ["2 unique visitors on 2026-12-08."]
    assert digests.tick(redis, config, now=nine + 60) == []       # one digest per slot
    assert digests.tick(redis, config, now=nine + 2 * 3600) == []   # a missed slot is not posted late
