"""`GET /api/alerts`: what is firing now, with who acked or snoozed it — the `alerts` command's
reader and matchers, so the API and chat answer alike."""
from __future__ import annotations

import re

import pytest

from router.commands.execute import execute
from tests.api.conftest import fire
from tests.commands.conftest import chat


def ids(answer) -> list[str]:
    assert answer.status_code == 200, answer.json
    return [a["id"] for a in answer.json["alerts"]]


def test_firing_alerts_with_who_acked_and_snoozed_them(client, redis, config, alerts):
    assert execute(redis, config, chat("ack web-01/HTTP looking", user="bob")).outcome == "ok"
    assert client.post("/api/snoozes", json={"user": "alice", "matchers": ["host=db-01"], "duration": "1h",
                                             "reason": "cleanup"}).status_code == 201
    fire(redis, "cache-01/Memory", status="resolved")

    answer = client.get("/api/alerts").json
    assert answer["count"] == 4
    by_name = {a["fingerprint"]: a for a in answer["alerts"]}
    assert "cache-01/Memory" not in by_name                      # resolved: not firing any more
    web = by_name["web-01/HTTP"]
    assert (web["acked"], web["acked_by"], web["ack_reason"], web["snoozed"]) == (True, "bob", "looking", False)
    assert web["labels"] == {"host": "web-01", "service": "HTTP", "env": "production"}
    assert (web["status"], web["severity"], web["source"]) == ("firing", "critical", "nagios")
    assert web["firing_since"] and web["signal"] == alerts[0].id
    db = by_name["db-01/Disk Space"]
    assert (db["acked"], db["snoozed"]) == (False, True)
    (by,) = db["snoozed_by"]
    assert (by["id"], by["created_by"], by["reason"]) == ("s1", "alice", "cleanup")

    # the same alerts, in the same order, as the `alerts` command lists
    lines = execute(redis, config, chat("alerts")).text.splitlines()[1:]
    assert [re.match(r"`(\w+)`", line).group(1) for line in lines] == [a["id"] for a in answer["alerts"]]
    assert "acked by bob" in lines[ids(client.get("/api/alerts")).index(web["id"])]


def test_filters_are_the_commands_matchers(client, redis, alerts):
    web01, web02, db01, db02, cache = (a.fingerprint for a in alerts)
    short = {a["fingerprint"]: a["id"] for a in client.get("/api/alerts").json["alerts"]}
    production = client.get("/api/alerts?filter=env=production")
    assert sorted(ids(production)) == sorted([short[web01], short[web02]])
    both = client.get("/api/alerts", query_string=[("filter", "host=~web-.*"), ("filter", "host!=web-02")])
    assert ids(both) == [short[web01]]
    spaced = client.get("/api/alerts", query_string={"filter": "service=Disk Space"})
    assert sorted(ids(spaced)) == sorted([short[db01], short[db02]])
    assert ids(client.get(f"/api/alerts?filter={short[cache]}")) == [short[cache]]      # an alert id
    assert ids(client.get("/api/alerts?filter=host=nowhere")) == []


def test_acked_and_snoozed_flags_filter(client, redis, config, alerts):
    execute(redis, config, chat("ack web-02/HTTP", user="bob"))
    client.post("/api/snoozes", json={"user": "alice", "matchers": ["host=cache-01"], "duration": "1h"})
    names = {a["id"]: a["fingerprint"] for a in client.get("/api/alerts").json["alerts"]}
    assert [names[i] for i in ids(client.get("/api/alerts?acked=true"))] == ["web-02/HTTP"]
    assert [names[i] for i in ids(client.get("/api/alerts?snoozed=true"))] == ["cache-01/Memory"]
    quiet = client.get("/api/alerts?acked=false&snoozed=false")
    assert sorted(names[i] for i in ids(quiet)) == ["db-01/Disk Space", "db-02/Disk Space", "web-01/HTTP"]
    limited = client.get("/api/alerts?limit=2").json
    assert (len(limited["alerts"]), limited["count"]) == (2, 5)


@pytest.mark.parametrize("query, problem", [
    ("filter=host=~(web", '"host=~(web": bad regex'),
    ("filter=host=web-01&filter=.x=1", '".x=1": ".x" is not a label name'),
    ("acked=maybe", "acked: Not a valid boolean."),
    ("limit=0", "limit: Must be greater than or equal to 1"),
    ("colour=red", "colour: Unknown field."),
])
def test_bad_queries_are_400_naming_the_problem(client, alerts, query, problem):
    answer = client.get(f"/api/alerts?{query}")
    assert answer.status_code == 400 and problem in answer.json["error"], answer.json


def test_nothing_firing_is_an_empty_list(client, env):
    assert client.get("/api/alerts").json == {"alerts": [], "count": 0}

