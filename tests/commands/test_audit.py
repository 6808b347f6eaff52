"""The audit trail: GET /api/audit (newest first, limit, filters, pages) and `sparky audit tail`."""
from __future__ import annotations

import threading
import time

import pytest
from click.testing import CliRunner

from router.cli.main import main
from router.commands.channels import chat_signal
from router.commands.execute import execute
from router.core import brain
from tests.commands.conftest import fire


@pytest.fixture
def history(redis, config, env):
    fire(redis, "db-01/Disk", env="staging")
    for who, text in [("alice", "alerts"), ("dave", "snooze host=db-01 for 1h"), ("bob", "snooze host=db-01 for 1h"),
                      ("bob", "ack db-01/Disk"), ("erin", "help")]:
        execute(redis, config, chat_signal("room", text, "#ops", who).to_dict())


def test_newest_first_with_limit(client, history):
    body = client.get("/api/audit?limit=3").json
    assert [(e["event"], e["who"]) for e in body["entries"]] == \
        [("command", "erin"), ("command", "bob"), ("alert.acked", "bob")]
    assert body["count"] == 3 and body["next"] == body["entries"][-1]["id"]
    entry = body["entries"][1]
    assert entry["what"] == "ack db-01/Disk" and entry["room"] == "#ops" and entry["outcome"] == "ok"
    assert entry["rule"] == "permissions.yml#2" and entry["at"].endswith("Z") and entry["channel"] == "room"


def test_filters_and_pages(client, history):
    refused = client.get("/api/audit?outcome=refused").json["entries"]
    assert [(e["who"], e["what"]) for e in refused] == [("erin", "help"), ("dave", "snooze host=db-01 for 1h")]
    assert refused[1]["reason"] == "`snooze` is for carol, oncall; dave is not one of them."
    assert [e["event"] for e in client.get("/api/audit?event=snooze.created").json["entries"]] == ["snooze.created"]
    first = client.get("/api/audit?who=bob&limit=2").json
    second = client.get(f"/api/audit?who=bob&limit=2&before={first['next']}").json
    assert [e["event"] for e in first["entries"] + second["entries"]] == \
        ["command", "alert.acked", "command", "snooze.created"]
    last = client.get(f"/api/audit?who=bob&limit=2&before={second['next']}").json
    assert last == {"entries": [], "count": 0, "next": ""}


@pytest.mark.parametrize("query, error", [
    ("limit=0", "limit: Must be greater than or equal to 1 and less than or equal to 1000."),
    ("colour=red", "colour: Unknown field."),
    ("before=yesterday", "before: a stream id like 1700000000000-0"),
])
def test_bad_queries_are_400(client, env, query, error):
    answer = client.get(f"/api/audit?{query}")
    assert answer.status_code == 400 and answer.json["error"] == error


def test_audit_needs_the_admin_token_when_set(redis, env, config):
    from router.app import create_app

    client = create_app(config.with_(admin_token="s3cret")).test_client()
    assert client.get("/api/audit").status_code == 401
    assert client.get("/api/audit", headers={"Authorization": "Bearer s3cret"}).status_code == 200
    assert client.post("/api/rooms/%23ops/messages", json={"user": "alice", "text": "help"}).status_code == 401


def test_sparky_audit_tail(history):
    out = CliRunner().invoke(main, ["audit", "tail", "-n", "2", "--no-follow"]).output.splitlines()
    assert len(out) == 2 and out[0].endswith("command bob in #ops: ack db-01/Disk → ok [permissions.yml#2]")
    assert out[1].endswith("command erin in #ops: help → refused (I don't know you (erin): ask an admin to add "
                           "you to people.yml.) [people.yml]")
    only = CliRunner().invoke(main, ["audit", "tail", "--no-follow", "--event", "alert.acked"]).output
    assert only.count("\n") == 1 and "alert.acked bob in #ops: ack db-01/Disk → ok" in only


def test_sparky_audit_tail_follows_the_stream(redis, env):
    brain.audit(redis, "rules.published", version="abc", by="test")

    def later():
        time.sleep(0.3)
        brain.audit(redis, "snooze.ended", who="sparky", what="snooze s1 ended: host=db-01", outcome="ok")

    writer = threading.Thread(target=later)
    writer.start()
    result = CliRunner().invoke(main, ["audit", "tail", "-n", "1", "--for", "1.5"])
    writer.join()
    lines = result.output.splitlines()
    assert lines[0].endswith("rules.published test: version=abc")
    assert lines[1].endswith("snooze.ended sparky: snooze s1 ended: host=db-01 → ok")


def test_openapi_documents_the_chat_endpoints(client, env):
    spec = client.get("/openapi.json").json
    audit = spec["paths"]["/api/audit"]["get"]
    assert audit["summary"].startswith("The audit trail, newest first")
    say = spec["paths"]["/api/rooms/{room}/messages"]["post"]
    assert say["tags"] == ["chat"] and "requestBody" in say
