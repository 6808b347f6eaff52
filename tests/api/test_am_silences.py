"""Alertmanager API v2 silences are Sparky's snoozes: made, listed and expired through the `snooze` and
`unsnooze` commands' own checks (permissions.yml for `createdBy`, the suppression guardrails) and
audit, answered in Alertmanager's shapes (valid against its spec) and words.

The rules are tests/commands/conftest.py's: snooze for oncall (alice, bob) and carol; production
snoozes only for oncall and with a reason, at most 24h; at most 3 firing alerts; a matcher must
name a label. The alerts are its five Nagios checks (tests/api/conftest.py `alerts`).
"""
from __future__ import annotations

import time

import pytest

from router.core import brain
from router.core.times import from_epoch
from tests.api.amspec import Spec
from tests.api.conftest import audit
from tests.commands.conftest import PEOPLE, PERMISSIONS, use_rules, write_rules

SPEC = Spec()
FIRST = "00000000-0000-4000-8000-000000000001"


def matcher(name: str, value: str, regex: bool = False, equal: bool = True) -> dict:
    return {"name": name, "value": value, "isRegex": regex, "isEqual": equal}


def silence(client, *matchers: dict, hours: float = 2, by: str = "alice", comment: str = "maintenance", **more):
    now = time.time()
    body = {"matchers": list(matchers) or [matcher("host", "db-01")], "startsAt": from_epoch(now),
            "endsAt": from_epoch(now + hours * 3600), "createdBy": by, "comment": comment, **more}
    answer = client.post("/api/v2/silences", json=body)
    SPEC.check("POST", "/api/v2/silences", answer)
    return answer


@pytest.fixture
def anywhere(redis, rules_dir, alerts):
    """The same permissions, except that production snoozes are not tied to #ops: a silence is
    made from no room (permissions.yml `rooms:` entries refuse it, see the refusals below)."""
    write_rules(rules_dir, permissions_yml=PERMISSIONS.replace('    rooms: ["#ops"]\n', ""))
    use_rules(redis, rules_dir)


def listed(client, query: str = "") -> list[dict]:
    answer = client.get("/api/v2/silences" + query)
    assert answer.status_code == 200, answer.json
    return SPEC.check("GET", "/api/v2/silences", answer)


def test_a_silence_is_a_snooze_made_as_createdBy_and_audited_as_the_command(client, redis, alerts):
    answer = silence(client, matcher("host", "db-0[12]", regex=True), comment="disk cleanup")
    assert answer.status_code == 200 and answer.json == {"silenceID": FIRST}

    (snooze,) = brain.active_snoozes(redis, time.time())        # what the rules engine reads
    assert (snooze["id"], snooze["created_by"], snooze["reason"], snooze["channel"], snooze["envs"]) == (
        "s1", "alice", "disk cleanup", "api", ["staging"])
    assert snooze["matchers"] == [{"name": "host", "op": "=~", "value": "db-0[12]"}]
    (created,) = audit(redis, event="snooze.created")
    assert (created["who"], created["snooze"], created["matched"]) == ("alice", "s1", "2")
    (command,) = audit(redis, event="command")
    assert (command["command"], command["outcome"]) == ("snooze", "ok")
    assert command["what"].startswith("snooze host=~db-0[12] until ") and "(Alertmanager API)" in command["what"]

    (shown,) = listed(client)
    assert shown["id"] == FIRST and shown["status"] == {"state": "active"}
    assert shown["matchers"] == [matcher("host", "db-0[12]", regex=True)]
    assert (shown["createdBy"], shown["comment"]) == ("alice", "disk cleanup")
    assert shown["endsAt"] == from_epoch(snooze["ends_at"])
    assert SPEC.check("GET", f"/api/v2/silence/{FIRST}", client.get(f"/api/v2/silence/{FIRST}")) == shown
    assert client.get("/api/v2/silence/s1").json == shown                 # amtool sends ids as typed
    # and it is the snooze `/api/snoozes` and chat show
    assert client.get("/api/snoozes/s1").json["reason"] == "disk cleanup"


@pytest.mark.parametrize("who", ["bob", "bob-gh", "bob@example.com", "U01BOB"])
def test_createdBy_is_found_in_people_yml_by_name_login_email_or_slack_id(client, redis, rules_dir, alerts, who):
    write_rules(rules_dir, people_yml=PEOPLE.replace("bob:   {slack: U01BOB, github: bob-gh}",
                                                     "bob:   {slack: U01BOB, github: bob-gh, email: bob@example.com}"))
    use_rules(redis, rules_dir)
    assert silence(client, by=who).status_code == 200
    assert listed(client)[0]["createdBy"] == "bob"


