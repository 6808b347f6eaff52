"""`webhook`: POST (or PUT) the signal and the decision as JSON to a URL.

Body: `{"signal": {...}, "decision": {"signal_id", "ruleset", "rule", "index", "action",
"rules_version", ...}}`, or the rule's own `body` (its strings are templates), plus an
`Idempotency-Key` header (the same on every retry of one action,
so a receiver can drop a repeat after a timeout). 5xx, timeouts and refused connections are
retried with backoff; 429 waits as long as Retry-After asks; other 4xx go to the dead letters.
Connections are kept alive per worker process. URLs are shown without credentials or query values.

The client is a kept-alive connection per host and worker thread (router/core/keepalive.py, on
libcurl): a requests Session spent ~270 µs of CPU per call and urllib3 ~125 µs, against ~45 µs for
a kept-alive `http.client` connection and less again for libcurl (bench/RESULTS.md), and the
delivery is most of a flood's worker CPU. Proxies from
the environment (HTTP(S)_PROXY, NO_PROXY) are honoured, as requests would, through urllib3's
ProxyManager.
"""
from __future__ import annotations

import functools
import http.client
import os
import threading
import urllib.request
from urllib.parse import urlsplit, urlunsplit

import urllib3
from redis import Redis

from router.core import brain, fastjson
from router.core.config import Config
from router.core.keepalive import Connections
from router.core.outcomes import Retryable, classify, retry_after
from router.core.templates import render_all
from router.jobs.context import Context

USER_AGENT = "Sparky-webhook/1"
_local = threading.local()
_direct = Connections()   # kept-alive connections per host and thread, when no proxy applies


# The variables urllib reads proxies from; reading the whole environment on every call
# (urllib.request.getproxies_environment) cost ~500 µs per delivery, so they are looked at by name.
PROXY_VARS = tuple(name for scheme in ("http", "https", "all", "no")
                   for name in (f"{scheme}_proxy", f"{scheme.upper()}_PROXY"))


def _proxies(seen: tuple) -> dict:
    cached = getattr(_local, "proxies", None)
    if cached is None or cached[0] != seen:
        cached = _local.proxies = (seen, urllib.request.getproxies_environment() if any(seen) else {})
    return cached[1]


def pool_for(url: str) -> urllib3.ProxyManager | None:
    """The environment's proxy for a URL, as a keep-alive pool per worker thread; None: no proxy
    (the request goes on a kept-alive connection of its own, `_direct`)."""
    proxies = _proxies(tuple(os.environ.get(name) for name in PROXY_VARS))
    proxy = ""
    if proxies:
        parts = urlsplit(url)
        proxy = proxies.get(parts.scheme, "")
        if proxy and urllib.request.proxy_bypass_environment(parts.hostname or "", proxies):
            proxy = ""
    if not proxy:
        return None
    pools = getattr(_local, "pools", None)
    if pools is None:
        pools = _local.pools = {}
    pool = pools.get(proxy)
    if pool is None:
        # retries=False: RQ's Retry does the retrying, with backoff and dead letters
        pool = pools[proxy] = urllib3.ProxyManager(proxy, retries=False)
    return pool


@functools.lru_cache(maxsize=512)  # a rule's URL is shown on every delivery; parse it once
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
    raw = ctx.decision if ctx.decision is not None else conn.get(brain.key_decision(ctx.signal_id))
    if raw:
        try:
            stored = fastjson.loads(raw)
            decision["rules_version"] = stored.get("rules_version")
            decision["evaluated_at"] = stored.get("evaluated_at")
        except (ValueError, AttributeError):
            pass
    return decision


def webhook(signal: dict, conn: Redis, config: Config, *, url: str, method: str = "POST",
            headers: dict | None = None, body: object = None, ctx: Context | None = None) -> str:
    ctx = ctx or Context(signal["id"], action="webhook")
    payload = render_all(body, signal) if body is not None else \
        {"signal": signal, "decision": decision_of(conn, ctx)}
    sent_headers = {"User-Agent": USER_AGENT, "Idempotency-Key": brain.digest(ctx.key, 40), **(headers or {})}
    method = method.upper()
    shown = f"{method} {safe_url(url)}"
    data = fastjson.dumps(payload).encode()
    all_headers = {"Content-Type": "application/json", **sent_headers}
    proxied = pool_for(url)
    if proxied is None:   # no proxy for this URL: a kept-alive connection (libcurl)
        try:
            answer = _direct.request(method, url, data, all_headers, config.webhook_timeout)
        except TimeoutError:
            raise Retryable(f"{shown}: no answer within {config.webhook_timeout:g}s") from None
        except (http.client.HTTPException, OSError, ValueError):
            raise Retryable(f"{shown}: ConnectionError") from None
        status, retry_header = answer.status, answer.headers.get("Retry-After")
    else:
        try:
            response = proxied.request(method, url, body=data, timeout=config.webhook_timeout, headers=all_headers)
        except urllib3.exceptions.NewConnectionError:  # first: urllib3 files it under timeouts too
            raise Retryable(f"{shown}: ConnectionError") from None
        except urllib3.exceptions.TimeoutError:
            raise Retryable(f"{shown}: no answer within {config.webhook_timeout:g}s") from None
        except (urllib3.exceptions.HTTPError, OSError):
            raise Retryable(f"{shown}: ConnectionError") from None
        status, retry_header = response.status, response.headers.get("Retry-After")
    failure = classify(status, f"{shown}: HTTP {status}",
                       wait=retry_after(retry_header) if status >= 400 else None)
    if failure is not None:
        raise failure
    return f"{shown}: HTTP {status}"
