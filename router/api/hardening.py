"""What every answer and every /api write share, whatever the blueprint: security headers, a body
size bound, and the Unicode policy of reception (sources/common.py) applied to JSON writes.

- Headers: `X-Content-Type-Options: nosniff` (a JSON answer is never sniffed into HTML),
  `X-Frame-Options: DENY` and CSP `frame-ancestors 'none'` (the dashboard's buttons cannot be
  framed and clicked for someone: clickjacking), and a Content-Security-Policy: HTML pages load
  scripts, styles and images from Sparky only (the dashboard has no inline script or style, so
  an injected `<script>` or `onerror=` does not run); every other answer may load nothing.
- `/api` writes (the hooks bound their own bodies and dead-letter them) may be at most
  SPARKY_MAX_BODY bytes: 413.
- A JSON write holding a lone surrogate escape ("\\ud800") is refused with 400 naming the field,
  before a view stores text that Redis, Slack and every UTF-8 writer refuse later (it was a 500).
"""
from __future__ import annotations

from flask import Response, current_app, request

from router.api.errors import error_answer as _error
from sources.common import SURROGATE_ESCAPE, Refused, decode_json, is_json

PAGE_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
               "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
OTHER_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def security_headers(response: Response) -> Response:
    """after_request: the headers every answer carries (a view's own, if it set one, stands)."""
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    html = response.mimetype == "text/html" and response.status_code != 204
    headers.setdefault("Content-Security-Policy", PAGE_POLICY if html else OTHER_POLICY)
    return response


def _api_write() -> bool:
    """A write to the JSON API, not a hook (the hooks' blueprint refuses and keeps bodies itself)."""
    return (request.method in WRITES and request.blueprint != "hooks"
            and (request.path.startswith("/api/") or request.path.startswith("/-/")))


def check_write():
    """before_request: bound an /api write's body, and refuse text that is not valid Unicode."""
    if not _api_write():
        return None
    limit = current_app.extensions["sparky"].config.max_body
    too_large = _error(413, f"body larger than SPARKY_MAX_BODY ({limit} bytes)")
    if request.content_length is not None and request.content_length > limit:
        return too_large
    # Read (and keep, for the view) at most one byte more than the bound: a chunked body, which
    # has no Content-Length, is cut there by werkzeug — so one byte over means too large.
    request.max_content_length = limit + 1
    raw = request.get_data(cache=True)
    if len(raw) > limit:
        return too_large
    if not (is_json(request.headers) or not request.mimetype):
        return None
    if not SURROGATE_ESCAPE.search(raw):   # only a \uD800-\uDFFF escape can hold a lone surrogate
        return None
    try:
        decode_json(raw)
    except Refused as refused:
        return _error(refused.status, refused.reason)
    return None

