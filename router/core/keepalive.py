"""Kept-alive outbound HTTP/1.1 connections, one per host and thread, on libcurl (pycurl).

For the two deliveries a flood makes one of per alert — a Slack message (router/chat/slack.py)
and a webhook (actions/webhook.py). Measured against a local receiver (bench/RESULTS.md): a new
connection per call cost slack_sdk's urllib ~520 µs of client CPU per message, urllib3's pool
~670 µs (its layers cost more than the connect they save), a kept-alive `http.client` connection
~370 µs, and the receiver's CPU halves without the connects. Kept alive, `http.client` itself was
then the largest cost left in a delivery job (issue 19: building the request in Python and parsing
the answer's headers through `email.feedparser`, ~38 % of the worker's CPU on a 64-alert flood); a
reused libcurl handle does both in C: a 1 KB JSON POST to bench/sink.py cost 131–198 µs of CPU
through `http.client` against 78–90 µs through pycurl; this module against its `http.client`
version, 170 against 103 µs (`bench/keepalive_cmp.py`; bench/RESULTS.md, "libcurl").

What libcurl does for us, per handle (one per scheme, host, port and thread): it keeps the
connection alive, notices before reuse that the server closed it while idle and connects again,
closes it when the server answers `Connection: close`, and closes it after a request that failed
half-way (a timeout, a reset), so a late answer never reaches the next request. One difference
from the `http.client` version: when a *reused* connection turns out dead on sending (the server
closed it at that very moment), libcurl sends the request once more on a new connection, as
urllib3 does; nothing else is retried — the caller's job is retried by RQ with backoff, and its
deliveries carry what makes a repeat harmless.

What is asked of it: exactly the caller's headers (curl's own `Accept: */*`, form Content-Type, pycurl's User-Agent and
`Expect: 100-continue` are removed; `Accept-Encoding: identity` is added unless given, as
`http.client` did), HTTP/1.1 (no HTTP/2 over TLS), no redirects followed, no proxy from the
environment (a proxied webhook goes through urllib3's ProxyManager in actions/webhook.py, and
router/chat/slack.py sends through urllib when a proxy is set), the path sent as given, and
`user:password@` in the URL never sent (an Authorization header is). Timeouts: `timeout` bounds
the connect and the whole exchange (`http.client`'s bounded each socket operation).

TLS: an `ssl.SSLContext` cannot be handed to libcurl, so what matters is read from it: no
verification when its `verify_mode` is CERT_NONE, no host name check without `check_hostname`,
and the CA certificates it holds when it holds some (`get_ca_certs()`: a `cafile`/`cadata` it was
built with); otherwise the system's CA bundle (`ssl.get_default_verify_paths()`, else certifi's).
Not carried over: a client certificate loaded into the context, its ciphers and protocol bounds,
and CAs it would load lazily from a `capath` (the default `capath` is given to curl instead).

Errors are the standard library's, mapped from curl's codes: TimeoutError (no answer in time),
ConnectionRefusedError and other OSError/ConnectionError (socket.gaierror, ssl.SSLError...), and
ValueError for a URL or header that cannot be sent. Each caller maps them to its own outcome.
"""
from __future__ import annotations

import http.client
import io
import os
import re
import socket
import ssl
import threading
from dataclasses import dataclass
from urllib.parse import urlsplit

import pycurl


@dataclass
class Answer:
    status: int
    reason: str
    headers: http.client.HTTPMessage
    body: bytes


_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})   # those `http.client` gave Content-Length: 0 without a body
_ILLEGAL_NAME = re.compile(r"[^!#$%&'*+\-.^_`|~0-9A-Za-z]")
_ILLEGAL_VALUE = re.compile(r"[\r\n\0]")
# curl's codes that say the URL cannot be sent, and those of a failed TLS handshake or verification
_BAD_URL = frozenset({pycurl.E_UNSUPPORTED_PROTOCOL, pycurl.E_URL_MALFORMAT})
_TLS = frozenset({35, 53, 54, 58, 59, 60, 64, 66, 77, 80, 82, 83, 90, 91, 98})


def _default_ca() -> tuple[str | None, str | None]:
    paths = ssl.get_default_verify_paths()
    cafile = paths.cafile if paths.cafile and os.path.exists(paths.cafile) else None
    if cafile is None:
        try:
            import certifi
            cafile = certifi.where()
        except ImportError:
            pass
    return cafile, (paths.capath if paths.capath and os.path.isdir(paths.capath) else None)


def _tls_options(context: ssl.SSLContext | None) -> list[tuple[int, object]]:
    verify = context is None or context.verify_mode != ssl.CERT_NONE
    options: list[tuple[int, object]] = [(pycurl.SSL_VERIFYPEER, int(verify)),
                                         (pycurl.SSL_VERIFYHOST, 2 if verify and (context is None or context.check_hostname) else 0)]
    held = context.get_ca_certs(binary_form=True) if context is not None else []
    if held:   # exactly the CAs the context was built with
        options.append((pycurl.CAINFO_BLOB, "".join(ssl.DER_cert_to_PEM_cert(der) for der in held).encode()))
    else:
        cafile, capath = _default_ca()
        options += [(pycurl.CAINFO, cafile)] if cafile else []
        options += [(pycurl.CAPATH, capath)] if capath else []
    return options


