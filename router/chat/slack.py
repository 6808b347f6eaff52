"""Slack Web API transport: a `chat.Message` becomes a Block Kit `chat.postMessage`.

slack_sdk's own retries are off (`retry_handlers=[]`): retrying is RQ's job, with backoff and a
dead-letter list at the end. Failures become `outcomes.Later` (429), `outcomes.Retryable` (5xx, timeouts)
or `outcomes.Permanent` (channel_not_found, invalid_auth...), each with a reason we write ourselves,
so no token can travel in an exception text. Every post carries message metadata with its
delivery key: after a timeout (posted or not?) the channel is searched for it before posting again.

Connections are kept alive: slack_sdk's WebClient opens a new connection (and, on https, a new
TLS handshake) for every call through urllib. `PooledWebClient` is the same client — its request
building and token, its retry handlers, its SlackApiError and SlackResponse — with only the last
step, sending the built request, done over a kept-alive connection (router/core/keepalive.py). When the
environment names a proxy (HTTP(S)_PROXY...), it sends through urllib as before, which honours it.
"""
from __future__ import annotations

import functools
import io
import logging
import os
import socket
import urllib.error
from urllib.request import Request

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError, SlackRequestError

from router.core.config import Config
from router.core.keepalive import Connections
from router.core.outcomes import Retryable, classify, retry_after

log = logging.getLogger(__name__)

METADATA_TYPE = "sparky_delivery"
TRANSIENT_ERRORS = frozenset({"internal_error", "fatal_error", "service_unavailable", "request_timeout",
                              "ratelimited"})
SECTION_LIMIT = 3000   # Block Kit's limit on a section's text


class Uncertain(Retryable):
    """No answer (timeout, dropped connection): the message may or may not have been posted."""


# The variables urllib reads proxies from (as actions/webhook.py): with any set, urllib sends.
PROXY_VARS = tuple(name for scheme in ("http", "https", "all", "no")
                   for name in (f"{scheme}_proxy", f"{scheme.upper()}_PROXY"))


class PooledWebClient(WebClient):
    """slack_sdk's WebClient, sending over kept-alive connections (see the module docstring).

    It overrides the one method that sends a built `urllib.request.Request` and answers
    `{"status", "headers", "body"}`, and keeps that method's contract: a non-2xx answer raises
    `urllib.error.HTTPError` (which the client turns into its retry handling and SlackApiError),
    no answer raises `TimeoutError` / `OSError`, as urlopen does (router/core/keepalive.py).
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._connections = Connections(self.ssl)

    def _perform_urllib_http_request_internal(self, url: str, req: Request) -> dict:
        if self.proxy is not None or any(os.environ.get(name) for name in PROXY_VARS):
            return super()._perform_urllib_http_request_internal(url, req)
        if not url.lower().startswith(("http://", "https://")):
            raise SlackRequestError(f"Invalid URL detected: {url}")
        answer = self._connections.request(req.get_method(), url, req.data, dict(req.header_items()), self.timeout)
        headers = answer.headers
        if not 200 <= answer.status < 300:
            raise urllib.error.HTTPError(url, answer.status, answer.reason, headers, io.BytesIO(answer.body))
        if headers.get_content_type() == "application/gzip":
            return {"status": answer.status, "headers": headers, "body": answer.body}
        return {"status": answer.status, "headers": headers,
                "body": answer.body.decode(headers.get_content_charset() or "utf-8")}


@functools.lru_cache(maxsize=8)
def _client(token: str, base_url: str, timeout: float) -> WebClient:
    return PooledWebClient(token=token, base_url=base_url, timeout=int(max(1, timeout)), retry_handlers=[])


def client(config: Config) -> WebClient:
    return _client(config.slack_bot_token, config.slack_api_url, config.slack_timeout)


def escape(text: str) -> str:
    """Slack's three control characters, so signal text cannot forge mentions or links."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def render(message, mention: str) -> dict:
    """chat.postMessage arguments for a message (mention already in Slack form)."""
    body = escape(message.text)
    text = f"{mention} {body}".strip() if mention else body
    headline = f"{message.emoji} {text}".strip() if message.emoji else text
    blocks: list[dict] = [{"type": "section", "text": {"type": "mrkdwn", "text": headline[:SECTION_LIMIT]}}]
    context = escape(message.context)
    if message.url:
        context = f"{context} · <{message.url}|open>" if context else f"<{message.url}|open>"
    if context:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": context}]})
    if message.buttons:
        blocks.append({"type": "actions", "block_id": "sparky_alert_actions", "elements": [
            {"type": "button", "action_id": b.action_id, "text": {"type": "plain_text", "text": b.label},
             "value": b.value, **({"style": b.style} if b.style else {})} for b in message.buttons]})
    args = {"channel": message.room, "text": text, "blocks": blocks,
            "metadata": {"event_type": METADATA_TYPE,
                         "event_payload": {"key": message.key, "signal": message.signal}}}
    if message.thread:
        args["thread_ts"] = message.thread
        if message.broadcast:
            args["reply_broadcast"] = True
    return args


def post(config: Config, args: dict) -> tuple[str, str]:
    """Post; returns (channel id, ts). Raises Later / Retryable / Uncertain / Permanent."""
    try:
        response = client(config).chat_postMessage(**args)
    except SlackApiError as exc:
        raise failure_of("chat.postMessage", exc) from None
    except (urllib.error.URLError, TimeoutError, socket.timeout, ConnectionError, OSError) as exc:
        raise Uncertain(f"Slack chat.postMessage: no answer ({type(exc).__name__})") from None
    except SlackClientError as exc:
        raise Retryable(f"Slack chat.postMessage: {type(exc).__name__}") from None
    return str(response.get("channel") or args["channel"]), str(response.get("ts") or "")


def failure_of(method: str, exc: SlackApiError) -> Exception:
    """What Slack's refusal means (router/core/outcomes.py): wait, retry or give up."""
    status = getattr(exc.response, "status_code", 0) or 0
    data = exc.response.data if isinstance(getattr(exc.response, "data", None), dict) else {}
    error = str(data.get("error") or "")[:200]
    headers = getattr(exc.response, "headers", None) or {}
    what = f"Slack {method}: HTTP {status}" + (f" {error}" if error else "")
    # Slack answers most API errors with a 200 and `ok: false`: never a success here.
    return classify(status if status >= 400 else 400, what,
                    wait=retry_after(headers.get("Retry-After") or headers.get("retry-after"), 1.0),
                    limited=error == "ratelimited", transient=error in TRANSIENT_ERRORS)


def find(config: Config, channel: str, key: str, since: float, thread: str = "") -> str | None:
    """The ts of a message we posted with delivery `key` since `since`, if Slack shows one."""
    try:
        web = client(config)
        oldest = f"{max(0.0, since - 60):.6f}"
        if thread:
            response = web.conversations_replies(channel=channel, ts=thread, oldest=oldest,
                                                 include_all_metadata=True, limit=200)
        else:
            response = web.conversations_history(channel=channel, oldest=oldest, include_all_metadata=True,
                                                 limit=200)
    except Exception as exc:  # cannot tell: post again (at least once) rather than lose it
        log.warning("could not search %s for an earlier post (%s); posting again", channel,
                    type(exc).__name__)
        return None
    for item in response.get("messages") or []:
        metadata = item.get("metadata") or {}
        payload = metadata.get("event_payload") or {}
        if metadata.get("event_type") == METADATA_TYPE and payload.get("key") == key:
            return str(item.get("ts"))
    return None
