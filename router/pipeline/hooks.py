"""The front door: every endpoint a source posts to (SPEC §3).

Order for each request: size → authenticity on the raw bytes → decode + validate → store and
queue (reception.accept) → 202. Anything refused is answered with a JSON error naming the
problem and kept in the dead-letter list; an unreachable brain is a 503 with Retry-After.

`receive` reads an `Incoming` (body stream, headers, query) and returns an `Answer`, knowing no
web framework: the POSTs are served by the WSGI lane in front of Flask (router/api/lane.py: a
Flask request costs more than the rest of a one-alert POST, bench/RESULTS.md); the blueprint
below keeps the routes for /openapi.json, the other methods' 405, and any app without the lane.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable, Mapping

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


@dataclass
class Answer:
    """What a hook answers, whoever serves it: the Flask view below, or the WSGI lane that takes
    the hooks' POSTs before Flask (router/api/lane.py). `body` is JSON; None is an empty text body."""

    status: int
    body: object = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Incoming:
    """The parts of a request a hook reads: the body stream, headers and query arguments."""

    stream: object        # .read(n)
    headers: Mapping[str, str]
    args: Mapping[str, str]


def _authenticate(config, endpoint: Endpoint, incoming: Incoming, raw: bytes) -> None:
    auth = endpoint.adapter.AUTH
    if auth == "github":
        if config.github_webhook_secret:
            github.verify(raw, incoming.headers, config.github_webhook_secret)
    elif auth == "slack":
        if config.slack_signing_secret:
            slack.verify(raw, incoming.headers, config.slack_signing_secret, config.clock())
    else:
        common.check_token(incoming.headers, incoming.args, config.hook_tokens)


def _refuse(sparky, path: str, incoming: Incoming, raw: bytes, status: int, reason: str, source: str) -> Answer:
    """Answer a refusal as JSON and keep the request in the dead-letter list."""
    letter = deadletter.letter(path, status, reason, incoming.headers, incoming.args, raw)
    try:
        brain.push_dead_letter(sparky.conn, letter)
        metrics.count(sparky.conn, "sparky_signals_received", source=source, outcome=f"refused_{status}")
    except RedisError as exc:
        if not is_outage(exc):
            raise
        sparky.outage.report(exc, f"{path} (dead letter {letter['id']} not recorded)")
    return Answer(status, {"error": reason, "status": status, "dead_letter": letter["id"]})


def _unavailable(reason: str, retry_after: str) -> Answer:
    return Answer(503, {"error": reason, "status": 503}, {"Retry-After": retry_after})


def receive(sparky, path: str, endpoint: Endpoint, incoming: Incoming) -> Answer:
    config = sparky.config
    # At most limit+1 bytes, so an oversize body is detected without reading all of it.
    raw = incoming.stream.read(config.max_body + 1)
    source = endpoint.adapter.NAME
    if len(raw) > config.max_body:
        return _refuse(sparky, path, incoming, raw, 413,
                       f"body larger than SPARKY_MAX_BODY ({config.max_body} bytes)", source)
    try:
        _authenticate(config, endpoint, incoming, raw)
        payload = endpoint.load(raw, incoming.headers)
        if endpoint.slack and (challenge := slack.challenge(payload)) is not None:
            return Answer(200, {"challenge": challenge})
        signals = endpoint.parse(payload, incoming.headers)
    except Refused as refused:
        return _refuse(sparky, path, incoming, raw, refused.status, refused.reason, source)
    except Exception:  # an adapter bug must not become a 500 for the sender, nor lose the body
        log.exception("adapter for %s failed on a request; kept as a dead letter", path)
        return _refuse(sparky, path, incoming, raw, 400,
                       "payload could not be interpreted; kept in the dead-letter list", source)
    if (cap := signal_cap(config)) and len(signals) > cap[0]:
        # One request must not take the whole backlog (SPARKY_MAX_BACKLOG counts signals): refused
        # whole, kept, and the sender told the cap so it can split (Prometheus sends 64 at most).
        return _refuse(sparky, path, incoming, raw, 413, f"request carries {len(signals)} signals, over "
                                                         f"{cap[1]} ({cap[0]}); send at most {cap[0]} per request",
                       source)

    try:
        result = accept(sparky.conn, config, source, signals)
    except Backpressure as busy:
        return _unavailable(str(busy), RETRY_AFTER_BUSY)
    except NotReplicated as unconfirmed:
        log.warning("accepted on %s but not confirmed by a replica", path)
        return _unavailable(str(unconfirmed), RETRY_AFTER_DOWN)
    except RedisError as exc:
        if not is_outage(exc):
            raise     # our bug: answered 500, logged with its traceback
        sparky.outage.report(exc, path)
        return _unavailable("brain (Redis) unreachable; retry later", RETRY_AFTER_DOWN)

    if endpoint.slack:
        # Slack shows a slash command's response body to the user; the answer comes later
        # from the worker, so acknowledge with an empty 200.
        signals_header = {"X-Sparky-Signals": ",".join(result.ids)}
        if path != "/slack/events":
            return Answer(200, None, signals_header)
        return Answer(200, result.answer(), signals_header)
    return Answer(endpoint.ok_status, result.answer())


def _flask_response(answer: Answer) -> Response:
    response = Response(status=answer.status, mimetype="text/plain") if answer.body is None \
        else jsonify(answer.body)
    response.status_code = answer.status
    response.headers.update(answer.headers)
    return response


def blueprint(registry: Registry) -> Blueprint:
    """The hooks of the registered sources, as a blueprint for `create_app`."""
    bp = Blueprint("hooks", __name__)
    for path, endpoint in endpoints(registry).items():
        def view(path=path, endpoint=endpoint):
            incoming = Incoming(request.stream, request.headers, request.args)
            return _flask_response(receive(current_app.extensions["sparky"], path, endpoint, incoming))

        # The adapter's docstring summarises the endpoint in /openapi.json.
        view.__doc__ = endpoint.adapter.__doc__
        # What /openapi.json lists it answering (router/api/openapi.py adds the errors of a hook).
        view.openapi = {"tags": ("ingest",), "ingest": True, "ok": endpoint.ok_status,
                        "also": ("text/plain",) if endpoint.slack else (),
                        "bodies": {kind: BODY_SCHEMAS[kind] for kind in endpoint.bodies}}
        bp.add_url_rule(path, endpoint=path.strip("/").replace("/", "_"), view_func=view, methods=["POST"])
    return bp
