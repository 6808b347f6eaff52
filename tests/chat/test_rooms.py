"""Built-in rooms (no SLACK_BOT_TOKEN): messages in the brain, the rooms API, `sparky rooms tail`."""
from __future__ import annotations

import threading
import time

from click.testing import CliRunner

from router.chat import rooms
from router.cli.main import main
from router.core import brain
from router.core.config import Config
from router.jobs import runner
from tests.actions.conftest import alert, nagios_signal, store


def notify_all(redis, run_jobs, signals, room="#ops", **params):
    runner.enqueue_actions(redis, [(s["id"], "routing", "ops", 0, "notify", {"room": room, **params})
                                   for s in signals])
    return run_jobs()


def test_messages_land_in_the_room_and_a_recovery_answers_its_thread(redis, run_jobs, client, rooms_env):
    problem, recovery = store(redis, nagios_signal("slack_nagios_pl.service_problem.form"),
                              nagios_signal("env_dump.nagios_prefix.service_recovery.form"))
    notify_all(redis, run_jobs, [problem], mention="@oncall {actor}")
    notify_all(redis, run_jobs, [recovery])

    answer = client.get("/api/rooms").get_json()
    assert [(r["room"], r["messages"]) for r in answer["rooms"]] == [("#ops", 2)]
    body = client.get("/api/rooms/%23ops/messages").get_json()
    firing, resolved = body["messages"]
    assert firing["text"] == "@oncall CRITICAL web-01/HTTP: CRITICAL - Socket timeout after 10 seconds"
    assert firing["buttons"] == [{"text": "Ack", "value": "ack web-01/HTTP"},
                                 {"text": "Snooze 1h", "value": "snooze web-01/HTTP for 1h"}]
    assert (firing["room"], firing["signal"], firing["thread"]) == ("#ops", problem["id"], "")
    assert resolved["thread"] == firing["id"] and resolved["buttons"] == []
    assert client.get(f"/api/rooms/%23ops/messages?after={firing['id']}").get_json()["messages"] == [resolved]


def test_rooms_api_errors_name_the_problem(redis, run_jobs, client, rooms_env):
    notify_all(redis, run_jobs, store(redis, alert()))
    missing = client.get("/api/rooms/ops/messages")
    assert missing.status_code == 404
    assert "/api/rooms/%23ops/messages" in missing.get_json()["error"]
    assert client.get("/api/rooms/%23ops/messages?limit=0").status_code == 400


def test_rooms_api_needs_the_admin_token_when_set(redis_url, redis, tmp_path):
    from router.app import create_app

    app = create_app(Config(redis_url=redis_url, data_dir=tmp_path, admin_token="s3cret-admin"))
    assert app.test_client().get("/api/rooms").status_code == 401
    ok = app.test_client().get("/api/rooms", headers={"Authorization": "Bearer s3cret-admin"})
    assert ok.status_code == 200


def test_a_room_post_is_exactly_once_per_delivery_key(redis):
    first = rooms.post(redis, "#ops", "k1", {"text": "hello"})
    again = rooms.post(redis, "#ops", "k1", {"text": "hello"})
    assert first[1] is True and again == (first[0], False)
    assert [m["text"] for m in rooms.messages(redis, "#ops")] == ["hello"]


def test_rooms_are_capped(redis):
    for i in range(brain.ROOM_CAP + 5):
        rooms.post(redis, "#busy", f"k{i}", {"text": f"m{i}"})
    assert redis.llen(brain.key_room("#busy")) == brain.ROOM_CAP
    assert rooms.messages(redis, "#busy", limit=1)[0]["text"] == f"m{brain.ROOM_CAP + 4}"


def test_sparky_rooms_tail_prints_then_follows(redis, run_jobs, rooms_env):
    notify_all(redis, run_jobs, store(redis, alert("web-01/HTTP"), alert("web-02/HTTP")))
    cli = CliRunner()
    shown = cli.invoke(main, ["rooms", "tail", "#ops", "--no-follow", "-n", "5"])
    assert shown.exit_code == 0, shown.output
    lines = shown.output.splitlines()
    assert [line[9:] for line in lines] == ["CRITICAL web-01/HTTP: down  [Ack]  [Snooze 1h]",
                                           "CRITICAL web-02/HTTP: down  [Ack]  [Snooze 1h]"]

    later = store(redis, alert("web-03/HTTP"))
    timer = threading.Timer(0.3, lambda: rooms.post(redis, "#ops", "late", {"text": later[0]["summary"]}))
    timer.start()
    started = time.monotonic()
    followed = cli.invoke(main, ["rooms", "tail", "#ops", "-n", "0", "--for", "1.2"])
    timer.join()
    assert followed.exit_code == 0, followed.output
    assert followed.output.splitlines()[-1].endswith("CRITICAL web-03/HTTP: down")
    assert len(followed.output.splitlines()) == 1 and time.monotonic() - started < 5

    listed = cli.invoke(main, ["rooms", "list"])
    assert listed.output.startswith("#ops") and "3 messages" in listed.output
