"""The front door: every endpoint a source posts to (SPEC §3). The only reader of `request`.

Order for each request: size → authenticity on the raw bytes → decode + validate → store and
queue (reception.accept) → 202. Anything refused is answered with a JSON error naming the
problem and kept in the dead-letter list; an unreachable brain is a 503 with Retry-After.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable

from flask import Blueprint, Response, current_app, jsonify, request
from redis.exceptions import RedisError

from router.core import brain, deadletter, metrics
from router.core.outage import RETRY_AFTER, is_outage
from router.core.registry import Registry
from router.pipeline.reception import Backpressure, NotReplicated, accept, signal_cap
from sources import common, github, slack
from sources.common import Refused

log = logging.getLogger(__name__)

RETRY_AFTER_DOWN = RETRY_AFTER
RETRY_AFTER_BUSY = "10"


@dataclass(frozen=True)
class Endpoint:
    adapter: object
    load: Callable
    parse: Callable
    ok_status: int = 202          # what a successful delivery is answered with
    slack: bool = False           # Slack wants 200s and its own answer shapes
    bodies: tuple[str, ...] = ("application/json",)   # the media types it reads, for /openapi.json


# The shape of what a hook reads, as /openapi.json describes it: any JSON (the adapter says what
# it needs in its 400), or a form of text fields.
BODY_SCHEMAS = {"application/json": {},
                "application/x-www-form-urlencoded": {"type": "object", "additionalProperties": {"type": "string"}}}


def endpoints(registry: Registry) -> dict[str, Endpoint]:
    """Every path a source posts to: `/hooks/<name>` for each registered source, or the paths its
    adapter names itself (`PATHS`: path -> how, e.g. Alertmanager's `/api/v2/alerts`, Slack's three)."""
    found: dict[str, Endpoint] = {}
    for name, adapter in registry.sources.items():
        for path, how in (getattr(adapter, "PATHS", None) or {f"/hooks/{name}": {}}).items():
            found[path] = Endpoint(adapter, getattr(adapter, how.get("load", "load")),
                                   getattr(adapter, how.get("parse", "parse")),
                                   ok_status=how.get("ok_status", 202), slack=how.get("slack", False),
                                   bodies=how.get("bodies") or getattr(adapter, "BODIES", ("application/json",)))
    return found


def _sparky():
    return current_app.extensions["sparky"]


def _read_body(limit: int) -> bytes:
    """At most limit+1 bytes, so an oversize body is detected without reading all of it."""
    return request.stream.read(limit + 1)


def _authenticate(endpoint: Endpoint, raw: bytes) -> None:
    config = _sparky().config
    auth = endpoint.adapter.AUTH
    if auth == "github":
        if config.github_webhook_secret:
            github.verify(raw, request.headers, config.github_webhook_secret)
    elif auth == "slack":
        if config.slack_signing_secret:
            slack.verify(raw, request.headers, config.slack_signing_secret, config.clock())
    else:
        common.check_token(request.headers, request.args, config.hook_tokens)


def _refuse(path: str, raw: bytes, status: int, reason: str, source: str) -> Response:
    """Answer a refusal as JSON and keep the request in the dead-letter list."""
    letter = deadletter.letter(path, status, reason, request.headers, request.args, raw)
    try:
        brain.push_dead_letter(_sparky().conn, letter)
        metrics.count(_sparky().conn, "sparky_signals_received", source=source,
                      outcome=f"refused_{status}")
    except RedisError as exc:
        if not is_outage(exc):
            raise
        _sparky().outage.report(exc, f"{path} (dead letter {letter['id']} not recorded)")
    response = jsonify(error=reason, status=status, dead_letter=letter["id"])
    response.status_code = status
    return response


def _unavailable(reason: str, retry_after: str) -> Response:
    response = jsonify(error=reason, status=503)
    response.status_code = 503
    response.headers["Retry-After"] = retry_after
    return response


def receive(path: str, endpoint: Endpoint) -> Response:
    config = _sparky().config
    raw = _read_body(config.max_body)
    if len(raw) > config.max_body:
        return _refuse(path, raw, 413, f"body larger than SPARKY_MAX_BODY ({config.max_body} bytes)",
                       endpoint.adapter.NAME)
    try:
        _authenticate(endpoint, raw)
        payload = endpoint.load(raw, request.headers)
        if endpoint.slack and (challenge := slack.challenge(payload)) is not None:
            return jsonify(challenge=challenge)
        signals = endpoint.parse(payload, request.headers)
    except Refused as refused:
        return _refuse(path, raw, refused.status, refused.reason, endpoint.adapter.NAME)
    except Exception:  # an adapter bug must not become a 500 for the sender, nor lose the body
        log.exception("adapter for %s failed on a request; kept as a dead letter", path)
        return _refuse(path, raw, 400, "payload could not be interpreted; kept in the dead-letter list",
                       endpoint.adapter.NAME)
    if (cap := signal_cap(config)) and len(signals) > cap[0]:
        # One request must not take the whole backlog (SPARKY_MAX_BACKLOG counts signals): refused
        # whole, kept, and the sender told the cap so it can split (Prometheus sends 64 at most).
        return _refuse(path, raw, 413, f"request carries {len(signals)} signals, over {cap[1]} "
                                       f"({cap[0]}); send at most {cap[0]} per request", endpoint.adapter.NAME)

    try:
        result = accept(_sparky().conn, config, endpoint.adapter.NAME, signals)
    except Backpressure as busy:
        return _unavailable(str(busy), RETRY_AFTER_BUSY)
    except NotReplicated as unconfirmed:
        log.warning("accepted on %s but not confirmed by a replica", path)
        return _unavailable(str(unconfirmed), RETRY_AFTER_DOWN)
    except RedisError as exc:
        if not is_outage(exc):
            raise     # our bug: the app's handler logs it with its traceback (a 500)
        _sparky().outage.report(exc, path)
        return _unavailable("brain (Redis) unreachable; retry later", RETRY_AFTER_DOWN)

    if endpoint.slack:
        # Slack shows a slash command's response body to the user; the answer comes later
        # from the worker, so acknowledge with an empty 200.
        response = Response(status=200, mimetype="text/plain") if path != "/slack/events" \
            else jsonify(result.answer())
        response.headers["X-Sparky-Signals"] = ",".join(result.ids)
        return response
    response = jsonify(result.answer())
    response.status_code = endpoint.ok_status
    return response


def blueprint(registry: Registry) -> Blueprint:
    """The hooks of the registered sources, as a blueprint for `create_app`."""
    bp = Blueprint("hooks", __name__)
    for path, endpoint in endpoints(registry).items():
        def view(path=path, endpoint=endpoint):
            return receive(path, endpoint)

        # The adapter's docstring summarises the endpoint in /openapi.json.
        view.__doc__ = endpoint.adapter.__doc__
        # What /openapi.json lists it answering (router/api/openapi.py adds the errors of a hook).
        view.openapi = {"tags": ("ingest",), "ingest": True, "ok": endpoint.ok_status,
                        "also": ("text/plain",) if endpoint.slack else (),
                        "bodies": {kind: BODY_SCHEMAS[kind] for kind in endpoint.bodies}}
        bp.add_url_rule(path, endpoint=path.strip("/").replace("/", "_"), view_func=view, methods=["POST"])
    return bp
