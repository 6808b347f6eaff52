"""`GET /openapi.json`: the HTTP API as OpenAPI 3, generated from the app and its marshmallow schemas.

Paths come from Flask's URL map, so an endpoint cannot be served and left undocumented (the
dashboard's HTML pages are not the API and are left out; the README lists them); the
summary is the view's docstring; request bodies and query parameters come from the schemas a
view declares with `@documents(...)`. apispec's MarshmallowPlugin turns schemas into JSON Schema.
"""
from __future__ import annotations

import inspect
import re
from typing import Callable

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, Flask, current_app, jsonify

from router.api.gate import GATED_PATHS, OPEN_API

bp = Blueprint("openapi", __name__)

_PARAM = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")
_SKIP = {"static"}
# Blueprints that serve HTML pages for people rather than the API (router/dashboard/).
HTML_BLUEPRINTS = frozenset({"dashboard"})


def documented(endpoint: str) -> bool:
    """Is this endpoint part of the API this spec describes (not static files, not the dashboard)?"""
    return endpoint not in _SKIP and endpoint.split(".", 1)[0] not in HTML_BLUEPRINTS


def documents(query=None, body=None, response=None, tags: tuple[str, ...] = (), ok: int = 200,
              errors: tuple[int, ...] = (), content: str = "application/json", brain: bool = True,
              error_content: str = "application/json", bare: tuple[int, ...] = (),
              error_schema: dict | None = None) -> Callable:
    """Attach what a view reads and answers, for the generated spec: its query and body schemas,
    the success status `ok` (with the `response` schema, in `content`), and the error statuses it
    gives itself (`errors`); those every operation of its kind gives are added (see `_responses`).
    `brain=False`: the view does not touch Redis, so it gives no 503 when the brain is out;
    `error_content`: the media type of the errors it answers itself (Alertmanager's probes: text);
    `bare`: the statuses it answers with no body (Alertmanager's unknown silence: a bare 404);
    `error_schema`: the shape of its error bodies when not the API's usual one (/readyz: a report)."""
    def mark(view):
        view.openapi = {"query": query, "body": body, "response": response, "tags": tags, "ok": ok,
                        "errors": errors, "content": content, "brain": brain, "error_content": error_content,
                        "bare": bare, "error_schema": error_schema}
        return view
    return mark


# The error answers, by who gives them and when. Each is `{error, status, ...}` (Sparky) or a JSON
# string (Alertmanager's API v2, under /api/v2/), so a client can rely on the shape.
REASONS = {
    400: "bad input, named in `error`", 401: "bad or missing token or signature",
    403: "not permitted (permissions.yml); `rule` names the rule", 404: "no such resource",
    409: "conflicts with the resource's state", 413: "body over SPARKY_MAX_BODY, or more signals than SPARKY_MAX_SIGNALS",
    414: "URI too long: refused by the HTTP server before Sparky sees it", 415: "unsupported content type",
    422: "refused by a guardrail or a rule check", 502: "an upstream service failed",
    503: "the brain (Redis) is out, the backlog is full, or no rules are in force; see `Retry-After`",
}
ERROR_SCHEMA = {"type": "object", "required": ["error", "status"],
                "properties": {"error": {"type": "string"}, "status": {"type": "integer"}}}
ALERTMANAGER_ERROR = {"type": "string"}
WRITES = {"post", "put", "patch", "delete"}


def _gated(path: str, method: str) -> bool:
    """Behind SPARKY_ADMIN_TOKEN when it is set (router/api/gate.py)?"""
    return (path.startswith("/api/") or path in GATED_PATHS) and (method.upper(), path) not in OPEN_API


def _responses(meta: dict, path: str, method: str, has_params: bool) -> dict:
    """Every status the operation answers with: its success, the errors it gives itself, and those
    each of its kind gives (input → 400, a path parameter → 404, a write → 413, the brain → 503...)."""
    ingest = meta.get("ingest", False)
    codes = set(meta.get("errors", ()))
    if meta.get("query") is not None or meta.get("body") is not None or ingest:
        codes.add(400)
    if "{" in path:
        codes.add(404)
    if _gated(path, method) or ingest:
        codes.add(401)
    if ingest:
        codes |= {413, 415}
    elif method in WRITES and (path.startswith("/api/") or path.startswith("/-/")):
        codes.add(413)          # router/api/hardening.py bounds every /api write
    if meta.get("brain", True):
        codes.add(503)
    codes.add(414)
    error = ALERTMANAGER_ERROR if path.startswith("/api/v2/") and not ingest else ERROR_SCHEMA
    if meta.get("error_schema") is not None:
        error = meta["error_schema"]
    ok_content: dict = {}
    for kind in filter(None, (meta.get("content", "application/json"),) + tuple(meta.get("also", ()))):
        ok_content[kind] = {"schema": meta["response"]} if meta.get("response") is not None and \
            kind == "application/json" else {}
    ok = meta.get("ok", 200)
    answers: dict = {str(ok): {"description": "OK", **({"content": ok_content} if ok_content else {})}}
    for code in sorted(codes - {ok}):
        answers[str(code)] = {"description": REASONS.get(code, "error")}
        if code == 503:      # every 503 says when to come back
            answers[str(code)]["headers"] = {"Retry-After": {"required": True, "description": "seconds",
                                                             "schema": {"type": "string", "pattern": "^[0-9]+$"}}}
        if code != 414 and code not in meta.get("bare", ()):      # 414: the HTTP server's own page
            kind = meta.get("error_content", "application/json")
            answers[str(code)]["content"] = {kind: {"schema": error} if kind == "application/json" else {}}
    return answers


def _operation(view, path: str, method: str) -> dict:
    doc = inspect.cleandoc(view.__doc__ or "")     # no docstring indentation in the description
    summary = doc.splitlines()[0] if doc else f"{method.upper()} {path}"
    meta = getattr(view, "openapi", {})
    op: dict = {"summary": summary}
    if doc and len(doc.splitlines()) > 1:
        op["description"] = doc
    params = [{"in": "path", "name": name, "required": True, "schema": {"type": "string"}}
              for name in _PARAM.findall(path)]
    if meta.get("query") is not None:
        params.append({"in": "query", "schema": meta["query"]})
    if params:
        op["parameters"] = params
    if meta.get("body") is not None:
        op["requestBody"] = {"content": {"application/json": {"schema": meta["body"]}}}
    elif meta.get("bodies"):
        op["requestBody"] = {"content": {kind: {"schema": schema} for kind, schema in meta["bodies"].items()}}
    op["responses"] = _responses(meta, _PARAM.sub(r"{\1}", path), method, bool(params))
    if meta.get("tags"):
        op["tags"] = list(meta["tags"])
    elif path.startswith(("/hooks/", "/slack/", "/api/v2/alerts")):
        op["tags"] = ["ingest"]
    return op


def build(app: Flask) -> dict:
    spec = APISpec(title="Sparky", version="1", openapi_version="3.0.3", plugins=[MarshmallowPlugin()],
                   info={"description": "ChatOps rules router and policy service. When SPARKY_ADMIN_TOKEN "
                                        "is set, /api endpoints (except POST /api/v2/alerts) need it as a "
                                        "bearer token."})
    paths: dict[str, dict] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not documented(rule.endpoint):
            continue
        view = app.view_functions[rule.endpoint]
        path = _PARAM.sub(r"{\1}", rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            paths.setdefault(path, {})[method.lower()] = _operation(view, rule.rule, method.lower())
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()


@bp.get("/openapi.json")
@documents(brain=False)
def openapi_json():
    """This document: the HTTP API as OpenAPI 3."""
    return jsonify(build(current_app))
