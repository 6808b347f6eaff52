"""`next release` and `how to release <repo>`; `deploys`."""
from __future__ import annotations

from freezegun import freeze_time

from router.core import brain
from tests.deploys.conftest import SHA


def test_next_release_in_the_calendar_and_the_askers_time_zone(sparky):
    with freeze_time("2026-11-28T10:00:00Z", tick=True):
        # carol is in New York (people.yml tz): she sees her time too.
        assert sparky.say("carol", "next release") == (
            "Next release: Tue 2026-12-01 14:00 CET (Tue 08:00 EST for you) (in 3 days).\n"
            "After that: Tue 2027-01-12 14:00 CET.")
        assert sparky.say("alice", "next release").startswith("Next release: Tue 2026-12-01 14:00 CET (in 3 days).")
    with freeze_time("2027-02-01T10:00:00Z", tick=True):
        assert sparky.say("alice", "next release") == "No release is planned in deploy.yml's calendar."
    assert sparky.say("alice", "next week").startswith("Did you mean `next release`?")


def test_how_to_release_reads_the_default_branch_from_github_once_an_hour(sparky, github, redis):
    answer = sparky.say("bob", "how to release acme/web-api")
    assert answer == ("*acme/web-api* (app `web-api`, deploys to staging, production): default branch `main`.\n"
                      "Release steps:\n1. merge the release PR\n2. deploy to staging\n3. deploy to production")
    assert sparky.say("bob", "how to release web-api") == answer
    assert len(github.made("GET", "/repos/acme/web-api")) == 1          # cached in the brain
    assert 0 < redis.ttl(brain.key_default_branch("acme/web-api")) <= 3600
    assert sparky.say("bob", "how to release acme/tools") == (
        "*acme/tools*: default branch `main`.\nNo release steps for it in deploy.yml (`apps.<app>.release_steps`).")
    assert sparky.say("bob", "how to release shop").startswith("`shop` is neither an app of deploy.yml")


def test_deploys_lists_the_requests(sparky):
    sparky.ci(SHA)
    sparky.say("bob", "deploy web-api to staging")
    sparky.say("alice", "deploy web-api to production")
    listing = sparky.say("carol", "deploys")
    lines = listing.splitlines()
    assert lines[0] == "Recent deploys:"
    assert "→ production: waiting for 2 more approvals from deployers (alice," in lines[1]
    assert "→ staging: deploying (bob," in lines[2]
    assert sparky.say("carol", "deploys web-ui") == "No deploy requests for web-ui yet."


def test_help_shows_the_deploy_commands_to_those_who_may_run_them(sparky):
    bob = sparky.say("bob", "help")
    for usage in ("deploy <app>[/<ref>] to <env>", "deploys [app]", "lock <env> [reason]", "unlock <env>",
                  "bypass <deploy id> because <reason>", "next release", "how to release <repo or app>"):
        assert f"`{usage}`" in bob, usage
    assert "Usage: deploy <app>[/<ref>] to <env>" in sparky.say("bob", "help deploy")