@pytest.mark.parametrize("body, message", [
    (dict(by="mallory"), "I don't know you (mallory): ask an admin to add you to people.yml."),
    (dict(by="dave"), "`snooze` is for carol, oncall; dave is not one of them."),
    (dict(matchers=[matcher("env", "production")], hours=1, comment="deploy"),
     "`snooze` with env=production may be run only in #ops, not in the API."),
    (dict(hours=24 * 8), "snoozes last at most 7d; "),
    (dict(matchers=[matcher("severity", "critical")]), "names no label"),
])
def test_a_refusal_is_a_400_whose_string_amtool_prints(client, redis, alerts, body, message):
    answer = silence(client, *body.pop("matchers", []), **body)
    assert answer.status_code == 400 and isinstance(answer.json, str)
    assert message in answer.json, answer.json
    assert brain.active_snoozes(redis, time.time()) == []
    assert audit(redis, event="command")[-1]["outcome"] == "refused"


@pytest.mark.parametrize("body, message", [
    (dict(hours=25, comment="deploy"), "production snoozes last at most 1d"),
    (dict(hours=1, comment=""), "snoozing production alerts needs a reason: give the silence a comment"),
    (dict(matchers=[matcher("service", "HTTP|Disk Space|Memory", regex=True)], hours=1, comment="all"),
     "would silence 5 firing alerts, more than the limit of 3"),
])
def test_the_guardrails_of_the_environment_apply(client, redis, anywhere, body, message):
    given = body.pop("matchers", [matcher("env", "production"), matcher("host", "web-01")])
    answer = silence(client, *given, **body)
    assert answer.status_code == 400 and message in answer.json, answer.json


@pytest.mark.parametrize("change, message", [
    (dict(matchers=[matcher("host", "")]), "silence invalid: at least one matcher must not match the empty string"),
    (dict(matchers=[]), "matchers: Length must be between 1 and 20."),
    (dict(matchers=[{"name": "host", "value": "x"}]), "matchers: {0: {'isRegex': ['Missing data for required"),
    (dict(matchers=[matcher("bad-name", "x")]), 'matchers[0].name: "bad-name" is not a label name'),
    (dict(createdBy=""), "createdBy: Length must be between 1 and 100."),
    (dict(comment=None), "comment: Field may not be null."),
    (dict(endsAt="tomorrow"), "endsAt: 'tomorrow' is not an RFC 3339 time"),
    (dict(endsAt=from_epoch(1)), "Failed to create silence: start time must be before end time"),
    (dict(startsAt=from_epoch(1), endsAt=from_epoch(2)), "Failed to create silence: end time can't be in the past"),
    (dict(startsAt="2999-01-01T00:00:00Z", endsAt="2999-01-02T00:00:00Z"), "pending silences are not supported"),
])
def test_what_alertmanager_would_refuse_is_refused_in_its_words(client, redis, alerts, change, message):
    now = time.time()
    body = {"matchers": [matcher("host", "db-01")], "startsAt": from_epoch(now), "endsAt": from_epoch(now + 60),
            "createdBy": "alice", "comment": "x", **change}
    answer = client.post("/api/v2/silences", json=body)
    assert answer.status_code == 400 and message in SPEC.check("POST", "/api/v2/silences", answer), answer.json
    assert brain.active_snoozes(redis, now) == []


def test_go_zero_time_and_a_past_start_mean_now(client, redis, alerts):
    now = time.time()
    for starts in ("0001-01-01T00:00:00Z", from_epoch(now - 3600)):
        answer = client.post("/api/v2/silences", json={
            "matchers": [matcher("host", "db-01")], "startsAt": starts, "endsAt": from_epoch(now + 60),
            "createdBy": "alice", "comment": ""})
        assert answer.status_code == 200, answer.json
    assert all(s["startsAt"] >= from_epoch(now - 1) for s in listed(client))


