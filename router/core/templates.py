"""Templates: `{field}` and `{labels.host}` placeholders filled from a signal — or, for more, Jinja2.

The one template engine of Sparky (notifications, webhook bodies, command packs' replies):
- placeholders (SPEC §4): `{field}`, `{labels.host}`; `{{` and `}}` directly around other text
  are literal braces, as they always were;
- Jinja2 in a sandbox (`jinja2.sandbox.SandboxedEnvironment`: no attribute access to internals,
  no imports) when the template has a statement or comment (`{% ... %}`, `{# ... #}`) or an
  expression written with a space inside its braces (`{{ labels.host }}`): conditionals, loops,
  filters over the same data.
A missing field renders as nothing, never as an error: a rule written for Nagios alerts must not
fail on a signal that lacks `labels.service`. A Jinja template that cannot be rendered becomes a
one-line note saying so (never a traceback in a chat room); `rules check` finds it first.
"""
from __future__ import annotations

import functools
import json
import re
from typing import Any

from jinja2 import ChainableUndefined, TemplateError, TemplateSyntaxError
from jinja2.sandbox import SandboxedEnvironment

from router.core.placeholders import PLACEHOLDER, fields_in

# `{% %}`, `{# #}`, or `{{ expression }}` with a space after the braces: Jinja, not placeholders.
JINJA = re.compile(r"\{%|\{#|\{\{\s")
_ENV = SandboxedEnvironment(undefined=ChainableUndefined, autoescape=False, keep_trailing_newline=True)

MISSING = object()


def lookup(data: Any, path: str) -> Any:
    """The value at a dotted path, or MISSING. Label names may contain dots themselves
    (`labels.app.kubernetes.io/name`), so the longest key that exists wins."""
    if not path:
        return MISSING
    if isinstance(data, dict):
        if path in data:
            return data[path]
        head, _, rest = path.partition(".")
        if rest and head in data:
            return lookup(data[head], rest)
    return MISSING


def text_of(value: Any) -> str:
    if value is MISSING or value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    return str(value)


def is_jinja(template: str) -> bool:
    return bool(template) and JINJA.search(template) is not None


@functools.lru_cache(maxsize=512)
def compiled(template: str):
    """The Jinja template, compiled once per process; TemplateError (naming the line) when bad."""
    return _ENV.from_string(template)


def jinja_problem(template: str) -> str:
    """Why a Jinja template does not compile ("" when it does): the message and the template's line."""
    try:
        compiled(template)
    except TemplateSyntaxError as exc:
        return f"{exc.message} (line {exc.lineno} of the template)"
    return ""


def is_deferred(path: str) -> bool:
    """`{oncall}`, `{oncall:primary}`, `{oncall:web:secondary}`: left as written by `render`, for
    the resolver the chat seam applies when it sends (router/core/registry.py `add_resolver`)."""
    return path == "oncall" or path.startswith("oncall:")


def render(template: str, signal: dict) -> str:
    """Fill `template` from `signal` (or any dict): placeholders, or Jinja; unknown fields are ""."""
    if is_jinja(template):
        try:
            return compiled(template).render(**signal)
        except TemplateError as exc:
            return f"(template error: {exc.message or type(exc).__name__})"

    def fill(match: re.Match) -> str:
        token = match.group(0)
        if token == "{{":
            return "{"
        if token == "}}":
            return "}"
        path = match.group(1).strip()
        if is_deferred(path):
            return token  # filled as the message is sent (router/oncall: who is on call *then*)
        return text_of(lookup(signal, path))

    return PLACEHOLDER.sub(fill, template or "")


def render_all(value: object, signal: dict) -> object:
    """`render` applied to every string inside a parameter (a webhook's `body`, say)."""
    if isinstance(value, str):
        return render(value, signal)
    if isinstance(value, dict):
        return {k: render_all(v, signal) for k, v in value.items()}
    if isinstance(value, list):
        return [render_all(v, signal) for v in value]
    return value


def placeholders(template: str) -> list[str]:
    """The field paths a template refers to (for checks and docs)."""
    return fields_in(template or "")
