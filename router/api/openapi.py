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

bp = Blueprint("openapi", __name__)

_PARAM = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")
_SKIP = {"static"}
# Blueprints that serve HTML pages for people rather than the API (router/dashboard/).
HTML_BLUEPRINTS = frozenset({"dashboard"})


def documented(endpoint: str) -> bool:
    """Is this endpoint part of the API this spec describes (not static files, not the dashboard)?"""
    return endpoint not in _SKIP and endpoint.split(".", 1)[0] not in HTML_BLUEPRINTS


def documents(query=None, body=None, response=None, tags: tuple[str, ...] = ()) -> Callable:
    """Attach the schemas a view reads and returns, for the generated spec."""
    def mark(view):
        view.openapi = {"query": query, "body": body, "response": response, "tags": tags}
        return view
    return mark


def _operation(view, path: str, method: str) -> dict:
    doc = inspect.cleandoc(view.__doc__ or "")     # no docstring indentation in the description
    summary = doc.splitlines()[0] if doc else f"{method.upper()} {path}"
    meta = getattr(view, "openapi", {})
    op: dict = {"summary": summary, "responses": {"default": {"description": "JSON; errors are "
                                                               "{error, status}"}}}
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
    if meta.get("response") is not None:
        op["responses"] = {"200": {"description": "OK", "content": {"application/json": {"schema": meta["response"]}}}}
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
            paths.setdefault(path, {})[method.lower()] = _operation(view, rule.rule, method)
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()


@bp.get("/openapi.json")
def openapi_json():
    """This document: the HTTP API as OpenAPI 3."""
    return jsonify(build(current_app))
