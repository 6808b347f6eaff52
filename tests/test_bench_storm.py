"""The storm bench's own arithmetic (bench/storm_bench.py, bench/poster.py, bench/sampling.py), not
the bench: what it counts as "every alert counted", "drained", and a 503 retried, so a number it
prints means what RESULTS.md says. The client is tried against a real HTTP server in a thread."""
from __future__ import annotations

import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

from poster import Poster, due_times, retry_wait  # noqa: E402
from sampling import children_map, rss_mb, tree  # noqa: E402
from storm_bench import batches, counted, drained_at  # noqa: E402


def test_batches_cover_every_alert_once_with_distinct_instances():
    posts = batches(130, 64)
    assert [len(p) for p in posts] == [64, 64, 2]
    instances = {a["labels"]["instance"] for p in posts for a in p}
    assert len(instances) == 130
    assert {a["labels"]["alertname"] for p in posts for a in p} == {"NodeDown"}


def test_posts_are_due_evenly_over_the_storm():
    assert due_times(4, 2.0) == [0.0, 0.5, 1.0, 1.5]
    assert due_times(3, 0) == [0.0, 0.0, 0.0]


def test_a_503_waits_its_retry_after_or_the_cap():
    assert retry_wait("10", None) == 10.0
    assert retry_wait("10", 0.5) == 0.5
    assert retry_wait(None, None) == 1.0
    assert retry_wait("Wed, 21 Oct 2026 07:28:00 GMT", None) == 1.0


def test_window_counts_add_up_and_a_cumulative_group_counts_its_largest():
    messages = [{"t": 3.0, "firing": 40}, {"t": 1.0, "firing": 60}, {"t": 2.0, "firing": None}]
    assert counted(messages, cumulative=False) == (100, 3.0)
    assert counted(messages, cumulative=True) == (60, 1.0)
    assert counted([], cumulative=False) == (0, None)


def test_drained_is_the_first_empty_backlog_after_the_last_accept():
    probes = [(1.0, (0, 0, 0)), (2.0, (5, 1, 0)), (3.0, (0, 0, 2)), (4.0, (0, 0, 0))]
    assert drained_at(probes, after=1.5) == 4.0
    assert drained_at(probes[:3], after=1.5) is None


def test_this_process_is_in_its_own_tree_with_a_resident_size():
    assert os.getpid() in tree(os.getpid(), children_map())
    assert rss_mb(os.getpid()) > 1


def test_the_client_retries_503s_until_every_body_is_taken():
    seen = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            seen.append(1)
            busy = len(seen) <= 2
            self.send_response(503 if busy else 202)
            if busy:
                self.send_header("Retry-After", "30")
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        bodies = batches(10, 3)
        poster = Poster(server.server_address[1], bodies, due_times(len(bodies), 0), 0.01, 2).run()
    finally:
        server.shutdown()
    assert (poster.accepted, poster.alerts, poster.refused, poster.failed) == (4, 10, 2, 0)
