"""The app factory (flaskr's `create_app`): config, brain connection, blueprints, JSON errors."""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from flask import Flask, request
from redis import Redis
from redis.exceptions import RedisError
from werkzeug.exceptions import HTTPException

from router import api, dashboard
from router.api import selfalert
from router.api.errors import error_answer
from router.api.lane import HookLane
from router.assembly import assemble
from router.core import connections, embedded
from router.core.config import Config
from router.core.outage import RETRY_AFTER, OutageLog, is_outage
from router.core.registry import Registry, install, installed
from router.engine import store
from router.pipeline import hooks

log = logging.getLogger("sparky")


@dataclass
class Sparky:
    """What request handlers need, kept in `app.extensions["sparky"]` (no globals below the edge)."""

    config: Config
    conn: Redis
    # One line a second while the brain is out, not a traceback per request (router/core/outage.py).
    outage: OutageLog = field(default=None)  # type: ignore[assignment]

    def __post_init__(self):
        if self.outage is None:
            self.outage = OutageLog(log, self.config.clock)
    started: float = field(default_factory=time.time)   # when /readyz starts counting a missing worker

    def rules_ready(self) -> tuple[bool, str]:
        """Are rules in force? Publishes the rules dir when the brain has none yet (a fresh start)."""
        try:
            rules = store.current(self.conn, self.config.rules_dir, poll=self.config.rules_poll)
        except store.RulesUnavailable as exc:
            return False, str(exc)
        return True, rules.version


def connect(config: Config) -> Redis:
    # Short timeouts: a dead brain must become a quick 503, not a hung sender.
    return connections.connect(config.redis_url, socket_timeout=5, socket_connect_timeout=2,
                               health_check_interval=30)


def resolve_redis(config: Config) -> Config:
    """With SPARKY_REDIS_URL unset, use (or start) the embedded Redis in SPARKY_DATA_DIR."""
    if config.redis_url:
        return config
    url, _server = embedded.ensure(config.data_dir)
    return config.with_(redis_url=url)


def create_app(config: Config | None = None, registry: Registry | None = None, watch: bool = False) -> Flask:
    """The WSGI app. `watch`: also check delivery in the background and raise Sparky's own
    alerts (router/api/selfalert.py) — what wsgi.py, the web server's entry, asks for."""
    config = resolve_redis(config or Config.from_env())
    # One registry per process: the one its composition root installed, else the built-in one.
    registry = install(registry) if registry is not None else (installed() or assemble())
    app = Flask(__name__)
    app.json.sort_keys = False
    app.extensions["sparky"] = Sparky(config=config, conn=connect(config))
    app.register_blueprint(hooks.blueprint(registry))   # a path per registered source
    api.init_app(app)                         # the JSON API (router/api/), one blueprint per resource
    dashboard.init_app(app)                   # the pages at / (router/dashboard/), HTML with its own errors
    app.wsgi_app = HookLane(app, registry)    # the hooks' POSTs, answered before Flask's machinery

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        response = error_answer(exc.code or 500, exc.description)
        # What the exception says beyond its body: a 405's `Allow`, a 413's `Retry-After`...
        for name, value in exc.get_headers():
            if name.lower() != "content-type":
                response.headers[name] = value
        return response

    @app.errorhandler(RedisError)
    def _brain_down(exc: RedisError):
        if not is_outage(exc):
            return _unexpected(exc)   # an error reply to what we asked: our bug, not an outage
        app.extensions["sparky"].outage.report(exc, f"{request.method} {request.path}")
        response = error_answer(503, "brain (Redis) unreachable; retry later")
        response.headers["Retry-After"] = RETRY_AFTER
        return response

    # A failover's errors by name (a demoted primary's ReadOnlyError is a ResponseError): they stay
    # "retry later" even where a narrower handler reads other Redis errors as the client's fault.
    for outage in connections.OUTAGE:
        app.register_error_handler(outage, _brain_down)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        # Our bug, not the client's: log the traceback, show none.
        log.exception("unhandled error")
        return error_answer(500, "internal error; see the server log")

    if watch:
        sparky = app.extensions["sparky"]
        selfalert.watch(sparky.conn, config, sparky.started)
    for line in config.unverified_sources() if config.startup_warnings else ():
        log.warning("UNVERIFIED: %s: requests from it are accepted without a check", line)
    return app
