"""Helpers for the dashboard tests: a session with a CSRF token (and a name) as the pages give one,
and form posts that carry it. The fixtures come from the suites whose rules each test needs
(tests/api for alerts and snoozes, tests/deploy for deploys), imported by each module."""
from __future__ import annotations

import html
import re

CSRF = "csrf-token-of-this-test-session"


def named(client, you: str = "") -> None:
    """Give the test client's session a CSRF token and, with `you`, a "You are" name."""
    with client.session_transaction() as session:
        session["csrf"] = CSRF
        if you:
            session["you"] = you
        else:
            session.pop("you", None)


def post(client, url: str, **form: str):
    """A form POST carrying the session's CSRF token (call `named` first)."""
    return client.post(url, data={"csrf": CSRF, **form})


def page(response) -> str:
    assert response.status_code < 500, response.data[:2000]
    return response.get_data(as_text=True)


def text_of(markup: str) -> str:
    """The page's text with tags dropped and spaces squeezed, to assert on what a person reads."""
    spaced = re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", markup))).strip()
    return re.sub(r" ([:,.;)])", r"\1", spaced)          # no space where a tag ended before punctuation
