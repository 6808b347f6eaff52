"""Alertmanager API v2 answers checked against its published spec (tests/api/am_openapi.yaml).

The spec is Alertmanager v0.25.0's `api/v2/openapi.yaml` (tag v0.25.0, commit 258fab7c), byte for
byte: Swagger 2.0, whose Schema Objects are a JSON Schema draft 4 subset. The whole document is
one `referencing` resource, so `#/definitions/...` refs resolve as written, and a response is
validated against `#/paths/<path>/<method>/responses/<status>/schema`. jsonschema skips
`format: date-time` silently without rfc3339-validator: `Spec()` refuses to load then.
"""
from __future__ import annotations

import re
from pathlib import Path

import yaml
from jsonschema import Draft4Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

SPEC_FILE = Path(__file__).with_name("am_openapi.yaml")
SPEC_URI = "urn:alertmanager:openapi-v0.25.0"
METHODS = ("get", "put", "post", "delete")


class Spec:
    def __init__(self, path: Path = SPEC_FILE):
        self.doc = yaml.safe_load(path.read_text())
        self.base = self.doc.get("basePath", "/").rstrip("/")
        self.registry = Registry().with_resource(SPEC_URI, Resource(contents=self.doc, specification=DRAFT4))
        self.formats = FormatChecker(["date-time", "uuid"])
        if self.formats.conforms("2030-01-02T03:04:05", "date-time"):
            raise RuntimeError("date-time is not enforced: install rfc3339-validator")
        self.routes = []
        for template, item in self.doc["paths"].items():
            pattern = re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)) + "$")
            for method in METHODS:
                if method in item:
                    self.routes.append((pattern, method, template))

    def _where(self, method: str, path: str) -> str:
        path = path.split("?", 1)[0]
        path = path[len(self.base):] if path.startswith(self.base + "/") else path
        for pattern, m, template in self.routes:
            if m == method.lower() and pattern.match(path):
                return template
        raise KeyError(f"the spec has no {method} {path}")

    def errors(self, method: str, path: str, status: int, body: object) -> list[str]:
        """What is wrong with a response (method, path, status, decoded JSON body or None); [] = valid."""
        template = self._where(method, path)
        responses = self.doc["paths"][template][method.lower()]["responses"]
        key = str(status) if str(status) in responses else "default" if "default" in responses else None
        if key is None:
            return [f"{method} {template}: status {status} is not in the spec ({sorted(responses)})"]
        parts, response = ["paths", template, method.lower(), "responses", key], responses[key]
        if "$ref" in response:
            name = response["$ref"].rsplit("/", 1)[1]
            parts, response = ["responses", name], self.doc["responses"][name]
        if "schema" not in response:
            return [] if body in (None, "", b"") else [f"{method} {template} {status}: the spec has no body here"]
        pointer = SPEC_URI + "#/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in parts) + "/schema"
        validator = Draft4Validator({"$ref": pointer}, registry=self.registry, format_checker=self.formats)
        return [f"{method} {template} {status}: ${''.join(f'[{p}]' for p in e.absolute_path)}: {e.message}"
                for e in validator.iter_errors(body)]

    def check(self, method: str, path: str, response) -> object:
        """Assert a Flask test-client or `requests` response is what the spec allows; its JSON body."""
        raw = response.get_data() if hasattr(response, "get_data") else response.content
        status = getattr(response, "status_code", None)
        content_type = response.headers.get("Content-Type", "")
        body = None
        if raw:
            assert content_type.startswith("application/json"), (status, content_type, raw[:200])
            body = response.get_json() if hasattr(response, "get_json") else response.json()
        problems = self.errors(method, path, status, body)
        assert not problems, "\n".join(problems)
        return body
