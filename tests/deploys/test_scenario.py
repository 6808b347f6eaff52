"""A deploy from request to result, through real HTTP, a real RQ worker, the fake Jenkins and GitHub."""
from __future__ import annotations

import base64

from rq import Queue
from rq.registry import ScheduledJobRegistry

from router.core import brain
from router.jobs.queues import ACTIONS_QUEUE
from tests.deploys import fakes
from tests.deploys.conftest import SHA, UI_SHA


def test_production_deploy_waits_for_two_approvals_then_jenkins_deploys_it(sparky, jenkins, github, redis):
    sparky.ci(SHA, "success")

    reply = sparky.say("alice", "deploy web-api to production")
    request = sparky.latest()
    rid = request["id"]
    assert reply == f"alice asks to deploy `{rid}` web-api main@a1b2c3d → production; the deploy rules' answer follows."
    assert (request["ref"], request["sha"], request["requester"], request["room"]) == ("main", SHA, "alice", "#deploys")
    assert github.made("GET", "/repos/acme/web-api/commits/main")        # main resolved to a commit
    assert sparky.said() == [f"`{rid}` web-api main@a1b2c3d → production waits for 2 more approvals from "
                             f"deployers. Asked by alice (their own approval does not count)."]
    assert sparky.buttons() == [[f"approve {rid}", f"deny {rid}"]]

    # The requester cannot approve their own deploy.
    assert sparky.say("alice", f"approve {rid}") == (
        f"Refused: You asked for `{rid}`: your own approval does not count. Someone from deployers must approve it.")

    assert sparky.say("bob", f"approve {rid}") == (
        f"bob approved `{rid}` web-api main@a1b2c3d → production. Still needed: 1 more approval from deployers "
        f"(so far: bob).")
    assert jenkins.builds == [] and len(sparky.said()) == 1     # nothing new to say until it goes

    # The second approval comes from the Slack button on the message.
    assert sparky.click("U01CAROL", f"approve {rid}") == f"carol approved `{rid}` web-api main@a1b2c3d → production."
    assert jenkins.builds == [{"job": "deploy-web-api",
                               "params": {"ENV": "production", "SHA": SHA, "REQUESTED_BY": "alice"}}]
    (trigger,) = jenkins.made("POST", "/job/deploy-web-api/buildWithParameters")
    assert trigger["headers"]["Jenkins-Crumb"] == fakes.CRUMB
    assert trigger["headers"]["Authorization"] == "Basic " + base64.b64encode(
        f"{fakes.JENKINS_USER}:{fakes.JENKINS_TOKEN}".encode()).decode()
    assert sparky.said()[-1] == (f"`{rid}` web-api main@a1b2c3d → production: deploying. Asked by alice, "
                                 f"approved by bob, carol; Jenkins deploy-web-api queued.")
    assert redis.get(brain.key_deploy_lock("web-api", "production")) == rid.encode()
    assert redis.exists(brain.key_deploying("web-api"))             # the engine's `deploying` field sees it
    timeouts = ScheduledJobRegistry(ACTIONS_QUEUE, connection=redis).get_job_ids()
    assert f"sparky-deploy-timeout-{rid}" in timeouts

    # Jenkins reports back through its hook.
    sparky.jenkins("deploy-web-api", 57, "STARTED")
    assert sparky.said()[-1] == f"`{rid}` web-api main@a1b2c3d → production: Jenkins deploy-web-api #57 started."
    sparky.jenkins("deploy-web-api", 57, "COMPLETED", "SUCCESS")
    done = sparky.request(rid)
    assert done["state"] == "succeeded"
    assert sparky.said()[-1].startswith(f"@alice `{rid}` web-api main@a1b2c3d → production: deployed in ")
    assert sparky.said()[-1].endswith("production is free again.")
    assert not redis.exists(brain.key_deploy_lock("web-api", "production"))
    assert not redis.exists(brain.key_deploying("web-api"))
    sparky.jenkins("deploy-web-api", 57, "FINALIZED", "SUCCESS")     # the duplicate outcome changes nothing
    assert len([t for t in sparky.said() if "deployed in" in t]) == 1

    assert [(e["event"], e.get("who", "")) for e in sparky.audit()] == [
        ("deploy.requested", "alice"), ("deploy.waiting", ""), ("deploy.approved", "bob"),
        ("deploy.approved", "carol"), ("deploy.started", ""), ("deploy.succeeded", "")]
    refused = [e for e in sparky.audit("command") if e["outcome"] == "refused"]
    assert [(e["who"], e["what"]) for e in refused] == [("alice", f"approve {rid}")]
    assert "succeeded" in sparky.say("bob", "deploys web-api")


def test_staging_deploy_of_a_github_app_creates_a_deployment_and_follows_its_statuses(sparky, github, redis):
    sparky.ci(UI_SHA, "success", context="build", repo="acme/web-ui")
    sparky.say("bob", "deploy web-ui to staging")
    rid = sparky.latest()["id"]
    (created,) = github.deployments
    assert (created["repo"], created["ref"], created["environment"], created["auto_merge"],
            created["required_contexts"], created["payload"]["sparky_request"]) == (
        "acme/web-ui", UI_SHA, "staging", False, [], rid)
    assert github.made("GET", "/repos/acme/web-ui")                  # main came from the default branch
    assert "GitHub deployment 9000 to staging created" in sparky.said()[-1]

    sparky.deployment_status("acme/web-ui", "staging", UI_SHA, "in_progress")
    assert sparky.said()[-1].endswith("GitHub deployment to staging in progress.")
    sparky.deployment_status("acme/web-ui", "staging", UI_SHA, "failure")
    assert sparky.request(rid)["state"] == "failed"
    assert "deploy failed: GitHub deployment to staging failure. staging is free again." in sparky.said()[-1]
    assert not redis.exists(brain.key_deploy_lock("web-ui", "staging"))


