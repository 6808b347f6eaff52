"""`webhook`: POST (or PUT) the signal and the decision as JSON to a URL.

Body: `{"signal": {...}, "decision": {"signal_id", "ruleset", "rule", "index", "action",
"rules_version", ...}}`, or the rule's own `body` (its strings are templates), plus an
`Idempotency-Key` header (the same on every retry of one action,
so a receiver can drop a repeat after a timeout). 5xx, timeouts and refused connections are
retried with backoff; 429 waits as long as Retry-After asks; other 4xx go to the dead letters.
Connections are kept alive per worker process. URLs are shown without credentials or query values.
"""
from __future__ import annotations

import json
import threading
import urllib.request
from urllib.parse import urlsplit, urlunsplit

import requests
from redis import Redis

from actions import jobs
from actions.jobs import Context, Later, Permanent, Retryable
from actions.templates import render
from router import brain
from router.config import Config

USER_AGENT = "Sparky-webhook/1"
_local = threading.local()


def session() -> requests.Session:
    """One keep-alive session per worker thread."""
    if getattr(_local, "session", None) is None:
        s = requests.Session()
        # requests reads the proxy variables from the environment on every request (half of
        # its CPU here); with none set there is nothing to find, so do not look each time.
        if not any(urllib.request.getproxies_environment().values()):
            s.trust_env = False
        _local.session = s
    return _local.session


def safe_url(url: str) -> str:
    """The URL without user:password and without query values (tokens often hide there)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    query = "&".join(f"{pair.split('=', 1)[0]}=[redacted]" if "=" in pair else pair
                     for pair in parts.query.split("&") if pair)
    return urlunsplit((parts.scheme, host, parts.path, query, ""))


def decision_of(conn: Redis, ctx: Context) -> dict:
    decision = {"signal_id": ctx.signal_id, "ruleset": ctx.ruleset, "rule": ctx.rule, "index": ctx.index,
                "action": ctx.action or "webhook"}
    raw = conn.get(brain.key_decision(ctx.signal_id))
    if raw:
        try:
            stored = json.loads(raw)
            decision["rules_version"] = stored.get("rules_version")
            decision["evaluated_at"] = stored.get("evaluated_at")
        except (ValueError, AttributeError):
            pass
    return decision


def filled(value: object, signal: dict) -> object:
    """A rule's `body` with every string rendered as a template."""
    if isinstance(value, str):
        return render(value, signal)
    if isinstance(value, dict):
        return {k: filled(v, signal) for k, v in value.items()}
    if isinstance(value, list):
        return [filled(v, signal) for v in value]
    return value


def webhook(signal: dict, conn: Redis, config: Config, *, url: str, method: str = "POST",
            headers: dict | None = None, body: object = None, ctx: Context | None = None) -> str:
    ctx = ctx or Context(signal["id"], action="webhook")
    payload = filled(body, signal) if body is not None else \
        {"signal": signal, "decision": decision_of(conn, ctx)}
    sent_headers = {"User-Agent": USER_AGENT, "Idempotency-Key": jobs.digest(ctx.key, 40), **(headers or {})}
    method = method.upper()
    shown = f"{method} {safe_url(url)}"
    try:
        response = session().request(method, url, data=json.dumps(payload), timeout=config.webhook_timeout,
                                     headers={"Content-Type": "application/json", **sent_headers})
    except requests.Timeout:
        raise Retryable(f"{shown}: no answer within {config.webhook_timeout:g}s") from None
    except requests.RequestException as exc:
        raise Retryable(f"{shown}: {type(exc).__name__}") from None
    status = response.status_code
    if status == 429:
        wait = response.headers.get("Retry-After", "")
        seconds = int(wait) if wait.isdigit() else 10
        raise Later(seconds, f"{shown}: HTTP 429, asked to wait {seconds}s", 429)
    if status >= 500:
        raise Retryable(f"{shown}: HTTP {status}", status)
    if status >= 400:
        raise Permanent(f"{shown}: HTTP {status}", status)
    return f"{shown}: HTTP {status}"
