"""router/core/keepalive.py: one connection reused while the server keeps it, a new one when the
server closed it while idle, and the standard library's errors for no answer."""
from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from router.core.keepalive import Connections


class Server:
    def __init__(self, close_after: int = 0):
        self.peers: list[int] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                server.peers.append(self.client_address[1])
                self.send_response(200)
                self.send_header("Content-Length", "2")
                if close_after and len(server.peers) % close_after == 0:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                self.end_headers()
                self.wfile.write(b"ok")

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.http.daemon_threads = True
        threading.Thread(target=self.http.serve_forever, args=(0.05,), daemon=True).start()
        self.url = f"http://user:secret@127.0.0.1:{self.http.server_address[1]}/hook?x=1"

    def stop(self):
        self.http.shutdown()
        self.http.server_close()


def test_one_connection_is_kept_until_the_server_closes_it():
    server = Server(close_after=3)
    try:
        connections = Connections()
        answers = [connections.request("POST", server.url, b"{}", {"Content-Type": "application/json"}, 5)
                   for _ in range(5)]
        assert [(a.status, a.body) for a in answers] == [(200, b"ok")] * 5
        first, second = server.peers[:3], server.peers[3:]
        assert len(set(first)) == 1 and len(set(second)) == 1 and first[0] != second[0]
    finally:
        server.stop()


def test_no_answer_is_a_timeout_and_a_refused_connection_an_os_error():
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)           # accepts the connection, never answers
    try:
        with pytest.raises(TimeoutError):
            Connections().request("POST", f"http://127.0.0.1:{silent.getsockname()[1]}/", b"", {}, 0.3)
    finally:
        silent.close()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(OSError):
        Connections().request("POST", f"http://127.0.0.1:{port}/", b"", {}, 2)
