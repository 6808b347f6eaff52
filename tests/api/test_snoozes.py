"""`/api/snoozes`: snoozes made, listed and ended over HTTP go through the `snooze` / `unsnooze`
commands' own checks — permissions.yml, the suppression guardrails — and are audited like them.

The rules are tests/commands/conftest.py's: snooze and unsnooze for oncall (alice, bob) and carol;
production snoozes only for oncall and only from #ops; staging up to 7d, production up to 24h and
with a reason; at most 3 firing alerts; a matcher must name a label.
"""
from __future__ import annotations

import datetime as dt

import pytest
from freezegun import freeze_time

from router.app import create_app
from router.core import brain
from tests.api.conftest import audit
from tests.snoozes.test_lifecycle import T0, Life


def snooze(client, **body):
    return client.post("/api/snoozes", json={"user": "alice", "duration": "2h", **body})


def test_a_snooze_made_over_http_shows_everywhere_and_is_audited_as_the_command(client, redis, alerts):
    answer = snooze(client, matchers=["host=~db-0[12]"], reason="disk cleanup")
    assert answer.status_code == 201, answer.json
    made = answer.json
    assert answer.headers["Location"] == "/api/snoozes/s1"
    assert (made["id"], made["state"], made["text"], made["created_by"], made["reason"], made["channel"]) == (
        "s1", "active", "host=~db-0[12]", "alice", "disk cleanup", "api")
    assert made["matchers"] == [{"name": "host", "op": "=~", "value": "db-0[12]"}]
    assert [a["fingerprint"] for a in made["matching"]] == ["db-01/Disk Space", "db-02/Disk Space"]
    assert made["envs"] == ["staging"]

    # the rules engine reads it: the same snooze chat would have made
    (stored,) = brain.active_snoozes(redis, 0)
    assert stored["matchers"] == made["matchers"] and stored["created_by"] == "alice"
    assert client.get("/api/snoozes").json == {"snoozes": [made], "count": 1}
    assert client.get("/api/snoozes/s1").json == made

    # audited like `snooze` from chat: the snooze and the command, by alice, through the API
    (created,) = audit(redis, event="snooze.created")
    assert (created["who"], created["channel"], created["room"], created["snooze"], created["matched"],
            created["rule"]) == ("alice", "api", "the API", "s1", "2", "permissions.yml#3")
    (command,) = audit(redis, event="command")
    assert (command["command"], command["outcome"], command["what"]) == (
        "snooze", "ok", "snooze host=~db-0[12] for 2h because disk cleanup")


def test_a_snooze_made_over_http_suppresses_the_matching_alert(client, redis, env, run_jobs):
    life = Life(client, redis, run_jobs)
    life.nagios(T0)
    with freeze_time(T0 + dt.timedelta(minutes=5)):
        answer = snooze(client, alert="web-01/HTTP", duration="1h", room="#ops")
    assert answer.status_code == 201, answer.json
    assert answer.json["text"] == "fingerprint=web-01/HTTP" and answer.json["room"] == "#ops"

    before = len(life.sparky_says())
    repeat = life.nagios(T0 + dt.timedelta(minutes=30))
    assert len(life.sparky_says()) == before          # recorded, not posted
    decision = client.get(f"/api/signals/{repeat}/decision").json
    assert decision["suppressed_by"] == {"ruleset": "suppression", "rule": "snoozed"}
    with freeze_time(T0 + dt.timedelta(minutes=31)):
        (alert,) = client.get("/api/alerts").json["alerts"]
    assert alert["snoozed"] is True and alert["snoozed_by"][0]["id"] == "s1"
    assert alert["snoozed_by"][0]["ends_at"] == "2026-03-04T10:05:00.000Z"


