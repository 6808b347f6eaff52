"""A tiny HTTP sink that counts what it receives: it stands in for Slack's chat.postMessage (it
answers like the Web API) and for a webhook receiver, in benchmarks.

The same logic as the shared benchmark sink, plus arrival times: every body that carries
`seq=<n>` records when it arrived, so a benchmark can measure POST → message latency. And
TCP_NODELAY on its sockets: it answers in two writes (headers, body), and with Nagle's algorithm
on, a client that keeps the connection alive waits for its own delayed ACK (40 ms) before the
body comes — a stall no real chat service or receiver adds.

GET /_stats returns {"requests": n, "alerts": m, "paths": {...}, "bodies": [...last 50...]};
GET /_arrivals returns {"<seq>": epoch seconds of its first arrival}; GET /_messages returns one
small record per request, every request: {"t": arrival, "path", "alerts", "firing": N of the
first `FIRING:N` in the body (a grouped message's count: Sparky's group and Alertmanager's Slack
title both write it) or null}; GET /_reset clears all three.

usage: python bench/sink.py [PORT]
"""
import json
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
STATS = {"requests": 0, "alerts": 0, "bodies": [], "paths": {}}
ARRIVALS: dict[str, float] = {}
MESSAGES: list[dict] = []
SEQ = re.compile(rb"seq=(\d+)")
FIRING = re.compile(rb"FIRING:(\d+)")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def _reply(self, code, obj):
        data = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path.startswith("/_stats"):
            with LOCK:
                self._reply(200, STATS)
        elif self.path.startswith("/_arrivals"):
            with LOCK:
                self._reply(200, ARRIVALS)
        elif self.path.startswith("/_messages"):
            with LOCK:
                self._reply(200, MESSAGES)
        elif self.path.startswith("/_reset"):
            with LOCK:
                STATS.update(requests=0, alerts=0, bodies=[], paths={})
                ARRIVALS.clear()
                MESSAGES.clear()
            self._reply(200, {"ok": True})
        else:
            self._reply(404, {"ok": False})

    def do_POST(self):
        now = time.time()
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n)
        ctype = self.headers.get("Content-Type", "")
        try:
            body = json.loads(raw) if "json" in ctype else {"form": raw.decode()}
        except Exception:
            body = {"unparsed": raw[:200].decode(errors="replace")}
        alerts = len(body.get("alerts", [])) if isinstance(body, dict) else 0
        seqs = dict.fromkeys(m.decode() for m in SEQ.findall(raw))
        firing = FIRING.search(raw)
        with LOCK:
            STATS["requests"] += 1
            STATS["alerts"] += alerts or 1
            STATS["paths"][self.path] = STATS["paths"].get(self.path, 0) + 1
            STATS["bodies"] = (STATS["bodies"] + [{"path": self.path, "body": body}])[-50:]
            for seq in seqs:
                ARRIVALS.setdefault(seq, now)
            MESSAGES.append({"t": now, "path": self.path, "alerts": alerts,
                             "firing": int(firing.group(1)) if firing else None})
        # Slack Web API style answer, good enough for slack_sdk.WebClient
        self._reply(200, {"ok": True, "channel": "C000", "ts": "1700000000.000100"})


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8999
    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
