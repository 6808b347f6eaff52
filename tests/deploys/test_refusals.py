"""Each gate refuses with the rule that decided and its reason, in the room, through the whole path."""
from __future__ import annotations

import pytest
from freezegun import freeze_time

from tests.commands.conftest import use_rules
from tests.deploys.conftest import DEPLOY, SHA


def refusal(sparky) -> str:
    (text,) = [t for t in sparky.said() if " refused by rule " in t]
    return text


def test_red_ci_is_refused(sparky, jenkins):
    sparky.ci(SHA, "failure")
    sparky.say("bob", "deploy web-api to staging")
    rid = sparky.latest()["id"]
    assert refusal(sparky) == (f"`{rid}` web-api main@a1b2c3d → staging refused by rule `ci-red`: "
                               f"CI is red for a1b2c3d: ci/jenkins")
    assert sparky.request(rid)["state"] == "refused" and jenkins.builds == []
    (entry,) = [e for e in sparky.audit() if e["event"] == "deploy.refused"]
    assert (entry["rule"], entry["reason"]) == ("ci-red", "CI is red for a1b2c3d: ci/jenkins")


def test_a_firing_critical_alert_for_the_app_refuses_production(sparky):
    sparky.ci(SHA)
    sparky.alert("web-api", severity="critical")
    sparky.alert("web-api", severity="warning", name="SlowRequests")     # warnings do not count
    sparky.say("bob", "deploy web-api to production")
    rid = sparky.latest()["id"]
    assert refusal(sparky) == (f"`{rid}` web-api main@a1b2c3d → production refused by rule `production-critical-alerts`: "
                               f"1 critical alert(s) firing for web-api: HighErrorRate")
    sparky.alert("web-api", status="resolved")
    sparky.say("bob", "deploy web-api to production")
    assert sparky.latest()["state"] == "waiting"


@pytest.mark.parametrize("at, frozen", [
    ("2026-03-27T17:30:00Z", True),    # Fri 18:30 CET: the weekend freeze began at 18:00
    ("2026-03-30T06:30:00Z", True),    # Mon 08:30 CEST, the clocks went forward on Sunday: still frozen
    ("2026-03-30T07:30:00Z", False),   # Mon 09:30 CEST: over at 09:00 local (63 real hours would say 10:00)
    ("2026-03-27T16:30:00Z", False),   # Fri 17:30 CET: not yet
], ids=["friday-evening", "monday-08:30-after-dst", "monday-09:30-after-dst", "friday-afternoon"])
def test_the_weekend_freeze_follows_berlin_wall_clock_across_the_dst_change(sparky, at, frozen):
    with freeze_time(at, tick=True):
        sparky.ci(SHA)
        sparky.say("bob", "deploy web-api to production")
        request = sparky.latest()
    if frozen:
        assert refusal(sparky) == (f"`{request['id']}` web-api main@a1b2c3d → production refused by rule `freeze`: "
                                   f"deploy freeze (weekend) until Mon 2026-03-30 09:00 CEST")
    else:
        assert request["state"] == "waiting" and request["rule"] == "production"


def test_a_locked_environment_refuses_until_unlocked(sparky, jenkins):
    sparky.ci(SHA)
    assert sparky.say("erin", "lock staging db migration") == (
        ":lock: erin locked staging (db migration): no deploy starts there until `unlock staging`.")
    assert sparky.say("bob", "lock staging").startswith("Refused: staging is locked already by erin: db migration.")
    sparky.say("bob", "deploy web-api to staging")
    assert refusal(sparky).endswith("refused by rule `env-locked`: staging is locked by erin: db migration")
    assert "Locked: staging by erin: db migration" in sparky.say("bob", "deploys")
    assert sparky.say("bob", "unlock staging") == ":unlock: bob unlocked staging (locked by erin: db migration)."
    sparky.say("bob", "deploy web-api to staging")
    assert sparky.latest()["state"] == "deploying" and len(jenkins.builds) == 1
    assert [e["event"] for e in sparky.audit() if e["event"] in ("deploy.locked", "deploy.unlocked")] == [
        "deploy.locked", "deploy.unlocked"]


def test_a_lock_taken_after_the_verdict_still_stops_the_deploy(sparky, redis, config, jenkins):
    from router.deploys import lifecycle, locks
    from router.deploys import records as reqs

    request = reqs.create(redis, app="web-api", repo="acme/web-api", ref="main", sha=SHA, env="staging",
                          requester="bob", room="#deploys")
    locks.lock_env(redis, "staging", "erin", "incident")
    assert lifecycle.start(redis, config, request["id"], "staging") == (
        "refused by rule lock: staging is locked by erin: incident")
    assert jenkins.builds == []


def test_who_may_deploy_where(sparky):
    sparky.ci(SHA)
    # permissions.yml: interns may use `deploy`, but not with env=production — the entry is named.
    assert sparky.say("dave", "deploy web-api to production") == (
        "Refused: `deploy` with app=web-api env=production is for deployers; dave is not one of them. (permissions.yml#3)")
    # deploy.yml: the staging rule allows deployers only.
    sparky.say("dave", "deploy web-api to staging")
    assert refusal(sparky).endswith("refused by rule `staging`: dave may not deploy to staging (allowed: deployers)")


def test_a_request_no_deploy_rule_matches_is_refused(sparky, redis, rules_dir):
    (rules_dir / "deploy.yml").write_text(DEPLOY.split("  - name: staging")[0])
    use_rules(redis, rules_dir)
    sparky.ci(SHA)
    sparky.say("bob", "deploy web-api to staging")
    assert refusal(sparky).endswith("refused by rule `(no rule)`: no rule of the deploy ruleset matched "
                                    "(add a catch-all rule to rules/deploy.yml)")


def test_why_explains_the_decision(sparky, redis):
    from router.chat import rooms

    sparky.ci(SHA, "failure")
    sparky.say("bob", "deploy web-api to staging")
    request = sparky.latest()
    (message,) = [m for m in rooms.messages(redis, "#deploys", 50) if m.get("deploy") and "refused" in m["text"]]
    signal = request["signals"][-1]
    assert f"`why {signal}` explains it" in message["context"]
    why = sparky.say("bob", f"why {signal}")
    assert "ci-red" in why and "env-locked" in why
