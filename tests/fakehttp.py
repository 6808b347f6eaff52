"""The transport under every fake outbound service (Jenkins, GitHub, Chef, Artifactory): a threaded
HTTP/1.1 server on 127.0.0.1 that records each request and answers JSON.

Real clients are pointed at `url`; nothing in a client is patched. A fake subclasses `JsonServer`
and implements `handle(method, path, query, body, headers) -> (status, headers, payload)`; it is
called under `lock` (re-entrant), so a fake's state needs no locking of its own.
"""
from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit


class JsonServer:
    def __init__(self):
        self.lock = threading.RLock()
        self.requests: list[dict] = []   # {"method", "path" (unquoted), "body", "headers"}
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # one small answer must not wait 40 ms for an ACK

            def log_message(self, *args):
                pass

            def _serve(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                with fake.lock:
                    fake.requests.append({"method": self.command, "path": unquote(parts.path), "body": body,
                                          "headers": dict(self.headers)})
                    status, headers, payload = fake.handle(self.command, parts.path, parse_qs(parts.query),
                                                           body, self.headers)
                raw = b"" if payload is None else json.dumps(payload).encode()
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    @property
    def url(self) -> str:
        """Where a client is pointed: the root, unless the service lives under a path."""
        return self.root

    def start(self):
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def handle(self, method, path, query, body, headers) -> tuple[int, dict, object]:
        raise NotImplementedError

    def made(self, method: str, pattern: str) -> list[dict]:
        """The requests recorded for `method` whose path matches `pattern` whole."""
        with self.lock:
            return [r for r in self.requests if r["method"] == method and re.fullmatch(pattern, r["path"])]

    def count(self, method: str, pattern: str) -> int:
        return len(self.made(method, pattern))
