"""The dashboard at 3 a.m. on a phone, in a real browser (headless system Chromium via Playwright,
as tests/dashboard/test_browser.py): no page scrolls sideways at 390×844 or 1280×800, a room
opens at its newest message with the chat box in view, ack and snooze from a row, a live update
without a reload (and the banner when the connection is lost), hostile labels shown as text,
and the ack form used with the keyboard alone.

Screenshots of every page at both widths go to $SPARKY_SCREENSHOTS, else to a `screenshots`
directory under pytest's tmp path; the path is printed (`pytest -s` shows it) so a reviewer can
look at them.
"""
from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

from router.chat import rooms
from router.core import brain
from router.deploys import records as reqs
from router.stale import inventory
from tests.api import conftest as api_fixtures
from tests.api.conftest import fire
from tests.conftest import payload
from tests.dashboard.test_browser import browser, live, say_who, sync_api  # noqa: F401  (fixtures)

pytestmark = pytest.mark.slow
expect = sync_api.expect

rules_dir, env, config, slack_clock, alerts = (api_fixtures.rules_dir, api_fixtures.env, api_fixtures.config,
                                               api_fixtures.slack_clock, api_fixtures.alerts)

WIDTHS = {"phone": (390, 844), "desktop": (1280, 800)}
WAIT_MS = 8_000          # the live script polls every 3 s
HOSTILE = '<img src=x onerror="window.pwned=1">'
LONG = "web-07.eu-central-1.compute.internal.example.com/Kubernetes_PersistentVolume_Filling_Up_Very_Quickly"


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    where = Path(os.environ.get("SPARKY_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    where.mkdir(parents=True, exist_ok=True)
    print(f"\nscreenshots: {where}")
    return where


def tab(browser, live, size: str):  # noqa: F811
    width, height = WIDTHS[size]
    context = browser.new_context(base_url=live, viewport={"width": width, "height": height},
                                  device_scale_factor=1, has_touch=size == "phone", is_mobile=size == "phone")
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return context, page, errors


@pytest.fixture
def phone(browser, live):  # noqa: F811
    context, page, errors = tab(browser, live, "phone")
    yield page
    context.close()
    assert not errors, errors


def overflow(page) -> tuple[int, int]:
    return page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")


def a_busy_night(client, redis, run_jobs) -> str:
    """Alerts (one with a very long name, one with a hostile label), a snooze, an ack, a room with
    many messages, audit entries; returns the id of the alert that came through the pipeline."""
    body, headers = payload("nagios/slack_nagios_pl.service_problem.form")
    assert client.post("/hooks/nagios", data=body, headers=headers).status_code == 202
    run_jobs()
    fire(redis, LONG, env="staging", note="x" * 300)
    fire(redis, "web-09/HTTP", env="staging", runbook=HOSTILE)
    made = client.post("/api/snoozes", json={"user": "alice", "matchers": ["host=db-01"], "duration": "2h",
                                             "reason": "disk cleanup on the whole db fleet, see the ticket"})
    assert made.status_code == 201, made.json
    # a pending deploy, builds and test runs, a stale item with a long title
    reqs.create(redis, app="web-api-with-a-long-name", repo="acme/web-api", ref="feature/very-long-branch-name-x",
                sha="a1b2c3d4e5f6", env="production", requester="alice", room="#deploys")
    for name in ("jenkins/notification.build143.finalized_failure.json", "runscope/webhook.test_run.pass.json"):
        body, headers = payload(name)
        assert client.post(f"/hooks/{name.split('/')[0]}", data=body, headers=headers).status_code == 202
    now = time.time()
    item = inventory.Item(type="pull_request", fingerprint="acme/web#7", subject="acme/web#7", owner="alice",
                          title="A_branch_name_that_goes_on_and_on_" * 4, url="https://github.com/acme/web/pull/7",
                          last_activity=now - 20 * 86400, labels={"author": "alice"})
    inventory.stage(redis, "prs", "r1", [inventory.to_signal(item, "prs", "r1", now, 14 * 86400)])
    inventory.publish(redis, "prs", "r1", {"found": 1})
    for n in range(60):
        rooms.post(redis, "#ops", f"test/{n}", {"text": f"*message {n}* `ack 5aee4b7` :red_circle: "
                                                        f"<https://example.com/a/very/long/path/{'x' * 80}|link>",
                                                "author": "sparky"})
    return client.get("/api/alerts").json["alerts"][0]["id"]


def test_no_page_scrolls_sideways_and_screenshots(browser, live, client, redis, alerts, run_jobs, shots):  # noqa: F811
    first = a_busy_night(client, redis, run_jobs)
    pages = {"overview": "/", "grouped": "/?group=host", "filtered": "/?severity=critical&match=env%3Dproduction",
             "alert": f"/alerts/{first}", "room": "/rooms/%23ops", "audit": "/audit", "rules": "/rules",
             "not-found": "/alerts/no-such-alert"}
    for size in WIDTHS:
        context, page, errors = tab(browser, live, size)
        page.goto("/")
        say_who(page, "alice")
        for name, url in pages.items():
            page.goto(url)
            page.wait_for_load_state("load")
            path = shots / f"{name}-{size}.png"
            page.screenshot(path=str(path), full_page=True)
            wide, client_width = overflow(page)
            assert wide <= client_width, f"{url} at {size} is {wide}px wide in {client_width}px ({path})"
        context.close()
        assert not errors, errors
    # dark mode follows the system
    context = browser.new_context(base_url=live, viewport={"width": 390, "height": 844}, color_scheme="dark")
    page = context.new_page()
    page.goto("/")
    page.screenshot(path=str(shots / "overview-phone-dark.png"), full_page=True)
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(11, 15, 23)", background
    context.close()
    assert len(list(shots.glob("*.png"))) >= 2 * len(pages) + 1


def test_a_room_opens_at_its_newest_message_with_the_chat_box_in_view(phone, client, redis, alerts, run_jobs):
    a_busy_night(client, redis, run_jobs)
    phone.goto("/rooms/%23ops")
    newest = phone.locator("#messages li").last
    expect(newest).to_contain_text("message 59")
    expect(newest).to_be_in_viewport()
    expect(phone.locator("#say input[name=text]")).to_be_in_viewport()
    # mrkdwn: bold, code, emoji, a link, not the raw markup
    expect(newest.locator("b")).to_have_text("message 59")
    expect(newest.locator("code")).to_have_text("ack 5aee4b7")
    expect(newest).to_contain_text("🔴")
    expect(newest.locator("a")).to_have_text("link")


def test_ack_and_snooze_from_a_row(phone, redis, alerts):
    web01, db01 = brain.alert_id("web-01/HTTP"), brain.alert_id("db-01/Disk Space")
    phone.goto("/")
    say_who(phone, "bob")
    row = phone.locator(f"#alert-{web01}")
    row.locator("form.ack input[name=reason]").fill("on it")
    row.locator("button.ack").click()
    # the answer is in the row the phone lands on, not at the top of a long page
    note = row.locator(".note")
    expect(note).to_contain_text(f"bob acked {web01} web-01/HTTP: on it")
    expect(note).to_be_in_viewport()
    phone.wait_for_timeout(3_500)                       # a live update comes and keeps the answer
    expect(note).to_contain_text(f"bob acked {web01} web-01/HTTP: on it")
    expect(row).to_contain_text("acked by bob: on it")
    expect(row.locator("button.ack")).to_have_count(0)

    say_who(phone, "alice")
    row = phone.locator(f"#alert-{db01}")
    row.locator("summary", has_text="Snooze").click()
    expect(row.locator(".preview")).to_contain_text("host=db-01 matches 1 firing alert: db-01/Disk Space")
    row.locator("select[name=target]").select_option("host=db-01")
    row.locator("input[name=duration]").fill("2h")
    row.locator("details input[name=reason]").fill("disk cleanup")
    row.locator("button", has_text="Snooze").click()
    expect(row.locator(".note")).to_contain_text("Snoozed s1: host=db-01 until")
    expect(row.locator(".note")).to_be_in_viewport()
    expect(row).to_contain_text("snoozed by alice (s1)")
    assert overflow(phone)[0] <= overflow(phone)[1]

    row.locator("button", has_text="Unsnooze s1").click()
    expect(row.locator(".note")).to_contain_text("Ended snooze s1")
    expect(row).not_to_contain_text("snoozed by alice")


def test_a_live_update_arrives_without_a_reload_and_a_lost_connection_is_said(phone, redis, env):
    fire(redis, "web-01/HTTP")
    phone.goto("/")
    phone.evaluate("window.notReloaded = true")
    expect(phone.locator("#alerts")).not_to_contain_text("db-07/Disk")
    fire(redis, "db-07/Disk")
    expect(phone.locator("#alerts")).to_contain_text("db-07/Disk")
    expect(phone.locator("#alerts h2")).to_contain_text("2")
    assert phone.evaluate("window.notReloaded") is True
    banner = phone.locator("#live-status")
    expect(banner).to_be_hidden()
    phone.route("**/*", lambda route: route.abort())
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("Connection lost")
    phone.unroute("**/*")
    expect(banner).to_be_hidden()


def test_hostile_labels_are_shown_as_text(phone, redis, env):
    fire(redis, "web-09/HTTP", runbook=HOSTILE)
    fire(redis, '<script>window.pwned=2</script>/HTTP')
    alert_id = brain.alert_id("web-09/HTTP")
    for url in ("/", f"/alerts/{alert_id}"):
        phone.goto(url)
        assert phone.evaluate("window.pwned") is None
        assert phone.locator("img[src=x]").count() == 0
    expect(phone.locator("#state .labels")).to_contain_text(f"runbook={HOSTILE}")
    phone.goto("/")
    expect(phone.locator("#alerts")).to_contain_text("<script>window.pwned=2</script>/HTTP")


def test_ack_with_the_keyboard_alone(phone, redis, env):
    fire(redis, "web-01/HTTP")
    alert_id = brain.alert_id("web-01/HTTP")
    phone.goto("/")
    say_who(phone, "bob")
    phone.goto("/")                                   # start from the top of a fresh page
    label = ""
    for _ in range(40):
        phone.keyboard.press("Tab")
        label = phone.evaluate("document.activeElement.getAttribute('aria-label') || ''")
        if label.startswith("Ack reason"):
            break
    assert label == "Ack reason for web-01/HTTP"
    phone.keyboard.type("keyboard only")
    phone.keyboard.press("Tab")
    assert phone.evaluate("document.activeElement.textContent") == "Ack"
    phone.keyboard.press("Enter")
    expect(phone.locator(".note")).to_contain_text(f"bob acked {alert_id} web-01/HTTP: keyboard only")


def test_without_a_people_yml_zone_hover_times_are_in_the_browsers(browser, live, redis, env):  # noqa: F811
    fire(redis, "web-01/HTTP")
    context = browser.new_context(base_url=live, timezone_id="Asia/Tokyo", locale="en-US")
    page = context.new_page()
    page.goto("/")
    expect(page.locator("#zone-note")).to_contain_text("your browser's zone (Asia/Tokyo)")
    title = page.locator("#alerts time").first.get_attribute("title")
    assert "GMT+9" in title, title
    say_who(page, "alice")                              # people.yml: Europe/Berlin wins
    expect(page.locator("#zone-note")).to_contain_text("Times in Europe/Berlin.")
    assert re.search(r" CES?T$", page.locator("#alerts time").first.get_attribute("title"))
    context.close()


def test_ack_works_with_javascript_off(browser, live, redis, env):  # noqa: F811
    fire(redis, "web-01/HTTP")
    alert_id = brain.alert_id("web-01/HTTP")
    context = browser.new_context(base_url=live, viewport={"width": 390, "height": 844}, java_script_enabled=False)
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    page.goto("/")
    say_who(page, "bob")
    row = page.locator(f"#alert-{alert_id}")
    row.locator("button.ack").click()
    expect(row.locator(".note")).to_contain_text(f"bob acked {alert_id} web-01/HTTP")
    context.close()