def test_a_deploy_without_a_result_times_out_and_frees_the_environment(sparky, jenkins, redis):
    jenkins.crumbs_enabled = False      # CSRF protection off: the crumb issuer answers 404, no crumb is sent
    sparky.ci(SHA)
    sparky.say("bob", "deploy web-api to staging")
    rid = sparky.latest()["id"]
    assert sparky.request(rid)["state"] == "deploying"
    assert "Jenkins-Crumb" not in jenkins.made("POST", "/job/deploy-web-api/buildWithParameters")[0]["headers"]
    started = sparky.request(rid)["started"]
    sparky.run_scheduled_at(started + 10 * 60 + 2)
    assert sparky.request(rid)["state"] == "timed_out"
    assert "no result after 10m" in sparky.said()[-1] and sparky.said()[-1].endswith("staging is free again.")
    assert not redis.exists(brain.key_deploy_lock("web-api", "staging"))
    # A late result of the build changes nothing.
    sparky.jenkins("deploy-web-api", 3, "COMPLETED", "SUCCESS")
    assert sparky.request(rid)["state"] == "timed_out"
    assert Queue(ACTIONS_QUEUE, connection=redis).count == 0


def test_ci_running_makes_it_wait_and_green_ci_lets_it_go(sparky, jenkins):
    sparky.ci(SHA, "pending")
    sparky.say("bob", "deploy web-api to staging")
    rid = sparky.latest()["id"]
    assert sparky.said() == [f"`{rid}` web-api main@a1b2c3d → staging waits for CI to pass on a1b2c3d. Asked by bob."]
    assert sparky.buttons() == [[]]
    sparky.ci(SHA, "success")
    assert sparky.request(rid)["state"] == "deploying" and len(jenkins.builds) == 1


def test_a_tag_or_sha_can_be_named_and_a_missing_ref_is_explained(sparky, github):
    sparky.ci(fakes_sha := "fedcba9876543210fedcba9876543210fedcba98")
    sparky.say("bob", "deploy web-api/v1.4.2 to staging")
    assert (sparky.latest()["ref"], sparky.latest()["sha"]) == ("v1.4.2", fakes_sha)
    assert sparky.say("bob", "deploy web-api/nope to staging") == (
        "Refused: Cannot tell which commit to deploy: acme/web-api has no branch, tag or commit `nope`.")
    assert sparky.say("bob", "deploy shop to staging").startswith("Refused: deploy.yml has no app `shop`")
    assert sparky.say("bob", "deploy web-api to qa") == "Refused: web-api deploys to staging, production, not `qa`."
    assert sparky.say("bob", "deploy web-api").startswith("Say where to: `deploy <app>[/<ref>] to <env>`.")


def test_in_slack_the_waiting_message_carries_approve_and_deny_buttons(sparky, monkeypatch, response_url, client):
    import json
    import time

    from tests.commands.conftest import signed, slash_form
    from tests.fakeslack import TOKEN, FakeSlack

    slack = FakeSlack().start()
    try:
        for name, value in {"SLACK_BOT_TOKEN": TOKEN, "SLACK_API_URL": slack.url, "SPARKY_SLACK_RATE": "0"}.items():
            monkeypatch.setenv(name, value)
        sparky.ci(SHA)
        body = slash_form("deploy web-api to production", user="U01ALICE", channel="C05DEPLOYS",
                          channel_name="deploys", response_url=response_url.url)
        form = "application/x-www-form-urlencoded"
        assert client.post("/slack/commands", data=body, headers=signed(body, form, time.time())).status_code == 200
        sparky.run_jobs()
        rid = sparky.latest()["id"]
        assert response_url.bodies[-1]["response_type"] == "in_channel"
        (posted,) = slack.posts()
        assert posted["channel"] == "C05DEPLOYS" and "waits for 2 more approvals from deployers" in posted["text"]
        (buttons,) = [b for b in posted["blocks"] if b["type"] == "actions"]
        assert [(e["text"]["text"], e["value"], e.get("style")) for e in buttons["elements"]] == [
            ("Approve", f"approve {rid}", "primary"), ("Deny", f"deny {rid}", "danger")]
        assert json.dumps(posted["metadata"]).count(f"deploy/{rid}/wait-1/C05DEPLOYS") == 1
        assert sparky.click("U01BOB", f"approve {rid}") == (
            f"bob approved `{rid}` web-api main@a1b2c3d → production. Still needed: 1 more approval from "
            f"deployers (so far: bob).")
    finally:
        slack.stop()


def test_a_deploy_jenkins_refuses_fails_at_once_frees_the_environment_and_leaks_no_secret(sparky, monkeypatch, redis):
    monkeypatch.setenv("JENKINS_TOKEN", "wrong-token-0000-never-shown")
    sparky.ci(SHA)
    sparky.say("bob", "deploy web-api to staging")
    request = sparky.latest()
    assert request["state"] == "failed"
    assert sparky.said()[-1] == (f"@bob `{request['id']}` web-api main@a1b2c3d → staging: deploy failed: could not start "
                                 f"the deploy: Jenkins refused JENKINS_USER's credentials (401). staging is free again.")
    assert not redis.exists(brain.key_deploy_lock("web-api", "staging"))
    everything = " ".join(sparky.said()) + str(sparky.audit()) + str(request)
    assert "wrong-token" not in everything and fakes.JENKINS_TOKEN not in everything
