"""The app behind a real HTTP server (werkzeug's, threaded) on a free loopback port, for tests
that must go over real HTTP: headers on the wire, bodies as a sender sends them."""
from __future__ import annotations

import contextlib
import threading
from typing import Iterator

from werkzeug.serving import make_server


@contextlib.contextmanager
def serving(app) -> Iterator[str]:
    """Serve `app` while the block runs; yields its base URL (http://127.0.0.1:PORT)."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join()
