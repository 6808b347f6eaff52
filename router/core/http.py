"""Outbound HTTP to the systems Sparky asks (GitHub, Chef, Artifactory): one `requests.Session` per
system, pagination by Link header, and failures classified as every outbound call's are
(router/core/outcomes.py):

- 429, or 403 with `X-RateLimit-Remaining: 0` (GitHub's primary and secondary limits) → `Later`
  with the wait the server asked for (`Retry-After`, else `X-RateLimit-Reset`);
- 5xx, timeouts, refused connections → `Retryable`;
- any other 4xx → `Permanent`, unless the caller said the status is an answer (`ok=(404,)`).

Error texts name the system, the method and the path, never a header or a token, and are
scrubbed of the client's secrets all the same.
"""
from __future__ import annotations

import os
import time
from typing import Iterator
from urllib.parse import urlsplit

import requests

from router.core.outcomes import Permanent, Retryable, classify

USER_AGENT = "sparky/1 (+https://github.com/acme/sparky)"
MAX_PAGES = 10_000      # a Link chain longer than this is a server bug, not an inventory


class Client:
    """A base URL, default headers (auth), a timeout, and the secrets to keep out of errors."""

    def __init__(self, system: str, base_url: str, headers: dict | None = None, timeout: float = 30.0,
                 secrets: tuple[str, ...] = (), auth: requests.auth.AuthBase | None = None):
        self.system = system
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.secrets = tuple(s for s in secrets if s and len(s) >= 4)
        self.session = requests.Session()
        self.session.headers.update({"User-Agent": USER_AGENT, **(headers or {})})
        self.session.auth = auth
        # The environment's proxies and CA bundle are read once here rather than on every request
        # (requests re-reads os.environ per request: a third of a 5,000-PR scan's time).
        self.session.proxies.update(requests.utils.get_environ_proxies(self.base_url))
        bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
        if bundle:
            self.session.verify = bundle
        self.session.trust_env = False
        self.calls = 0

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else f"{self.base_url}/{path.lstrip('/')}"

    def scrub(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "[redacted]")
        return text

    def request(self, method: str, path: str, ok: tuple[int, ...] = (), **kwargs) -> requests.Response:
        url = self.url(path)
        where = f"{self.system}: {method} {urlsplit(url).path}"
        self.calls += 1
        try:
            response = self.session.request(method, url, timeout=self.timeout, **kwargs)
        except requests.Timeout:
            raise Retryable(f"{where}: no answer within {self.timeout:g}s") from None
        except requests.ConnectionError as exc:
            raise Retryable(self.scrub(f"{where}: cannot connect ({type(exc).__name__})")) from None
        except requests.RequestException as exc:
            raise Permanent(self.scrub(f"{where}: {type(exc).__name__}")) from None
        status = response.status_code
        if status < 400 or status in ok:
            return response
        reason = self.scrub(f"{where}: {status} {_message(response)}".strip())
        # GitHub's primary and secondary rate limits answer 403 with no requests remaining
        raise classify(status, reason, wait=_wait(response),
                       limited=status == 403 and response.headers.get("X-RateLimit-Remaining") == "0")

    def json(self, method: str, path: str, **kwargs) -> object:
        response = self.request(method, path, **kwargs)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            where = f"{self.system}: {method} {urlsplit(response.url).path}"
            raise Retryable(f"{where}: answer is not JSON") from None

    def pages(self, path: str, params: dict | None = None) -> Iterator[list]:
        """GET `path`, then every `rel="next"` page it links to; yields each page's list."""
        url, page_params = self.url(path), dict(params or {})
        for _ in range(MAX_PAGES):
            response = self.request("GET", url, params=page_params)
            try:
                body = response.json()
            except ValueError:
                raise Retryable(f"{self.system}: GET {urlsplit(url).path}: answer is not JSON") from None
            yield body if isinstance(body, list) else []
            following = response.links.get("next", {}).get("url")
            if not following:
                return
            url, page_params = following, None  # the next link carries the query already
        raise Permanent(f"{self.system}: GET {urlsplit(path).path}: more than {MAX_PAGES} pages")


def _message(response: requests.Response) -> str:
    """The server's own one-line reason, if it gave one (GitHub's `message`, Artifactory's `errors`,
    Alertmanager's string)."""
    try:
        body = response.json()
    except ValueError:
        return response.reason or ""
    if isinstance(body, str):          # Alertmanager's API v2 answers errors as a JSON string
        return body[:200]
    if isinstance(body, dict):
        if isinstance(body.get("message"), str):
            return body["message"][:200]
        errors = body.get("errors") or body.get("error")
        if isinstance(errors, list) and errors:
            first = errors[0]
            return str(first.get("message", first) if isinstance(first, dict) else first)[:200]
        if isinstance(errors, str):
            return errors[:200]
    return response.reason or ""


def _wait(response: requests.Response) -> float:
    after = response.headers.get("Retry-After", "")
    if after.isdigit():
        return float(after)
    reset = response.headers.get("X-RateLimit-Reset", "")
    if reset.isdigit():
        return max(1.0, float(reset) - time.time())
    return 60.0
