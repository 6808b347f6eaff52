"""Who may look, who is acting, and whether a form came from this dashboard.

- **The admin token.** With SPARKY_ADMIN_TOKEN set, every page and form needs it, as `/api`
  does: `/login` takes it once and keeps "logged in" in Flask's signed session cookie, whose
  key is derived from the token (so changing the token logs everyone out). Unset, the dashboard
  is open, like `/api`.
- **The person acting.** The token says who is *calling*; writes still name who *acts*, as the
  API's `user` does (router/api/acting.py). The "You are" box keeps a name in the session; approve,
  deny and the chat box act as that name, and permissions.yml decides what the name may do.
- **CSRF.** Each session gets a random token; every form carries it in a hidden field and a POST
  without the session's token is refused (400). The cookie is SameSite=Lax as well.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta
from urllib.parse import urlsplit

from flask import Blueprint, Flask, current_app, redirect, render_template, request, session, url_for
from flask.sessions import SecureCookieSessionInterface

from sources.common import same

bp = Blueprint("gate", __name__)

LOGIN_LIFETIME = timedelta(days=7)
NAME_LIMIT = 100
# Reachable without the token: the login form itself and the stylesheet it uses.
OPEN_ENDPOINTS = frozenset({"dashboard.gate.login", "dashboard.gate.log_in", "dashboard.static"})


class Refusal(Exception):
    """A write the dashboard will not do; the page shows `message` with `status`."""

    def __init__(self, message: str, status: int = 400, rule: str = ""):
        super().__init__(message)
        self.message, self.status, self.rule = message, status, rule


def session_key(admin_token: str) -> bytes:
    """The session cookie's signing key. Derived from the admin token so that there is no second
    secret to configure; without a token the dashboard is open and the signature guards only the
    pairing of the CSRF token with its cookie (SameSite keeps other sites' posts cookieless)."""
    return hmac.new(admin_token.encode(), b"sparky dashboard session v1", hashlib.sha256).digest()


class PeopleOnlySessions(SecureCookieSessionInterface):
    """Session cookies for the dashboard's pages only. Opening one builds a signing serializer,
    ~20 µs on every request; senders, the API and probes never use one, and /api/v2/alerts is
    the hot path (bench/RESULTS.md)."""

    MACHINE_PATHS = ("/api/", "/hooks/", "/slack/", "/metrics", "/healthz", "/readyz", "/openapi.json")

    def open_session(self, app, request):
        if request.path.startswith(self.MACHINE_PATHS):
            return None  # Flask uses a null session
        return super().open_session(app, request)


def init_app(app: Flask, admin_token: str) -> None:
    app.secret_key = session_key(admin_token)
    app.session_interface = PeopleOnlySessions()
    app.config.update(SESSION_COOKIE_NAME="sparky_session", SESSION_COOKIE_SAMESITE="Lax",
                      SESSION_COOKIE_HTTPONLY=True, PERMANENT_SESSION_LIFETIME=LOGIN_LIFETIME)


def _token() -> str:
    return current_app.extensions["sparky"].config.admin_token


def token_required() -> bool:
    return bool(_token())


def logged_in() -> bool:
    return not _token() or session.get("auth") is True


def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def you() -> str:
    """The name the "You are" box remembers ("" until one is given)."""
    return session.get("you", "")


def acting_as() -> str:
    """The person a write acts for, or a Refusal that says how to name one."""
    name = you()
    if not name:
        raise Refusal('Say who you are first: fill in "You are" at the top of the page. The name is a '
                      "people.yml name, Slack id, GitHub login or e-mail, and permissions.yml decides "
                      "what it may do.", 400)
    return name


def local(target: str, default: str = "/") -> str:
    """`target` if it is a path on this site, else `default` (no redirects to other sites).

    Browsers read `/\\host` and `/<tab>/host` as `//host`, so backslashes and control characters
    are refused along with schemes and `//`."""
    target = target or ""
    parts = urlsplit(target)
    if (parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//")
            or "\\" in target or any(ord(c) < 0x20 for c in target)):
        return default
    return target


def guard():
    """before_request of the dashboard: the token when one is set, the CSRF token on every POST."""
    if request.endpoint in OPEN_ENDPOINTS:
        pass
    elif not logged_in():
        if request.method == "GET":
            return redirect(url_for("dashboard.gate.login", next=request.full_path.rstrip("?")))
        raise Refusal("Log in first: this dashboard needs SPARKY_ADMIN_TOKEN.", 401)
    if request.method == "POST":
        given, expected = request.form.get("csrf", ""), session.get("csrf", "")
        if not given or not expected or not same(given, expected):
            raise Refusal("This form has expired or was not sent from this dashboard: reload the page "
                          "and try again.", 400)
    return None


@bp.get("/login")
def login():
    """The login form (only useful when SPARKY_ADMIN_TOKEN is set)."""
    if logged_in():
        return redirect(local(request.args.get("next", "")))
    return render_template("dashboard/login.html", next=local(request.args.get("next", "")))


@bp.post("/login")
def log_in():
    """Check the admin token once; the signed session remembers it."""
    target = local(request.form.get("next", ""))
    token = _token()
    if not token:
        return redirect(target)
    if not same(request.form.get("token", ""), token):
        return render_template("dashboard/login.html", next=target, error="That is not the admin token."), 401
    session.clear()    # a fresh session (and CSRF token) on login: no fixation
    session.permanent = True
    session["auth"] = True
    return redirect(target)


@bp.post("/logout")
def log_out():
    """Forget the login and the name."""
    session.clear()
    return redirect(url_for("dashboard.pages.overview"))


@bp.post("/you")
def name_yourself():
    """Remember who is acting from this browser (empty: forget it)."""
    name = " ".join(request.form.get("you", "").split())
    if len(name) > NAME_LIMIT:
        raise Refusal(f"A name of at most {NAME_LIMIT} characters, please.", 400)
    session.permanent = True
    if name:
        session["you"] = name
    else:
        session.pop("you", None)
    return redirect(local(request.form.get("next", "")))
