"""rules/deploy.yml exactly as shipped, end to end: requests typed in a room and sent over HTTP, on a
real RQ worker, against the fake Jenkins and GitHub, at pinned times — a working day, a Sunday
night (weekend freeze) and a day of the year-end freeze. people.yml and permissions.yml are the
shipped ones too: deployers are alice, bob and carol.

The year-end freeze's {from, to} window used to raise KeyError: 'from' in every gate evaluation, so
`deploy`, `approve` and `next release` crashed and requests stayed `new` with Approve/Deny offered.
"""
from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from click.testing import CliRunner

from router.core.config import DEFAULT_RULES_DIR
from tests.deploys import conftest as deploy
from tests.deploys.conftest import SHA

# The deploy tests' fixtures (real app, worker, fakes), on the shipped rules dir instead of theirs.
env, config, jenkins, github, response_url, sparky = (
    deploy.env, deploy.config, deploy.jenkins, deploy.github, deploy.response_url, deploy.sparky)

BERLIN_WINTER = dt.timezone(dt.timedelta(hours=1))
SUNDAY_NIGHT = dt.datetime(2026, 12, 6, 23, 30, tzinfo=BERLIN_WINTER)
YEAR_END = dt.datetime(2026, 12, 28, 10, 0, tzinfo=BERLIN_WINTER)       # a Monday, in business hours
REQUIRED = ("ci/jenkins", "jenkins/web-api-build")                     # apps.web-api.required_contexts


@pytest.fixture
def rules_dir():
    return DEFAULT_RULES_DIR


def green(sparky) -> None:
    for context in REQUIRED:
        sparky.ci(SHA, context=context)


def test_on_a_working_day_staging_goes_and_production_goes_after_two_approvals(sparky, jenkins):
    green(sparky)                                              # the deploy env fixture: Wed 10:00 Berlin
    sparky.say("bob", "deploy web-api to staging")
    staging = sparky.latest()
    assert (staging["state"], staging["rule"]) == ("deploying", "go")
    assert jenkins.builds == [{"job": "deploy-web-api", "params": {"ENV": "staging", "SHA": SHA,
                                                                    "REQUESTED_BY": "bob"}}]

    sparky.say("alice", "deploy web-api to production")
    production = sparky.latest()
    rid = production["id"]
    assert (production["state"], production["rule"]) == ("waiting", "production")
    assert sparky.buttons()[-1] == [f"approve {rid}", f"deny {rid}"]
    assert sparky.say("bob", f"approve {rid}").startswith(f"bob approved `{rid}`")
    assert sparky.say("carol", f"approve {rid}") == f"carol approved `{rid}` web-api main@a1b2c3d → production."
    assert sparky.request(rid)["state"] == "deploying"
    assert jenkins.builds[-1]["params"] == {"ENV": "production", "SHA": SHA, "REQUESTED_BY": "alice"}


def test_on_a_sunday_night_production_is_refused_for_the_weekend_and_staging_goes(sparky, jenkins):
    with time_machine.travel(SUNDAY_NIGHT, tick=True):
        green(sparky)
        sparky.say("alice", "deploy web-api to production")
        production = sparky.latest()
        assert (production["state"], production["rule"]) == ("refused", "freeze")
        assert sparky.said()[-1] == (f"`{production['id']}` web-api main@a1b2c3d → production refused by rule "
                                     "`freeze`: deploy freeze (weekend) until Mon 2026-12-07 09:00 CET")
        assert sparky.buttons()[-1] == []                      # nothing to approve
        sparky.say("bob", "deploy web-api to staging")
        assert (sparky.latest()["state"], sparky.latest()["rule"]) == ("deploying", "go")
    assert [b["params"]["ENV"] for b in jenkins.builds] == ["staging"]


def test_in_the_year_end_freeze_every_deploy_is_refused_and_nothing_crashes(sparky, client, run_jobs, jenkins):
    with time_machine.travel(YEAR_END, tick=True):
        green(sparky)
        until = "until Tue 2027-01-05 00:00 CET"                 # `to: 2027-01-04` is a whole day
        sparky.say("alice", "deploy web-api to production")
        assert (sparky.latest()["state"], sparky.latest()["rule"]) == ("refused", "freeze")
        assert sparky.said()[-1].endswith(f"refused by rule `freeze`: deploy freeze (year-end freeze) {until}")

        answer = client.post("/api/deploys", json={"user": "bob", "app": "web-api", "env": "staging"})
        assert answer.status_code == 201, answer.json
        run_jobs()
        refused = client.get(f"/api/deploys/{answer.json['id']}").json
        assert (refused["state"], refused["rule"]) == ("refused", "freeze")

        from router.cli.main import main

        said = CliRunner().invoke(main, ["say", "--as", "carol", "deploy web-api to staging"])
        assert said.exit_code == 0 and said.output.startswith("carol asks to deploy `dp-"), said.output
        run_jobs()
        assert sparky.latest()["state"] == "refused"
        assert sparky.say("alice", "next release") == (
            f"Next release: Tue 2027-01-12 14:00 CET (in 15 days).\nDeploy freeze now: year-end freeze, {until}.")
    assert jenkins.builds == []


def test_next_release_names_the_release_and_the_coming_freeze(sparky):
    answer = sparky.say("carol", "next release")                 # Wed 2026-12-09, carol in New York
    assert answer.startswith("Next release: Tue 2027-01-12 14:00 CET (Tue 08:00 EST for you)")
    assert answer.endswith("Next freeze: year-end freeze from Sun 2026-12-20 00:00 CET to Tue 2027-01-05 00:00 CET.")
