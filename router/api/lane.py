"""The hooks' POSTs, answered before Flask: a WSGI middleware around the app.

Why: a source's POST does one thing (router/pipeline/hooks.py `receive`: read, check, store,
202), and Flask's request machinery around it — request context, URL matching, the app's
before/after hooks, a Response object — cost more CPU than storing the signal: ~130 of ~630 µs
per one-alert POST in process, on the tier that bounds one-alert-per-POST senders
(bench/RESULTS.md). The lane answers exactly those requests (POST to a hook path) with the same
`receive` the blueprint calls, the same JSON bodies and the same security headers
(router/api/hardening.py); everything else — other methods, other paths, a trailing slash —
goes to Flask unchanged. `/api/v2/alerts` is open for POST (router/api/gate.py OPEN_API) and a
hook is not an `/api` write (hardening.check_write), so neither before-hook had work to do here.
"""
from __future__ import annotations

import logging
from urllib.parse import parse_qsl

from flask import Flask
from redis.exceptions import RedisError
from werkzeug.datastructures import EnvironHeaders, MultiDict
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.wsgi import get_input_stream

from router.api.hardening import OTHER_POLICY
from router.core import fastjson
from router.core.outage import RETRY_AFTER, is_outage
from router.core.registry import Registry
from router.pipeline import hooks

log = logging.getLogger("sparky")

# What hardening.security_headers gives a JSON or text answer.
SECURITY_HEADERS = [("X-Content-Type-Options", "nosniff"), ("X-Frame-Options", "DENY"),
                    ("Referrer-Policy", "same-origin"), ("Content-Security-Policy", OTHER_POLICY)]

class HookLane:
    """`app.wsgi_app = HookLane(app, registry)`: hook POSTs here, the rest to Flask."""

    def __init__(self, app: Flask, registry: Registry):
        self.app = app
        self.flask = app.wsgi_app
        self.sparky = app.extensions["sparky"]
        self.endpoints = hooks.endpoints(registry)

    def __call__(self, environ, start_response):
        if environ.get("REQUEST_METHOD") != "POST":
            return self.flask(environ, start_response)
        path = environ.get("PATH_INFO", "")
        endpoint = self.endpoints.get(path)
        if endpoint is None:
            return self.flask(environ, start_response)
        incoming = hooks.Incoming(get_input_stream(environ), EnvironHeaders(environ),
                                  MultiDict(parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True)))
        try:
            answer = hooks.receive(self.sparky, path, endpoint, incoming)
        except RedisError as exc:
            if not is_outage(exc):
                log.exception("unhandled error")
                answer = hooks.Answer(500, {"error": "internal error; see the server log", "status": 500})
            else:
                self.sparky.outage.report(exc, f"POST {path}")
                answer = hooks.Answer(503, {"error": "brain (Redis) unreachable; retry later", "status": 503},
                                      {"Retry-After": RETRY_AFTER})
        except Exception:
            # Our bug, not the client's: log the traceback, show none (as the app's handler does).
            log.exception("unhandled error")
            answer = hooks.Answer(500, {"error": "internal error; see the server log", "status": 500})
        return _respond(answer, start_response)


def _respond(answer: hooks.Answer, start_response):
    if answer.body is None:
        body, kind = b"", "text/plain; charset=utf-8"
    else:
        # jsonify's compact form (non-ASCII as UTF-8, not escaped): the same JSON the blueprint gives.
        body, kind = (fastjson.dumps(answer.body) + "\n").encode(), "application/json"
    headers = [("Content-Type", kind), ("Content-Length", str(len(body))), *answer.headers.items(),
               *SECURITY_HEADERS]
    start_response(f"{answer.status} {HTTP_STATUS_CODES.get(answer.status, 'UNKNOWN').upper()}", headers)
    return [body]
