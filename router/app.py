"""The app factory (flaskr's `create_app`): config, brain connection, blueprints, JSON errors."""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from flask import Flask, jsonify
from redis import Redis
from redis.exceptions import RedisError
from werkzeug.exceptions import HTTPException

from router import api, dashboard
from router.api import selfalert
from router.assembly import assemble
from router.core import embedded
from router.core.config import Config
from router.core.registry import Registry, install, installed
from router.engine import store
from router.pipeline import hooks

log = logging.getLogger("sparky")


@dataclass
class Sparky:
    """What request handlers need, kept in `app.extensions["sparky"]` (no globals below the edge)."""

    config: Config
    conn: Redis
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
    return Redis.from_url(config.redis_url, socket_timeout=5, socket_connect_timeout=2,
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

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        response = jsonify(error=exc.description, status=exc.code)
        response.status_code = exc.code or 500
        return response

    @app.errorhandler(RedisError)
    def _brain_down(exc: RedisError):
        log.error("brain unreachable: %s", type(exc).__name__)
        response = jsonify(error="brain (Redis) unreachable; retry later", status=503)
        response.status_code = 503
        response.headers["Retry-After"] = hooks.RETRY_AFTER_DOWN
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        # Our bug, not the client's: log the traceback, show none.
        log.exception("unhandled error")
        response = jsonify(error="internal error; see the server log", status=500)
        response.status_code = 500
        return response

    if watch:
        sparky = app.extensions["sparky"]
        selfalert.watch(sparky.conn, config, sparky.started)
    for line in config.unverified_sources() if config.startup_warnings else ():
        log.warning("UNVERIFIED: %s: requests from it are accepted without a check", line)
    return app
