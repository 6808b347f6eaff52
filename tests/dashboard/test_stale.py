"""Stale clean-ups approved or denied from the overview's Stale table: the buttons run `approve` /
`deny` as "You are" through the command's own function, so only the item's owner may decide,
as in chat. Rules and fakes: tests/stale (a 40-day-old pull request by dave)."""
from __future__ import annotations

import pytest

from tests.api.conftest import audit
from tests.dashboard.conftest import named, page, post, text_of
from tests.stale import conftest as stale
from tests.stale.test_approvals import REPO, abandoned_pr

github, chef_key, chef, artifactory, rules_dir, stale_env, clock = (
    stale.github, stale.chef_key, stale.chef, stale.artifactory, stale.rules_dir, stale.stale_env, stale.clock)


@pytest.fixture
def config(stale_env):
    return stale_env


def test_approve_a_stale_clean_up_from_the_page(client, redis, stale_env, github, run_jobs, clock):
    rid = abandoned_pr(redis, stale_env, github, run_jobs, clock)
    html = page(client.get("/"))
    assert f'action="/requests/{rid}/approve"' in html and f'action="/requests/{rid}/deny"' in html
    named(client, "bob")
    refused = post(client, f"/requests/{rid}/approve")
    assert refused.status_code == 403 and f"only dave may decide {rid}" in text_of(page(refused))
    run_jobs()
    assert github.closed == []
    named(client, "dave")
    answer = post(client, f"/requests/{rid}/approve")
    assert (answer.status_code, answer.headers["Location"]) == (302, "/#stale")
    assert f"dave approved {rid}: closing {REPO}#5 now." in text_of(page(client.get("/")))
    run_jobs()
    assert github.closed == [(REPO, 5)]
    assert [e["who"] for e in audit(redis, event="stale.approved")] == ["dave"]


def test_deny_a_stale_clean_up_with_a_reason(client, redis, stale_env, github, run_jobs, clock):
    rid = abandoned_pr(redis, stale_env, github, run_jobs, clock)
    named(client, "dave")
    assert post(client, f"/requests/{rid}/deny", reason="still needed").status_code == 302
    run_jobs()
    assert github.closed == []
    (entry,) = audit(redis, event="command", command="deny")
    assert (entry["who"], entry["outcome"], entry["what"]) == ("dave", "ok", f"deny {rid} still needed")