def test_delete_ends_it_and_what_still_fires_is_posted_again(client, redis, env, run_jobs):
    life = Life(client, redis, run_jobs)
    life.nagios(T0)
    with freeze_time(T0 + dt.timedelta(minutes=1)):
        assert snooze(client, user="bob", matchers=["host=web-01"], room="#ops").status_code == 201
    with freeze_time(T0 + dt.timedelta(minutes=2)):
        answer = client.delete("/api/snoozes/s1", json={"user": "alice", "reason": "deploy done"})
        assert answer.status_code == 200, answer.json
        ended = answer.json
        assert (ended["state"], ended["ended_by"], ended["end_note"]) == ("ended", "alice", "deploy done")
        assert [a["fingerprint"] for a in ended["still_firing"]] == ["web-01/HTTP"]
        assert client.get("/api/snoozes").json["count"] == 0
        run_jobs()
    again, notice = life.sparky_says()[-2:]
    assert again["text"].startswith("still firing after snooze s1 ended")
    assert notice["text"] == ("Snooze `s1` (`host=web-01`, by bob) ended early by alice. "
                              "Still firing, posted again: web-01/HTTP.")
    assert [s["id"] for s in client.get("/api/snoozes?state=ended").json["snoozes"]] == ["s1"]
    (deleted,) = audit(redis, event="snooze.deleted")
    assert (deleted["who"], deleted["channel"], deleted["reason"]) == ("alice", "api", "deploy done")
    assert [e["reason"] for e in audit(redis, event="snooze.ended")] == ["deploy done"]

    # a second DELETE: already ended; unknown ids are 404
    again = client.delete("/api/snoozes/s1", json={"user": "alice"})
    assert again.status_code == 409 and "already ended" in again.json["error"]
    assert client.delete("/api/snoozes/s99", json={"user": "alice"}).status_code == 404
    assert client.delete("/api/snoozes/nonsense", json={"user": "alice"}).status_code == 404
    assert client.get("/api/snoozes/s99").status_code == 404


def test_delete_takes_the_user_from_the_query_when_there_is_no_body(client, redis, alerts):
    assert snooze(client, matchers=["host=db-01"]).status_code == 201
    answer = client.delete("/api/snoozes/1?user=carol&reason=done")
    assert answer.status_code == 200 and answer.json["ended_by"] == "carol"


def test_a_user_without_permission_gets_403_and_an_audit_entry(client, redis, alerts):
    answer = snooze(client, user="dave", matchers=["host=db-01"])
    assert answer.status_code == 403
    assert answer.json == {"error": "`snooze` is for carol, oncall; dave is not one of them.", "status": 403,
                           "rule": "permissions.yml#3"}
    assert brain.active_snoozes(redis, 0) == []
    (refused,) = audit(redis, event="command")
    assert (refused["who"], refused["channel"], refused["outcome"], refused["rule"]) == (
        "dave", "api", "refused", "permissions.yml#3")

    stranger = snooze(client, user="mallory", matchers=["host=db-01"])
    assert stranger.status_code == 403 and stranger.json["rule"] == "people.yml"


def test_permissions_by_environment_and_room_apply_to_the_api(client, redis, alerts):
    # production snoozes: oncall only, from #ops only (permissions.yml#4); the API has no room
    # unless the request names one
    body = {"matchers": ["host=web-01"], "reason": "deploy"}
    nowhere = snooze(client, **body)
    assert nowhere.status_code == 403
    assert nowhere.json["error"] == "`snooze` with env=production may be run only in #ops, not in the API."
    assert snooze(client, user="carol", room="#ops", **body).status_code == 403
    assert snooze(client, room="#ops", **body).status_code == 201

    # ending it: production unsnoozes are for oncall (permissions.yml#5), so not carol
    refused = client.delete("/api/snoozes/s1", json={"user": "carol"})
    assert refused.status_code == 403 and refused.json["rule"] == "permissions.yml#5"
    assert [s["id"] for s in brain.active_snoozes(redis, 0)] == ["s1"]
    assert audit(redis, event="command", command="unsnooze")[-1]["outcome"] == "refused"


@pytest.mark.parametrize("body, message", [
    ({"matchers": ["source=nagios"], "room": "#ops"}, "`source=nagios` names no label, so it could silence every alert of its "
                                      "kind. Right now it matches 5 firing alerts: "),
    ({"matchers": ["service=~.*(HTTP|Space|Memory)"], "reason": "x", "room": "#ops"},
     "would silence 5 firing alerts, more than the limit of 3."),
    ({"matchers": ["host=db-01"], "duration": "8d"}, "snoozes last at most 7d; `8d` is 8d."),
    ({"matchers": ["host=web-01"], "room": "#ops", "duration": "2d", "reason": "x"},
     "production snoozes last at most 1d"),
    ({"matchers": ["host=web-01"], "room": "#ops"},
     'snoozing production alerts needs a reason: add "reason" to the request. Right now it matches 1 firing '
     "alert: web-01/HTTP."),
])
def test_guardrails_refuse_with_422_and_the_preview(client, redis, alerts, body, message):
    answer = snooze(client, **body)
    assert answer.status_code == 422, answer.json
    assert message in answer.json["error"] and answer.json["rule"] == "suppression.yml guardrails"
    assert brain.active_snoozes(redis, 0) == []
    assert audit(redis, event="command")[-1]["outcome"] == "refused"