def test_expire_ends_the_snooze_as_unsnooze_and_it_stays_listed_as_expired(client, redis, alerts, run_jobs):
    assert silence(client).status_code == 200
    answer = client.delete(f"/api/v2/silence/{FIRST}")
    assert answer.status_code == 200 and answer.get_data() == b""
    SPEC.check("DELETE", f"/api/v2/silence/{FIRST}", answer)
    assert brain.active_snoozes(redis, time.time()) == []
    (ended,) = audit(redis, event="command", command="unsnooze")
    assert (ended["who"], ended["outcome"]) == ("alice", "ok")              # as its creator, by default
    assert "expired through the Alertmanager API" in ended["what"]
    run_jobs()                                                               # the end job retires it
    (shown,) = listed(client)
    assert shown["status"] == {"state": "expired"} and shown["endsAt"] <= from_epoch(time.time())
    # expiring it again is fine, as in Alertmanager; an unknown silence is not
    assert client.delete(f"/api/v2/silence/{FIRST}").status_code == 200
    unknown = client.delete("/api/v2/silence/00000000-0000-4000-8000-000000000042")
    assert (unknown.status_code, unknown.json) == (404, "silence not found")
    assert client.get("/api/v2/silence/not-a-silence").status_code == 404


def test_expire_as_another_person_is_their_unsnooze_and_may_be_refused(client, redis, anywhere):
    assert silence(client, matcher("env", "production"), matcher("host", "web-01"), hours=1).status_code == 200
    refused = client.delete(f"/api/v2/silence/{FIRST}?user=carol")     # carol may not unsnooze production
    assert refused.status_code == 403 and "carol is not one of them" in refused.json
    assert len(brain.active_snoozes(redis, time.time())) == 1
    assert client.delete(f"/api/v2/silence/{FIRST}?user=bob").status_code == 200
    assert audit(redis, event="snooze.deleted")[-1]["who"] == "bob"


def test_filters_find_silences_that_have_the_same_matcher(client, alerts):
    assert silence(client, matcher("host", "db-0[12]", regex=True), matcher("service", "Disk Space")).status_code == 200
    assert silence(client, matcher("host", "cache-01")).status_code == 200
    assert [s["id"][-1] for s in listed(client, "?filter=host%3D~%22db-0%5B12%5D%22")] == ["1"]
    assert [s["id"][-1] for s in listed(client, "?filter=service%3D%22Disk+Space%22")] == ["1"]
    assert listed(client, "?filter=host%3Ddb-01") == []                  # not a label test: no such matcher
    assert len(listed(client)) == 2
    bad = client.get("/api/v2/silences?filter=%3D%3D")
    assert (bad.status_code, bad.json) == (400, "bad matcher format: ==")


def test_posting_a_known_silence_again_keeps_it_and_a_change_replaces_it(client, redis, alerts, run_jobs):
    assert silence(client, comment="first").status_code == 200
    original = listed(client)[0]
    body = {k: original[k] for k in ("id", "matchers", "startsAt", "endsAt", "createdBy", "comment")}
    body["status"], body["updatedAt"] = original["status"], original["updatedAt"]   # `-o json` output has them
    again = client.post("/api/v2/silences", json=body)
    assert again.json == {"silenceID": FIRST} and len(brain.active_snoozes(redis, time.time())) == 1

    changed = client.post("/api/v2/silences", json={**body, "comment": "longer", "endsAt": from_epoch(time.time()
                                                                                                        + 5 * 3600)})
    assert changed.status_code == 200 and changed.json == {"silenceID": "00000000-0000-4000-8000-000000000002"}
    (active,) = brain.active_snoozes(redis, time.time())
    assert (active["id"], active["reason"]) == ("s2", "longer")
    (replaced,) = audit(redis, event="snooze.deleted")
    assert (replaced["snooze"], replaced["reason"]) == ("s1", "replaced by s2 (Alertmanager API)")
    run_jobs()
    assert [(s["id"][-1], s["status"]["state"]) for s in listed(client)] == [("2", "active"), ("1", "expired")]

    # an unknown id is a 404 (amtool's import then posts it again without one)
    unknown = client.post("/api/v2/silences", json={**body, "id": "c1001992-f6e9-415d-b28f-684b6c967adb"})
    assert (unknown.status_code, unknown.json) == (404, "silence not found")
    SPEC.check("POST", "/api/v2/silences", unknown)


def test_a_replacement_the_person_could_not_finish_changes_nothing(client, redis, anywhere):
    assert silence(client, matcher("env", "production"), matcher("host", "web-01"), hours=1,
                   by="bob").status_code == 200
    body = {**listed(client)[0], "createdBy": "carol", "comment": "mine now"}
    refused = client.post("/api/v2/silences", json=body)
    assert refused.status_code == 400 and "replacing snooze s1 ends it" in refused.json
    assert [s["id"] for s in brain.active_snoozes(redis, time.time())] == ["s1"]
