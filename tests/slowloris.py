"""Slow clients, as an attacker (or a bad network) holds them: sockets that send a request one
byte every few seconds, its headers or its body, and open again when the server closes them.

Used by the slow-client test (tests/cli/test_slow_clients.py) and bench/server_bench.py.
"""
from __future__ import annotations

import socket
import threading

# A header line that never ends: the request line and Host arrive, then the rest byte by byte.
HEADERS_START = b"POST /hooks/generic HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
HEADERS_DRIP = b"X-Drip: " + b"a" * 4000
# Complete headers announcing a body that arrives byte by byte.
BODY_START = (b"POST /hooks/generic HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
              b"Content-Length: 100000\r\n\r\n")
BODY_DRIP = b'{"subject": "' + b"s" * 99000


class SlowClients:
    """`n` slow sockets to 127.0.0.1:port, half dripping headers and half bodies, one byte per
    socket every `interval` seconds, from one thread, until `stop()`."""

    def __init__(self, port: int, n: int, interval: float = 2.0):
        self.port, self.n, self.interval = port, n, interval
        self.socks: list[list] = []        # [socket, start, drip, position]
        self.reopened = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="slowloris", daemon=True)

    def _open(self, kind: int) -> list:
        start, drip = (HEADERS_START, HEADERS_DRIP) if kind % 2 == 0 else (BODY_START, BODY_DRIP)
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        sock.sendall(start)
        return [sock, kind, drip, 0]

    def start(self) -> "SlowClients":
        self.socks = [self._open(i) for i in range(self.n)]
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            for i, entry in enumerate(self.socks):
                sock, kind, drip, pos = entry
                try:
                    sock.sendall(drip[pos % len(drip):pos % len(drip) + 1])
                    entry[3] = pos + 1
                except OSError:                  # the server closed it: an attacker opens another
                    sock.close()
                    try:
                        self.socks[i] = self._open(kind)
                        self.reopened += 1
                    except OSError:
                        pass

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        for sock, *_ in self.socks:
            sock.close()

    def __enter__(self) -> "SlowClients":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
