"""Kept-alive outbound HTTP/1.1 connections, one per host and thread, on `http.client`.

For the two deliveries a flood makes one of per alert — a Slack message (router/chat/slack.py)
and a webhook (actions/webhook.py). Measured against a local receiver (bench/RESULTS.md): a new
connection per call cost slack_sdk's urllib ~520 µs of client CPU per message, urllib3's pool
~670 µs (its layers cost more than the connect they save), a kept-alive `http.client` connection
~370 µs, and the receiver's CPU halves without the connects.

What a pool library would otherwise do, done here: a connection the server closed while it sat
idle is noticed before reuse (readable while idle: EOF or junk) and replaced; a connection that
failed half-way through a request or an answer is closed, never reused; one the server answered
with `Connection: close` is closed. Errors are the standard library's (TimeoutError, OSError,
http.client.HTTPException): each caller maps them to its own outcome. No retries: the caller's
job is retried by RQ with backoff, and its deliveries carry what makes a repeat harmless.
"""
from __future__ import annotations

import http.client
import select
import ssl
import threading
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass
class Answer:
    status: int
    reason: str
    headers: http.client.HTTPMessage
    body: bytes


class Connections:
    """Kept-alive connections, per (scheme, host:port) and per thread."""

    def __init__(self, context: ssl.SSLContext | None = None):
        self._local = threading.local()
        self._context = context

    def _get(self, scheme: str, host: str, port: int | None, timeout: float) -> http.client.HTTPConnection:
        conns = self._local.__dict__.setdefault("conns", {})
        conn = conns.get((scheme, host, port))
        if conn is not None and conn.sock is not None and select.select([conn.sock], [], [], 0)[0]:
            conn.close()   # readable while idle: the server closed it; connect again below
        if conn is None:
            if scheme == "https":
                conn = http.client.HTTPSConnection(host, port, timeout=timeout,
                                                   context=self._context or ssl.create_default_context())
            else:
                conn = http.client.HTTPConnection(host, port, timeout=timeout)
            conns[(scheme, host, port)] = conn
        conn.timeout = timeout
        if conn.sock is not None:
            conn.sock.settimeout(timeout)
        return conn

    def request(self, method: str, url: str, body: bytes | None, headers: dict, timeout: float) -> Answer:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {scheme}:")
        # user:password@ in the URL is not sent (as urllib3 did not): an Authorization header is.
        conn = self._get(scheme, parts.hostname, parts.port, timeout)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
        except BaseException:
            conn.close()   # half a request or answer on it: never reuse it
            raise
        if response.will_close:
            conn.close()
        return Answer(response.status, response.reason or "", response.msg, data)
