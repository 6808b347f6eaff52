"""A fake Slack Web API on 127.0.0.1 for tests: records every call, keeps posted messages per
channel (with their metadata, for conversations.history/replies), and answers with a script of
canned responses when told to (429 with Retry-After, 500, a slow answer...), else like Slack.

slack_sdk is pointed at it through SLACK_API_URL; nothing in the client is patched.
"""
from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

TOKEN = "xoxb-test-0000-token-never-shown"


@dataclass
class Scripted:
    status: int = 200
    headers: dict = field(default_factory=dict)
    body: dict | None = None
    delay: float = 0.0          # answer this late (after recording the post, like a slow Slack)
    post: bool = False          # also keep the message, as Slack would have


class FakeSlack:
    def __init__(self):
        self.calls: list[dict] = []
        self.script: deque[Scripted] = deque()
        self.messages: dict[str, list[dict]] = {}
        self.lock = threading.Lock()
        self.counter = 0
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/api/"

    def start(self) -> "FakeSlack":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def answer(self, *responses: Scripted) -> None:
        """The next chat.postMessage calls get these answers, in order."""
        with self.lock:
            self.script.extend(responses)

    def posts(self) -> list[dict]:
        """Every message Slack would show, in order of posting."""
        with self.lock:
            return sorted((m for msgs in self.messages.values() for m in msgs), key=lambda m: float(m["ts"]))

    def post_calls(self) -> list[dict]:
        with self.lock:
            return [c for c in self.calls if c["method"] == "chat.postMessage"]

    # -- server -------------------------------------------------------------------------------

    def _keep(self, body: dict) -> dict:
        self.counter += 1
        # Slack's ts is the posting time (with microseconds), unique per channel.
        self.last_ts = max(time.time(), getattr(self, "last_ts", 0) + 1e-6)
        ts = f"{self.last_ts:.6f}"
        message = {"ts": ts, "channel": body.get("channel"), "text": body.get("text"),
                   "blocks": body.get("blocks"), "metadata": body.get("metadata"),
                   "thread_ts": body.get("thread_ts"), "reply_broadcast": body.get("reply_broadcast")}
        self.messages.setdefault(body.get("channel"), []).append(message)
        return message

    def _handle(self, method: str, headers: dict, body: dict, peer: int = 0) -> tuple[int, dict, dict, float]:
        with self.lock:
            self.calls.append({"method": method, "headers": headers, "body": body, "at": time.time(),
                               "peer": peer})   # the client's port: one per connection
            if headers.get("Authorization") != f"Bearer {TOKEN}":
                return 200, {}, {"ok": False, "error": "invalid_auth"}, 0
            if method == "chat.postMessage":
                scripted = self.script.popleft() if self.script else None
                if scripted is not None and (scripted.status != 200 or scripted.body is not None):
                    if scripted.post:
                        self._keep(body)
                    return scripted.status, scripted.headers, scripted.body or {"ok": False}, scripted.delay
                message = self._keep(body)
                delay = scripted.delay if scripted else 0
                return 200, {}, {"ok": True, "channel": f"C{abs(hash(body.get('channel'))) % 10**8:08d}",
                                 "ts": message["ts"], "message": message}, delay
            if method in ("conversations.history", "conversations.replies"):
                channel = body.get("channel")
                oldest = float(body.get("oldest") or 0)
                found = [m for m in self.messages.get(channel, []) if float(m["ts"]) >= oldest]
                if method == "conversations.history":
                    found = [m for m in found if not m["thread_ts"] or m["reply_broadcast"]]
                else:
                    found = [m for m in found if body.get("ts") in (m["thread_ts"], m["ts"])]
                if body.get("include_all_metadata") not in ("1", "true", True):
                    found = [{k: v for k, v in m.items() if k != "metadata"} for m in found]
                return 200, {}, {"ok": True, "messages": list(reversed(found))}, 0
            return 200, {}, {"ok": False, "error": "unknown_method"}, 0

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _serve(self, body: dict):
                method = urlsplit(self.path).path.rsplit("/", 1)[-1]
                status, headers, answer, delay = fake._handle(method, dict(self.headers), body,
                                                              self.client_address[1])
                if delay:
                    time.sleep(delay)
                data = json.dumps(answer).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json; charset=utf-8")
                    self.send_header("Content-Length", str(len(data)))
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (timeout tests)

            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if "json" in (self.headers.get("Content-Type") or ""):
                    body = json.loads(raw or b"{}")
                else:
                    body = dict(parse_qsl(raw.decode()))
                body.update(parse_qsl(urlsplit(self.path).query))
                self._serve(body)

            def do_GET(self):
                self._serve(dict(parse_qsl(urlsplit(self.path).query)))

        return Handler
