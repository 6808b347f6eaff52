"""The dashboard in a real browser: headless Chromium driven by Playwright against the real app,
served by a real HTTP server in a thread on the suite's Redis, with a real RQ worker between steps.

Needs the system's Chromium (Debian/Ubuntu: `apt-get install chromium`) and the `playwright`
package (in the test extras); Playwright's own browser download is not used. Without them these
tests skip and say so. The rules are tests/deploys/conftest.py's.
"""
from __future__ import annotations

import json
import re
import shutil
import threading

import pytest
from werkzeug.serving import make_server

from tests.api.conftest import audit
from tests.commands.conftest import fire
from tests.conftest import payload
from tests.deploys import conftest as deploy
from tests.deploys.conftest import SHA

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
INSTALL = "apt-get install chromium (the browser tests drive the system's Chromium through Playwright)"
if not CHROMIUM:
    pytest.skip(f"no chromium on PATH: {INSTALL}", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is missing: "
                                                            "pip install -e '.[test]'")
expect = sync_api.expect

rules_dir, env, config, jenkins, github, response_url, sparky = (
    deploy.rules_dir, deploy.env, deploy.config, deploy.jenkins, deploy.github, deploy.response_url, deploy.sparky)

WAIT_MS = 5_000


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium for the module (starting one costs ~0.5 s)."""
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def live(app):
    """The app behind a real HTTP server on a free port, for this test's brain and rules."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


@pytest.fixture
def page(browser, live):
    """A fresh browser context (no cookies) on the live server; fails the test on a script error."""
    context = browser.new_context(base_url=live)
    context.set_default_timeout(WAIT_MS)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    yield tab
    context.close()
    assert not errors, errors


def say_who(page, name: str) -> None:
    page.fill("header input[name=you]", name)
    page.click("header button:has-text('Set')")
    expect(page.locator("header input[name=you]")).to_have_value(name)


def test_open_the_dashboard_and_see_what_fires(page, redis, env):
    fire(redis, "web-01/HTTP", env="production")
    page.goto("/")
    expect(page.locator("#alerts")).to_contain_text("web-01/HTTP")
    expect(page.locator("#alerts")).to_contain_text("CRITICAL web-01/HTTP: connection refused")
    expect(page.locator("h2", has_text="Firing")).to_contain_text("1")


def test_approve_a_pending_deploy_by_clicking(page, client, redis, sparky, run_jobs, jenkins):
    sparky.ci(SHA)
    asked = client.post("/api/deploys", json={"user": "alice", "app": "web-api", "env": "production"})
    run_jobs()
    rid = asked.json["id"]
    page.goto("/")
    row = page.locator(f"#deploy-{rid}")
    expect(row.locator(".state")).to_have_text("waiting: waits for 2 more approvals from deployers")

    say_who(page, "bob")
    row.locator("button.approve").click()
    expect(page.locator(".note")).to_contain_text(f"bob approved {rid}")
    expect(row.locator(".approvals")).to_have_text("bob")

    say_who(page, "carol")
    row.locator("button.approve").click()
    expect(page.locator(".note")).to_contain_text(f"carol approved {rid}")
    run_jobs()                                   # the worker carries out the verdict: deploy
    page.reload()
    expect(row.locator(".state")).to_have_text("deploying")
    assert len(jenkins.builds) == 1
    assert [e["who"] for e in audit(redis, event="deploy.approved")] == ["bob", "carol"]


def test_chat_box_and_sparkys_reply(page, redis, env, run_jobs):
    page.goto("/")
    say_who(page, "alice")
    page.fill("#rooms input[name=room]", "#ops")
    page.fill("#rooms input[name=text]", "help")
    page.click("#rooms button:has-text('Send')")
    expect(page).to_have_url(re.compile(r"/rooms/%23ops#say$"))
    expect(page.locator("#messages")).to_contain_text("alice: help")
    run_jobs()                                   # a worker answers; the room refreshes itself
    expect(page.locator("#messages .from-sparky")).to_contain_text("Commands alice can run in #ops:")


def test_test_this_payload(page, env):
    body, _ = payload("runscope/webhook.test_run.fail.json")
    page.goto("/rules")
    page.select_option("select[name=source]", "runscope")
    page.fill("textarea[name=payload]", json.dumps(json.loads(body)))
    page.click("form.test button:has-text('Test')")
    decision = page.locator("#decision")
    expect(decision).to_contain_text("runscope test_run failed")
    expect(decision.locator(".matched")).to_have_text("everything-else")
    expect(decision).to_contain_text('{"drop": {"reason": "noise"}}')
