"""The dashboard at `/` (SPEC §9): server-rendered pages for people, no build step.

Jinja2 templates (autoescaped: alert text comes from outside), one stylesheet and a few lines of
optional JavaScript (a room refreshes itself); every page and form works without JavaScript.
Pages are in `pages.py`, forms in `writes.py`, the token/identity/CSRF gate in `gate.py`. Errors
are pages too: a refusal shows its reason with the API's status code, never a traceback.
"""
from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import Blueprint, Flask, current_app, get_flashed_messages, render_template, request
from markupsafe import Markup
from redis.exceptions import RedisError
from werkzeug.exceptions import HTTPException

from router.core.outage import RETRY_AFTER, is_outage
from router.dashboard import gate, pages, show, writes
from router.dashboard.clock import now, person_tz, personal_tz

log = logging.getLogger("sparky")

bp = Blueprint("dashboard", __name__, template_folder="templates", static_folder="static",
               static_url_path="/dashboard/static")
bp.before_request(gate.guard)
bp.register_blueprint(gate.bp)
bp.register_blueprint(pages.bp)
bp.register_blueprint(writes.bp)


@bp.app_template_global()
def csrf_field() -> Markup:
    """The hidden field every form carries (gate.py checks it on POST)."""
    return Markup('<input type="hidden" name="csrf" value="%s">') % gate.csrf_token()


@bp.app_template_filter("when")
def when(iso: str) -> str:
    """`2026-03-01T10:00:00.000Z` as `2026-03-01 11:00:00 CET`, in the person's zone."""
    return show.absolute(iso, person_tz())


@bp.app_template_filter("ago")
def ago(iso: str, prefix: str = "", suffix: str = " ago") -> Markup:
    """`12m ago` (or with prefix="for ", suffix="": `for 12m`), the absolute time in its title."""
    return show.relative(iso, now(), person_tz(), prefix, suffix)


bp.add_app_template_filter(show.mrkdwn, "mrkdwn")
bp.add_app_template_filter(show.severity_icon, "severity_icon")


@bp.context_processor
def _everywhere() -> dict:
    return {"you": gate.you(), "token_set": gate.token_required(), "logged_in": gate.logged_in(),
            "here": request.full_path.rstrip("?") if request.method == "GET" else "/",
            # what live.js polls: this page's own GET address (a page shown in answer to a POST
            # passes its own, or has none)
            "live_url": request.full_path.rstrip("?") if request.method == "GET" else "",
            "notes": get_flashed_messages(with_categories=True), "tz_name": person_tz().key, "tz_personal": personal_tz()}


@bp.app_template_filter("link")
def link(url: str) -> str:
    """`url` when it is http(s), else "": a signal's url comes from outside (no javascript: links)."""
    return url if isinstance(url, str) and urlsplit(url).scheme in ("http", "https") else ""


ALERT_FORMS = frozenset({"dashboard.writes.ack", "dashboard.writes.snooze", "dashboard.writes.unsnooze",
                         "dashboard.writes.why"})


def _error_page(status: int, message: str):
    return render_template("dashboard/error.html", status=status, message=message), status


@bp.errorhandler(gate.Refusal)
def _refused(exc: gate.Refusal):
    """Show the refusal on the page the form was on, with the status the API would answer."""
    shown = {"error": exc.message, "rule": exc.rule}
    if not gate.logged_in() or request.endpoint in gate.OPEN_ENDPOINTS:
        return render_template("dashboard/login.html", next="/", **shown), exc.status
    if request.endpoint == "dashboard.writes.test_payload":
        form = {k: request.form.get(k, "") for k in ("source", "payload", "headers", "content_type", "at")}
        return pages.show_rules(exc.status, form=form, **shown)
    if request.endpoint == "dashboard.writes.say" and request.form.get("back") == "room":
        return pages.show_room(request.form.get("room", "").strip(), exc.status, text=request.form.get("text", ""),
                               **shown)
    if request.endpoint in ALERT_FORMS:
        back = request.form.get("next", "")
        if back.startswith("/alerts/"):
            return pages.show_alert(request.view_args.get("alert_id") or request.form.get("alert", ""), exc.status,
                                    form=request.form, **shown)
    return pages.show_overview(exc.status, **shown)


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException):
    page, status = _error_page(exc.code or 500, exc.description or exc.name)
    return page, status, [(k, v) for k, v in exc.get_headers() if k.lower() != "content-type"]  # 405: Allow


@bp.errorhandler(RedisError)
def _brain_down(exc: RedisError):
    if not is_outage(exc):
        return _unexpected(exc)   # an error reply to what we asked: our bug
    current_app.extensions["sparky"].outage.report(exc, f"dashboard {request.method} {request.path}")
    page, status = _error_page(503, "Sparky's brain (Redis) is unreachable right now; try again in a minute.")
    return page, status, {"Retry-After": RETRY_AFTER}


@bp.errorhandler(Exception)
def _unexpected(exc: Exception):
    # Our bug: the traceback goes to the log, the page says only that.
    log.exception("dashboard: unhandled error")
    return _error_page(500, "Something went wrong on Sparky's side; the details are in the server log.")


def init_app(app: Flask) -> None:
    """Register the dashboard on `app` and key its session cookie (gate.py)."""
    gate.init_app(app, app.extensions["sparky"].config.admin_token)
    app.register_blueprint(bp)
