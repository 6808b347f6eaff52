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


class RawServer:
    """Reads each request whole and answers `answers` in turn on one connection; a `None` answer
    is a late one: it is sent only after the next request arrived (the client gave up on it)."""

    def __init__(self, answers: list[bytes | None], context=None):
        self.requests: list[bytes] = []
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        self.context = context
        threading.Thread(target=self.serve, args=(answers,), daemon=True).start()

    def read_request(self, conn) -> bytes:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return b""
            data += chunk
        head = data.split(b"\r\n\r\n", 1)[0].lower()
        length = int(head.split(b"content-length:", 1)[1].split(b"\r\n")[0]) if b"content-length:" in head else 0
        while len(data.split(b"\r\n\r\n", 1)[1]) < length:
            data += conn.recv(65536)
        return data

    def serve(self, answers):
        late = b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nlate"
        while answers:
            conn, _ = self.sock.accept()
            if self.context is not None:
                try:
                    conn = self.context.wrap_socket(conn, server_side=True)
                except OSError:   # the client refused our certificate
                    continue
            with conn:
                while answers:
                    request = self.read_request(conn)
                    if not request:
                        break
                    self.requests.append(request)
                    answer = answers.pop(0)
                    if answer is None:
                        self.requests.append(self.read_request(conn))   # on this connection, if reused
                        conn.sendall(late)
                        break
                    conn.sendall(answer)


def test_exactly_the_given_headers_are_sent_without_the_url_credentials():
    server = RawServer([b"HTTP/1.1 429 Too Many\r\nRetry-After: 7\r\nContent-Type: text/plain; charset=utf-8\r\n"
                        b"Content-Length: 2\r\n\r\nno"])
    answer = Connections().request("POST", f"http://user:secret@127.0.0.1:{server.port}/a/../b?x=1#top", b"{}",
                                   {"Content-Type": "application/json", "X-Key": "k"}, 5)
    assert (answer.status, answer.reason, answer.body) == (429, "Too Many", b"no")
    assert answer.headers.get("retry-after") == "7" and answer.headers.get_content_charset() == "utf-8"
    head, body = server.requests[0].split(b"\r\n\r\n")
    line, *fields = head.decode().split("\r\n")
    assert line == "POST /a/../b?x=1 HTTP/1.1" and body == b"{}"
    assert sorted(fields) == sorted([f"Host: 127.0.0.1:{server.port}", "Content-Type: application/json",
                                     "X-Key: k", "Accept-Encoding: identity", "Content-Length: 2"])
    with pytest.raises(ValueError):
        Connections().request("POST", f"http://127.0.0.1:{server.port}/", b"", {"X": "a\r\nEvil: 1"}, 5)
    with pytest.raises(ValueError):
        Connections().request("POST", "ftp://127.0.0.1/", b"", {}, 5)


def test_a_request_that_timed_out_leaves_no_answer_for_the_next():
    server = RawServer([None, b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfresh"])
    connections = Connections()
    url = f"http://127.0.0.1:{server.port}/"
    with pytest.raises(TimeoutError):
        connections.request("POST", url, b"1", {}, 0.3)
    assert connections.request("POST", url, b"2", {}, 5).body == b"fresh"
    assert server.requests[1] == b""   # the timed-out connection was closed, not reused


def test_https_trusts_the_contexts_certificates_or_none_when_it_does_not_verify(tmp_path):
    import datetime
    import ssl

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    # Valid for a century, not around "now": the suite may run moved in time (tests/timetravel.py),
    # and OpenSSL checks the certificate against the machine's real clock.
    utc = datetime.timezone.utc
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(datetime.datetime(2000, 1, 1, tzinfo=utc))
            .not_valid_after(datetime.datetime(2100, 1, 1, tzinfo=utc))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    pem = cert.public_bytes(serialization.Encoding.PEM)
    (tmp_path / "cert.pem").write_bytes(pem)
    (tmp_path / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                         serialization.NoEncryption()))
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    ok = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    server = RawServer([ok, ok], server_context)
    url = f"https://localhost:{server.port}/"
    with pytest.raises(ssl.SSLError):   # not in the system's bundle
        Connections().request("POST", url, b"", {}, 5)
    trusting = Connections(ssl.create_default_context(cadata=pem.decode()))
    assert [trusting.request("POST", url, b"", {}, 5).body for _ in range(2)] == [b"ok", b"ok"]
    unverified = ssl.create_default_context()
    unverified.check_hostname, unverified.verify_mode = False, ssl.CERT_NONE
    other = RawServer([ok], server_context)   # the first still serves the kept-alive connection
    assert Connections(unverified).request("POST", f"https://localhost:{other.port}/", b"", {}, 5).body == b"ok"