def _handle(scheme: str, context: ssl.SSLContext | None) -> pycurl.Curl:
    curl = pycurl.Curl()
    curl.setopt(pycurl.NOSIGNAL, 1)          # threads: no SIGALRM for timeouts
    curl.setopt(pycurl.PROXY, "")            # not from the environment (see the module docstring)
    curl.setopt(pycurl.FOLLOWLOCATION, 0)
    curl.setopt(pycurl.PROTOCOLS, pycurl.PROTO_HTTP | pycurl.PROTO_HTTPS)
    curl.setopt(pycurl.HTTP_VERSION, pycurl.CURL_HTTP_VERSION_1_1)
    curl.setopt(pycurl.PATH_AS_IS, 1)        # no squashing of /../
    if scheme == "https":
        for option, value in _tls_options(context):
            curl.setopt(option, value)
    return curl


def _header_lines(headers: dict, has_body: bool) -> list[str]:
    lines, names = [], set()
    for name, value in headers.items():
        name = name.decode("latin-1") if isinstance(name, bytes) else str(name)
        value = value.decode("latin-1") if isinstance(value, bytes) else str(value)
        if not name or _ILLEGAL_NAME.search(name) or _ILLEGAL_VALUE.search(value):
            raise ValueError(f"invalid header {name!r}")
        names.add(name.lower())
        lines.append(f"{name}: {value}" if value.strip() else f"{name};")   # `Name;` sends it empty
    lines += [] if "accept" in names else ["Accept:"]
    lines += [] if "user-agent" in names else ["User-Agent:"]   # not pycurl's own
    lines += [] if "expect" in names else ["Expect:"]
    lines += [] if "accept-encoding" in names else ["Accept-Encoding: identity"]
    lines += ["Content-Type:"] if has_body and "content-type" not in names else []
    return lines


def _answer(status: int, raw: bytes, body: bytes) -> Answer:
    """The last answer's status line and headers (a 1xx may come before it), as http.client's."""
    reason, message, last = "", http.client.HTTPMessage(), None
    for line in raw.decode("latin-1").split("\r\n"):
        if line.startswith("HTTP/"):
            reason, message, last = (line.split(" ", 2) + ["", ""])[2], http.client.HTTPMessage(), None
        elif line[:1] in (" ", "\t") and last is not None:   # an obsolete folded line
            message.replace(last, f"{message[last]} {line.strip()}")
        elif ":" in line:
            last, value = line.split(":", 1)
            message[last] = value.strip()
    return Answer(status, reason.strip(), message, body)


def _error(curl: pycurl.Curl, exc: pycurl.error) -> Exception:
    code, text = exc.args[0], str(exc.args[1] if len(exc.args) > 1 else exc)
    if code == pycurl.E_OPERATION_TIMEDOUT:
        return TimeoutError(text)
    if code in _BAD_URL:
        return ValueError(text)
    if code in (pycurl.E_COULDNT_RESOLVE_HOST, pycurl.E_COULDNT_RESOLVE_PROXY):
        return socket.gaierror(text)
    if code in _TLS:
        return ssl.SSLError(text)
    number = curl.getinfo(pycurl.OS_ERRNO)
    if number:
        return OSError(number, text)          # the matching subclass: ConnectionRefusedError...
    if code == pycurl.E_COULDNT_CONNECT:
        return ConnectionRefusedError(text)
    return ConnectionError(text)


class Connections:
    """Kept-alive connections (libcurl handles), per (scheme, host, port) and per thread."""

    def __init__(self, context: ssl.SSLContext | None = None):
        self._local = threading.local()
        self._context = context

    def _get(self, scheme: str, host: str, port: int | None) -> pycurl.Curl:
        handles = self._local.__dict__.setdefault("handles", {})
        curl = handles.get((scheme, host, port))
        if curl is None:
            curl = handles[(scheme, host, port)] = _handle(scheme, self._context)
        return curl

    def request(self, method: str, url: str, body: bytes | None, headers: dict, timeout: float) -> Answer:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {scheme}:")
        method = method.upper()
        if isinstance(body, str):
            body = body.encode("iso-8859-1")
        elif body is not None and not isinstance(body, bytes):
            body = bytes(body)
        if body is None and method in _BODY_METHODS:
            body = b""
        lines = _header_lines(headers, body is not None)
        # user:password@ in the URL is not sent (as urllib3 did not): an Authorization header is.
        target = f"{scheme}://{parts.netloc.rpartition('@')[2]}{parts.path or '/'}" + \
            (f"?{parts.query}" if parts.query else "")
        curl = self._get(scheme, parts.hostname, parts.port)
        curl.setopt(pycurl.URL, target)
        curl.setopt(pycurl.HTTPGET, 1)           # resets the previous request's method and body
        if method == "HEAD":
            curl.setopt(pycurl.NOBODY, 1)
        elif body is not None:
            curl.setopt(pycurl.POSTFIELDS, body)
        curl.setopt(pycurl.CUSTOMREQUEST, None if method in ("GET", "HEAD", "POST") else method)
        curl.setopt(pycurl.HTTPHEADER, lines)
        milliseconds = max(1, int(timeout * 1000))
        curl.setopt(pycurl.TIMEOUT_MS, milliseconds)
        curl.setopt(pycurl.CONNECTTIMEOUT_MS, milliseconds)
        raw, data = io.BytesIO(), io.BytesIO()
        curl.setopt(pycurl.WRITEHEADER, raw)
        curl.setopt(pycurl.WRITEDATA, data)
        try:
            curl.perform()
        except pycurl.error as exc:   # libcurl closed that connection; the handle stays usable
            raise _error(curl, exc) from None
        return _answer(curl.getinfo(pycurl.RESPONSE_CODE), raw.getvalue(), data.getvalue())
