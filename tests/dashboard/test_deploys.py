"""Pending deploys on `/` with Approve and Deny: the buttons act for the "You are" name through the
`approve` / `deny` commands' own functions, so permissions.yml, the request's rules and the audit
apply, and a refusal is shown with the API's status. Rules: tests/deploys/conftest.py's
(production needs 2 approvals from deployers; dave is an intern; the requester's approval does
not count)."""
from __future__ import annotations

import re

from tests.api.conftest import audit
from tests.dashboard.conftest import named, page, post, text_of
from tests.deploys import conftest as deploy
from tests.deploys.conftest import SHA

rules_dir, env, config, jenkins, github, response_url, sparky = (
    deploy.rules_dir, deploy.env, deploy.config, deploy.jenkins, deploy.github, deploy.response_url, deploy.sparky)


def ask(client, run_jobs, user: str = "alice", env: str = "production") -> str:
    answer = client.post("/api/deploys", json={"user": user, "app": "web-api", "env": env, "room": "#deploys"})
    assert answer.status_code == 201, answer.json
    run_jobs()
    return answer.json["id"]


def row(html: str, request_id: str) -> str:
    found = re.search(rf'<tr class="deploy[^"]*" id="deploy-{request_id}">(.*?)</tr>', html, re.S)
    assert found, html
    return text_of(found.group(1))


def test_approve_from_the_dashboard(client, redis, sparky, run_jobs, jenkins):
    sparky.ci(SHA)
    rid = ask(client, run_jobs)
    html = page(client.get("/"))
    assert row(html, rid) == (f"{rid} web-api main@a1b2c3d → production alice waiting: waits for 2 more "
                              "approvals from deployers none yet Approve Deny")
    assert f'action="/deploys/{rid}/approve"' in html and f'action="/deploys/{rid}/deny"' in html

    # the requester's own approval does not count: 403, shown on the page, audited like chat
    named(client, "alice")
    refused = post(client, f"/deploys/{rid}/approve")
    assert refused.status_code == 403
    assert f"You asked for {rid}: your own approval does not count." in text_of(page(refused))
    entry = audit(redis, event="command", command="approve")[-1]
    assert (entry["who"], entry["channel"], entry["outcome"]) == ("alice", "api", "refused")

    named(client, "dave")                                     # not among the approvers
    refused = post(client, f"/deploys/{rid}/approve")
    assert refused.status_code == 403
    assert f"{rid} needs approvals from deployers; dave is not one of them." in text_of(page(refused))

    named(client, "bob")
    answer = post(client, f"/deploys/{rid}/approve")
    assert (answer.status_code, answer.headers["Location"]) == (302, "/#deploys")
    html = page(client.get("/"))
    assert (f"bob approved {rid} web-api main@a1b2c3d → production. Still needed: 1 more approval from "
            "deployers (so far: bob).") in text_of(html)
    assert " bob Approve Deny" in row(html, rid)

    named(client, "carol")
    assert post(client, f"/deploys/{rid}/approve").status_code == 302
    run_jobs()
    html = page(client.get("/"))
    assert row(html, rid).startswith(f"{rid} web-api main@a1b2c3d → production alice deploying")
    assert "approved by bob, carol" in row(html, rid)
    assert jenkins.builds[0]["params"]["SHA"] == SHA
    assert [e["who"] for e in audit(redis, event="deploy.approved")] == ["bob", "carol"]

    # no longer pending: approving again is the API's 409
    again = post(client, f"/deploys/{rid}/approve")
    assert again.status_code == 409 and rid in text_of(page(again))


def test_deny_with_a_reason(client, redis, sparky, run_jobs):
    sparky.ci(SHA)
    rid = ask(client, run_jobs)
    named(client, "erin")
    assert post(client, f"/deploys/{rid}/deny", reason="not before the release").status_code == 302
    html = page(client.get("/"))
    assert "No deploy waits for approval." in text_of(html)
    assert row(html, rid) == f"{rid} web-api main@a1b2c3d → production alice denied not before the release by erin"
    (denied,) = audit(redis, event="deploy.denied")
    assert denied["who"] == "erin"


def test_refusals_before_anything_is_asked(client, redis, sparky, run_jobs):
    sparky.ci(SHA)
    rid = ask(client, run_jobs)
    named(client)                                             # nobody named yet
    answer = post(client, f"/deploys/{rid}/approve")
    assert answer.status_code == 400 and "Say who you are first" in text_of(page(answer))
    assert 'Fill in “You are” above to approve or deny as yourself.' in text_of(page(client.get("/")))
    named(client, "bob")
    answer = post(client, "/deploys/dp-nope/approve")
    assert answer.status_code == 404 and "dp-nope" in text_of(page(answer))
    assert client.get(f"/api/deploys/{rid}").json["approvals"] == []


def test_ask_for_a_deploy_from_the_page(client, redis, sparky, run_jobs):
    sparky.ci(SHA)
    named(client, "alice")
    answer = post(client, "/deploys", app="web-api", ref="", env="production", room="#deploys")
    assert (answer.status_code, answer.headers["Location"]) == (302, "/#deploys")
    run_jobs()
    (made,) = client.get("/api/deploys").json["deploys"]
    assert (made["requester"], made["env"], made["state"]) == ("alice", "production", "waiting")
    assert made["id"] in text_of(page(client.get("/")))
    (entry,) = audit(redis, event="command", command="deploy")
    assert (entry["who"], entry["channel"], entry["room"]) == ("alice", "api", "#deploys")
    # the command's own checks: an unknown app is its usage error, shown with 400
    refused = post(client, "/deploys", app="nope", env="production")
    assert refused.status_code == 400 and "nope" in text_of(page(refused))
    assert post(client, "/deploys", app="web api", env="production").status_code == 400
    named(client)
    assert post(client, "/deploys", app="web-api", env="production").status_code == 400
