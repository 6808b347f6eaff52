"""With SPARKY_ADMIN_TOKEN set the dashboard is no open door around it: nothing is shown or done
before `/login` took the token. Errors are pages without tracebacks; the API stays JSON."""
from __future__ import annotations

import re

import pytest

from router.app import create_app
from router.dashboard import pages
from tests.api import conftest as api_fixtures
from tests.dashboard.conftest import named, page, post, text_of

# The chat commands' fixtures (tests/api/conftest.py): people, permissions, guardrails, routing to #ops.
rules_dir, env, config, slack_clock, alerts = (api_fixtures.rules_dir, api_fixtures.env, api_fixtures.config,
                                               api_fixtures.slack_clock, api_fixtures.alerts)

TOKEN = "s3cret-admin-token"


@pytest.fixture
def guarded(config):
    return create_app(config.with_(admin_token=TOKEN)).test_client()


def login_form_token(client) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page(client.get("/login"))).group(1)


def test_nothing_is_shown_before_login(guarded, alerts):
    for path in ("/", "/rules", "/audit", "/rooms/%23ops"):
        answer = guarded.get(path)
        assert answer.status_code == 302 and answer.headers["Location"].startswith("/login?next=")
    assert "web-01/HTTP" not in page(guarded.get("/login"))
    named(guarded, "alice")                                   # a CSRF token is not a login
    for path, form in (("/say", {"room": "#ops", "text": "help"}), ("/deploys/dp-1/approve", {}),
                       ("/rules/test", {"source": "nagios", "payload": "x"}), ("/you", {"you": "bob"})):
        answer = post(guarded, path, **form)
        assert answer.status_code == 401, path
        assert "Log in first: this dashboard needs SPARKY_ADMIN_TOKEN." in text_of(page(answer))
        assert "web-01/HTTP" not in page(answer)
    assert guarded.get("/dashboard/static/dashboard.css").status_code == 200   # the login page's looks


def test_login_with_the_token(guarded, alerts):
    token = login_form_token(guarded)
    wrong = guarded.post("/login", data={"csrf": token, "token": "guess", "next": "/rules"})
    assert wrong.status_code == 401 and "That is not the admin token." in text_of(page(wrong))
    assert guarded.post("/login", data={"token": TOKEN, "next": "/rules"}).status_code == 400   # no CSRF token

    right = guarded.post("/login", data={"csrf": token, "token": TOKEN, "next": "/rules"})
    assert (right.status_code, right.headers["Location"]) == (302, "/rules")
    assert "web-01/HTTP" in page(guarded.get("/"))
    cookie = right.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and TOKEN not in cookie

    # the API still wants the token itself: a dashboard login is not an API credential
    assert guarded.get("/api/alerts").status_code == 401

    new_token = re.search(r'name="csrf" value="([^"]+)"', page(guarded.get("/"))).group(1)
    assert new_token != token                                 # a fresh session on login
    assert guarded.post("/logout", data={"csrf": new_token}).status_code == 302
    assert guarded.get("/").status_code == 302


def test_a_session_signed_under_another_token_is_not_a_login(config, alerts):
    before = create_app(config.with_(admin_token="old-token")).test_client()
    token = login_form_token(before)
    assert before.post("/login", data={"csrf": token, "token": "old-token"}).status_code == 302
    cookie = before.get_cookie("sparky_session").value
    after = create_app(config.with_(admin_token=TOKEN)).test_client()
    after.set_cookie("sparky_session", cookie)
    assert after.get("/").status_code == 302


def test_open_without_a_token(client, alerts):
    assert "web-01/HTTP" in page(client.get("/"))
    assert client.get("/login").headers["Location"] == "/"


def test_brain_down_is_a_page_not_a_traceback(config, env):
    client = create_app(config.with_(redis_url="redis://127.0.0.1:1/0")).test_client()
    answer = client.get("/")
    assert answer.status_code == 503 and answer.mimetype == "text/html"
    assert "Sparky's brain (Redis) is unreachable right now" in text_of(answer.get_data(as_text=True))
    assert "Traceback" not in answer.get_data(as_text=True)


def test_our_bug_is_a_page_not_a_traceback(client, env, monkeypatch, caplog):
    def broken():
        raise KeyError("secret detail")

    monkeypatch.setattr(pages, "overview_context", broken)
    answer = client.get("/")
    html = answer.get_data(as_text=True)
    assert answer.status_code == 500 and "Something went wrong on Sparky's side" in text_of(html)
    assert "secret detail" not in html and "Traceback" not in html
    assert "secret detail" in caplog.text                     # the log has it
    assert client.get("/api/nowhere").mimetype == "application/json"   # the API's errors stay JSON


def test_machine_endpoints_neither_read_nor_refresh_the_session(client, env):
    """A browser that holds the dashboard's cookie and also calls the API gets no cookie back
    from it: hooks, /api and probes never open a session (it costs every request ~20 µs)."""
    named(client)
    post(client, "/you", you="bob")          # the "You are" form: a permanent session
    dashboard = client.get("/")
    assert "sparky_session" in dashboard.headers.get("Set-Cookie", "")   # permanent: refreshed
    for response in (client.post("/api/v2/alerts", json=[{"labels": {"alertname": "DiskFull"}}]),
                     client.get("/api/signals"), client.get("/healthz"), client.get("/metrics")):
        assert response.status_code < 300 and "Set-Cookie" not in response.headers
