"""`/api/deploys`: deploy requests asked for, approved and denied over HTTP go through the `deploy`,
`approve` and `deny` commands' own functions — permissions.yml by env and app, the request's own
rules (the requester's approval does not count), the deploy ruleset — and are audited like them.

The rules are tests/deploys/conftest.py's: production needs 2 approvals from deployers (alice, bob,
carol, erin); interns (dave) may deploy to staging only; staging goes at once for deployers.
"""
from __future__ import annotations

import pytest

from tests.api.conftest import audit
from tests.deploys import conftest as deploy
from tests.deploys.conftest import SHA

# The deploy tests' fixtures, in place of tests/api/conftest.py's chat ones (a module's own win).
rules_dir, env, config, jenkins, github, response_url, sparky = (
    deploy.rules_dir, deploy.env, deploy.config, deploy.jenkins, deploy.github, deploy.response_url, deploy.sparky)

ADMIN = "Bearer d3ploy"


def ask(client, run_jobs, user: str = "alice", to: str = "production", **more):
    answer = client.post("/api/deploys", json={"user": user, "app": "web-api", "env": to, **more})
    run_jobs()
    return answer


def approve(client, run_jobs, request_id: str, user: str, **more):
    answer = client.post(f"/api/deploys/{request_id}/approve", json={"user": user, **more})
    run_jobs()
    return answer


def test_ask_approve_and_deploy_over_http(client, redis, sparky, run_jobs, jenkins):
    sparky.ci(SHA)
    answer = ask(client, run_jobs, room="#deploys")
    assert answer.status_code == 201, answer.json
    made = answer.json
    rid = made["id"]
    assert answer.headers["Location"] == f"/api/deploys/{rid}"
    assert (made["app"], made["env"], made["ref"], made["sha"], made["requester"], made["rooms"]) == (
        "web-api", "production", "main", SHA, "alice", ["#deploys"])

    # the ruleset's verdict, carried out by the deploy action on a worker
    waiting = client.get(f"/api/deploys/{rid}").json
    assert (waiting["state"], waiting["rule"], waiting["waiting_for"]) == (
        "waiting", "production", ["2 more approvals from deployers"])
    assert sparky.said()[-1].endswith("waits for 2 more approvals from deployers. Asked by alice (their own "
                                      "approval does not count).")

    # the requester's own approval does not count: 403, audited, nothing recorded
    own = approve(client, run_jobs, rid, "alice")
    assert own.status_code == 403
    assert own.json["error"].startswith(f"You asked for `{rid}`: your own approval does not count.")
    assert client.get(f"/api/deploys/{rid}").json["approvals"] == []
    refused = audit(redis, event="command", command="approve")[-1]
    assert (refused["who"], refused["channel"], refused["outcome"]) == ("alice", "api", "refused")

    # not an approver (interns): 403
    assert approve(client, run_jobs, rid, "dave").json["error"] == (
        f"`{rid}` needs approvals from deployers; dave is not one of them.")

    first = approve(client, run_jobs, rid, "bob")
    assert first.status_code == 200, first.json
    assert first.json["message"] == (f"bob approved `{rid}` web-api main@a1b2c3d → production. "
                                     "Still needed: 1 more approval from deployers (so far: bob).")
    assert first.json["deploy"]["approved_by"] == ["bob"]
    assert first.json["deploy"]["approvals"][0]["by"] == "bob"
    assert approve(client, run_jobs, rid, "carol").status_code == 200
    done = client.get(f"/api/deploys/{rid}").json
    assert done["state"] == "deploying" and done["approved_by"] == ["bob", "carol"]
    assert jenkins.builds[0]["params"]["SHA"] == SHA

    # audited as the chat commands are, plus the deploy events
    approved = [e for e in audit(redis, event="deploy.approved")]
    assert [(e["who"], e["request"]) for e in approved] == [("bob", rid), ("carol", rid)]
    (requested,) = audit(redis, event="deploy.requested")
    assert (requested["who"], requested["room"]) == ("alice", "#deploys")
    commands = audit(redis, event="command", channel="api", outcome="ok")
    assert [e["what"] for e in commands] == ["deploy web-api to production", f"approve {rid}", f"approve {rid}"]

    # approving it now: it is deploying, nothing to approve
    late = approve(client, run_jobs, rid, "erin")
    assert late.status_code == 409 and "deploying already" in late.json["error"]


