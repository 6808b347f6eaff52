"""Approvals (who, how many, how long they count, a new commit voids them), denials and bypass."""
from __future__ import annotations

import datetime as dt

from freezegun import freeze_time

from tests.deploys.conftest import SHA, SHA2

T0 = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.timezone.utc)   # a Tuesday: no freeze


def ask_production(sparky, user: str = "alice") -> str:
    sparky.ci(SHA)
    sparky.say(user, "deploy web-api to production")
    request = sparky.latest()
    assert request["state"] == "waiting"
    return request["id"]


def test_approvals_expire(sparky, jenkins):
    with freeze_time(T0, tick=True):
        rid = ask_production(sparky)
        sparky.say("bob", f"approve {rid}")
    with freeze_time(T0 + dt.timedelta(hours=4, minutes=1), tick=True):
        # bob's approval is older than the rule's `expire: 4h`: carol's alone is not enough.
        assert sparky.say("carol", f"approve {rid}").endswith(
            "Still needed: 1 more approval from deployers (so far: carol).")
        assert sparky.request(rid)["state"] == "waiting" and jenkins.builds == []
        # Renewing it counts again.
        assert sparky.say("bob", f"approve {rid}") == f"bob approved `{rid}` web-api main@a1b2c3d → production."
    assert sparky.request(rid)["state"] == "deploying" and len(jenkins.builds) == 1


def test_a_new_commit_on_the_ref_voids_the_approvals(sparky, jenkins):
    rid = ask_production(sparky)
    sparky.say("bob", f"approve {rid}")
    sparky.push(SHA2)
    request = sparky.request(rid)
    assert (request["sha"], request["approvals"]) == (SHA2, [])
    assert sparky.said()[1] == (f"`{rid}` web-api main@fedcba9 → production: new commit on main (a1b2c3d → fedcba9), "
                                f"so it now deploys fedcba9; 1 approval voided.")
    assert sparky.said()[-1].endswith("waits for CI to pass on fedcba9. Asked by alice.")
    sparky.ci(SHA2)
    assert sparky.said()[-1].endswith("waits for 2 more approvals from deployers. Asked by alice (their own approval "
                                      "does not count).")
    sparky.say("bob", f"approve {rid}")
    sparky.say("carol", f"approve {rid}")
    assert jenkins.builds[0]["params"]["SHA"] == SHA2
    voided = [e for e in sparky.audit() if e["event"] == "deploy.approvals_voided"]
    assert [(e["old_sha"], e["sha"], e["voided"]) for e in voided] == [(SHA, SHA2, "1")]


def test_who_may_approve_and_deny(sparky):
    rid = ask_production(sparky)
    assert sparky.say("dave", f"approve {rid}") == (
        f"Refused: `{rid}` needs approvals from deployers; dave is not one of them.")
    assert sparky.say("bob", "approve").startswith(f"Waiting for your decision:\n`{rid}` web-api main@a1b2c3d → "
                                                   f"production (asked by alice): waits for 2 more approvals")
    sparky.say("bob", f"approve {rid}")
    assert sparky.say("bob", f"approve {rid}") == f"You approved `{rid}` already."
    assert sparky.say("dave", f"deny {rid}").startswith(f"Refused: `{rid}` can be denied by alice (who asked)")
    assert sparky.say("carol", f"deny {rid} not during the sale") == (
        f"carol denied `{rid}` web-api main@a1b2c3d → production: not during the sale.")
    assert sparky.said()[-1] == f"@alice `{rid}` web-api main@a1b2c3d → production denied by carol: not during the sale."
    assert sparky.say("erin", f"approve {rid}") == f"Refused: `{rid}` is denied: nothing to approve."
    (entry,) = [e for e in sparky.audit() if e["event"] == "deploy.denied"]
    assert (entry["who"], entry["reason"]) == ("carol", "not during the sale")


def test_the_requester_may_withdraw(sparky):
    rid = ask_production(sparky)
    assert sparky.say("alice", f"deny {rid}") == f"alice withdrew `{rid}` web-api main@a1b2c3d → production."


def test_bypass_by_an_allowed_role_is_announced_and_audited(sparky, jenkins):
    sparky.ci(SHA, "failure")
    sparky.say("alice", "deploy web-api to staging")
    rid = sparky.latest()["id"]
    assert sparky.latest()["state"] == "refused"
    assert sparky.say("bob", f"bypass {rid} because hotfix") == (
        "Refused: `bypass` is for admins; bob is not one of them (deploy.yml `bypass`).")
    assert sparky.say("erin", f"bypass {rid}") == (
        "Refused: Say why: `bypass <id> because <reason>`; the reason is announced and kept in the audit trail.")
    assert jenkins.builds == []

    assert sparky.say("erin", f"bypass {rid} because checkout is down, CI infra too") == (
        f"erin bypassed the gates of `{rid}` web-api main@a1b2c3d → staging because checkout is down, CI infra too; "
        f"starting it now.")
    bypassed = next(t for t in sparky.said() if "BYPASS" in t)
    assert bypassed == (f"@alice BYPASS: erin overrides the deploy gates for `{rid}` web-api main@a1b2c3d → staging "
                        f"(it was refused by rule `ci-red`: CI is red for a1b2c3d: ci/jenkins) because checkout is down, "
                        f"CI infra too.")
    assert sparky.request(rid)["state"] == "deploying" and len(jenkins.builds) == 1
    (entry,) = [e for e in sparky.audit() if e["event"] == "deploy.bypassed"]
    assert (entry["who"], entry["reason"], entry["rule"]) == ("erin", "checkout is down, CI infra too", "ci-red")
    (started,) = [e for e in sparky.audit() if e["event"] == "deploy.started"]
    assert (started["rule"], started["bypass"]) == ("bypass", "yes")


def test_bypass_does_not_override_a_lock(sparky, jenkins):
    sparky.ci(SHA, "failure")
    sparky.say("alice", "deploy web-api to staging")
    rid = sparky.latest()["id"]
    sparky.say("bob", "lock staging load test")
    sparky.say("erin", f"bypass {rid} because hotfix")
    assert sparky.said()[-1] == (f"`{rid}` web-api main@a1b2c3d → staging cannot start: staging is locked by bob: "
                                 f"load test")
    assert jenkins.builds == [] and sparky.request(rid)["state"] == "refused"