def test_ends_at_is_an_alternative_to_duration(client, redis, alerts):
    with freeze_time(T0):
        answer = client.post("/api/snoozes", json={"user": "alice", "matchers": ["host=db-01"],
                                                   "ends_at": "2026-03-04T11:30:00+01:00"})
    assert answer.status_code == 201, answer.json
    assert answer.json["ends_at"] == "2026-03-04T10:30:00.000Z"


@pytest.mark.parametrize("body, problem", [
    ({"matchers": ["host=db-01"], "duration": "2h"}, "user: Missing data for required field."),
    ({"user": "alice", "duration": "2h"}, 'give either "matchers" or "alert"'),
    ({"user": "alice", "matchers": ["host=db-01"], "alert": "x", "duration": "2h"}, 'give either "matchers"'),
    ({"user": "alice", "matchers": ["host=db-01"]}, 'give either "duration" or "ends_at"'),
    ({"user": "alice", "matchers": "host=db-01", "duration": "2h"}, "matchers: Not a valid list."),
    ({"user": "alice", "matchers": [], "duration": "2h"}, "matchers:"),
    ({"user": "alice", "matchers": ["host=db-01"], "duration": "2h", "silly": 1}, "silly: Unknown field."),
    ({"user": "alice", "matchers": ["host=db-01"], "ends_at": "2026-03-04T11:30:00"}, "ends_at: Not a valid aware"),
    ({"user": "alice", "matchers": ["host=db-01"], "ends_at": "2020-01-01T00:00:00Z"}, "ends_at: 2020-01-01T00:00"
                                                                                       ":00.000Z is in the past"),
    ({"user": "alice", "matchers": ["host=db-01"], "duration": "forever"}, 'duration: "forever" is not a duration'),
    ({"user": "alice", "matchers": ["web-01"], "duration": "2h"}, 'matchers: "web-01" is not a matcher'),
    ({"user": "alice", "matchers": ["host=~(web"], "duration": "2h"}, '"host=~(web": bad regex'),
    ({"user": "alice", "alert": "nothing-like-it", "duration": "2h"}, "No alert `nothing-like-it` is known"),
    ([], "body: expected a JSON object"),
])
def test_bad_input_is_400_naming_the_problem(client, redis, alerts, body, problem):
    answer = client.post("/api/snoozes", json=body)
    assert answer.status_code == 400, answer.json
    assert problem in answer.json["error"] and "Traceback" not in answer.get_data(as_text=True)
    assert brain.active_snoozes(redis, 0) == []


def test_not_json_is_400(client, alerts):
    answer = client.post("/api/snoozes", data="user=alice", content_type="application/x-www-form-urlencoded")
    assert answer.status_code == 400 and answer.json["error"] == "body: expected a JSON object"


def test_the_admin_token_authenticates_the_caller_it_does_not_grant_permissions(config, redis, alerts):
    client = create_app(config.with_(admin_token="s3cret")).test_client()
    body = {"user": "dave", "matchers": ["host=db-01"], "duration": "1h"}
    assert client.post("/api/snoozes", json=body).status_code == 401
    assert client.get("/api/snoozes").status_code == 401
    token = {"Authorization": "Bearer s3cret"}
    assert client.post("/api/snoozes", json=body, headers=token).status_code == 403
    assert client.post("/api/snoozes", json={**body, "user": "U01BOB"}, headers=token).status_code == 201
    assert brain.active_snoozes(redis, 0)[0]["created_by"] == "bob"   # a Slack id names the person


def test_list_states_and_limit(client, redis, alerts, run_jobs):
    for host in ("db-01", "db-02", "cache-01"):
        assert snooze(client, matchers=[f"host={host}"]).status_code == 201
    client.delete("/api/snoozes/s2", json={"user": "alice"})
    run_jobs()   # the end job retires it into the history
    assert [s["id"] for s in client.get("/api/snoozes").json["snoozes"]] == ["s1", "s3"]
    assert [s["id"] for s in client.get("/api/snoozes?state=all").json["snoozes"]] == ["s1", "s3", "s2"]
    assert [s["state"] for s in client.get("/api/snoozes?state=ended").json["snoozes"]] == ["ended"]
    assert client.get("/api/snoozes?limit=1").json["count"] == 1
    assert client.get("/api/snoozes?state=gone").status_code == 400
    assert client.get("/api/snoozes?limit=0").status_code == 400