def test_permissions_by_environment_apply_to_the_api(client, redis, sparky, run_jobs):
    sparky.ci(SHA)
    refused = ask(client, run_jobs, user="dave")
    assert refused.status_code == 403
    assert refused.json["rule"] == "permissions.yml#3" and "dave is not one of them" in refused.json["error"]
    assert client.get("/api/deploys").json == {"deploys": [], "count": 0}
    (entry,) = audit(redis, event="command")
    assert (entry["who"], entry["channel"], entry["outcome"], entry["command"]) == ("dave", "api", "refused", "deploy")
    # staging is allowed for interns
    assert ask(client, run_jobs, user="dave", to="staging").status_code == 201


def test_a_request_the_rules_refuse_is_created_and_says_why(client, sparky, run_jobs):
    sparky.ci(SHA, state="failure")
    answer = ask(client, run_jobs, to="staging")
    assert answer.status_code == 201
    found = client.get(f"/api/deploys/{answer.json['id']}").json
    assert (found["state"], found["rule"], found["reason"]) == ("refused", "ci-red", "CI is red for a1b2c3d: ci/jenkins")
    # approvals cannot change a refusal
    late = approve(client, run_jobs, found["id"], "bob")
    assert late.status_code == 409 and "Approvals cannot change that" in late.json["error"]


def test_deny_and_withdraw(client, redis, sparky, run_jobs):
    sparky.ci(SHA)
    rid = ask(client, run_jobs).json["id"]
    answer = client.post(f"/api/deploys/{rid}/deny", json={"user": "alice", "reason": "wrong day"})
    assert answer.status_code == 200, answer.json
    assert answer.json["message"] == f"alice withdrew `{rid}` web-api main@a1b2c3d → production: wrong day."
    assert (answer.json["deploy"]["state"], answer.json["deploy"]["decided_by"]) == ("denied", "alice")
    (denied,) = audit(redis, event="deploy.denied")
    assert (denied["who"], denied["reason"]) == ("alice", "wrong day")


def test_list_and_filters(client, sparky, run_jobs):
    sparky.ci(SHA)
    staging = ask(client, run_jobs, to="staging").json["id"]
    production = ask(client, run_jobs).json["id"]
    assert [d["id"] for d in client.get("/api/deploys").json["deploys"]] == [production, staging]
    assert [d["id"] for d in client.get("/api/deploys?state=waiting").json["deploys"]] == [production]
    assert [d["id"] for d in client.get("/api/deploys?state=deploying").json["deploys"]] == [staging]
    assert [d["id"] for d in client.get("/api/deploys?app=web-api&limit=1").json["deploys"]] == [production]
    assert client.get("/api/deploys?app=web-ui").json["count"] == 0
    assert client.get("/api/deploys?state=sideways").status_code == 400


@pytest.mark.parametrize("body, status, problem", [
    ({"app": "web-api", "env": "production"}, 400, "user: Missing data for required field."),
    ({"user": "alice", "env": "production"}, 400, "app: Missing data for required field."),
    ({"user": "alice", "app": "web-api", "env": "production", "sha": "x"}, 400, "sha: Unknown field."),
    ({"user": "alice", "app": "mobile", "env": "production"}, 400, "deploy.yml has no app `mobile` (known: web-api, "
                                                                   "web-ui)."),
    ({"user": "alice", "app": "web-api", "env": "qa"}, 400, "web-api deploys to staging, production, not `qa`."),
    ({"user": "alice", "app": "web-api", "env": "staging", "ref": "no-such-branch"}, 502,
     "Cannot tell which commit to deploy"),
    ({"user": "nobody", "app": "web-api", "env": "staging"}, 403, "I don't know you (nobody)"),
])
def test_bad_requests(client, env, body, status, problem):
    answer = client.post("/api/deploys", json=body)
    assert answer.status_code == status, answer.json
    assert problem in answer.json["error"] and "Traceback" not in answer.get_data(as_text=True)


def test_unknown_ids_are_404(client, env):
    assert client.get("/api/deploys/dp-nothere").status_code == 404
    answer = client.post("/api/deploys/dp-nothere/approve", json={"user": "bob"})
    assert answer.status_code == 404 and answer.json["error"] == (
        "There is no deploy request `dp-nothere` (`deploys` lists them).")
    assert client.post("/api/deploys/dp-nothere/deny", json={"user": "bob"}).status_code == 404
    assert client.post("/api/deploys/dp-nothere/approve", json={}).status_code == 400


def test_the_admin_token_does_not_bypass_permissions(config, redis, sparky, run_jobs):
    from router.app import create_app

    sparky.ci(SHA)
    client = create_app(config.with_(admin_token="d3ploy")).test_client()
    body = {"user": "dave", "app": "web-api", "env": "production"}
    assert client.post("/api/deploys", json=body).status_code == 401
    assert client.post("/api/deploys", json=body, headers={"Authorization": ADMIN}).status_code == 403
