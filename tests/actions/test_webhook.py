"""webhook: POST {signal, decision} to a real local HTTP receiver; 5xx retried, 4xx dead-lettered."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from router.core import brain
from router.jobs import runner
from tests.actions.conftest import alert, scheduled, store


class Receiver:
    def __init__(self):
        self.requests: list[dict] = []
        self.statuses: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _answer(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.requests.append({"method": self.command, "path": self.path,
                                          "headers": dict(self.headers), "body": json.loads(raw)})
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_POST = do_PUT = _answer

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def url(self, path="/hook") -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.server.shutdown()
    r.server.server_close()


def test_webhook_posts_signal_and_decision_and_retries_on_500(redis, run_jobs, clock, receiver, rooms_env):
    receiver.statuses = [500]
    signal, = store(redis, alert())
    redis.set(brain.key_decision(signal["id"]), json.dumps({"rules_version": "v7", "evaluated_at": "now"}))
    runner.enqueue_actions(redis, [(signal["id"], "routing", "hook", 2, "webhook",
                                    {"url": receiver.url("/hook?token=abc123")})])
    run_jobs()
    (_, due), = scheduled(redis).items()
    clock.run_at(due)
    first, second = receiver.requests
    assert first["body"] == second["body"]
    assert first["headers"]["Idempotency-Key"] == second["headers"]["Idempotency-Key"]
    assert second["body"] == {"signal": signal, "decision": {
        "signal_id": signal["id"], "ruleset": "routing", "rule": "hook", "index": 2, "action": "webhook",
        "rules_version": "v7", "evaluated_at": "now"}}
    outcome, = runner.outcomes(redis, signal["id"])
    assert outcome["outcome"] == f"POST {receiver.url('/hook?token=[redacted]')}: HTTP 200"


def test_webhook_4xx_is_a_dead_letter_without_retries(redis, run_jobs, receiver, rooms_env):
    receiver.statuses = [404]
    signal, = store(redis, alert())
    runner.enqueue_actions(redis, [(signal["id"], "routing", "hook", 0, "webhook",
                                    {"url": receiver.url(), "method": "PUT", "headers": {"X-Team": "ops"},
                                     "body": {"text": "{subject} is {status}", "n": 1}})])
    run_jobs()
    assert not scheduled(redis)
    request, = receiver.requests
    assert (request["method"], request["headers"]["X-Team"]) == ("PUT", "ops")
    assert request["body"] == {"text": "web-01/HTTP is firing", "n": 1}
    letter, = brain.dead_letters(redis)
    assert (letter["endpoint"], letter["status"]) == ("action:webhook", 404)
    assert letter["reason"] == f"PUT {receiver.url()}: HTTP 404"


def test_webhook_connection_refused_is_retried(redis, run_jobs, rooms_env):
    signal, = store(redis, alert())
    runner.enqueue_actions(redis, [(signal["id"], "routing", "hook", 0, "webhook",
                                    {"url": "http://127.0.0.1:9/nothing-listens"})])
    run_jobs()
    assert len(scheduled(redis)) == 1
    assert runner.outcomes(redis, signal["id"])[0]["outcome"].startswith(
        "will retry: POST http://127.0.0.1:9/nothing-listens: ConnectionError")


def test_webhook_goes_through_the_environments_proxy_unless_bypassed(redis, run_jobs, receiver, rooms_env,
                                                                     monkeypatch):
    proxy = receiver.url("")
    monkeypatch.setenv("HTTP_PROXY", proxy)
    monkeypatch.setenv("NO_PROXY", "bypassed.example")
    signal, = store(redis, alert())
    runner.enqueue_actions(redis, [(signal["id"], "routing", "hook", 0, "webhook",
                                    {"url": "http://hooks.example/in?key=k1"})])
    run_jobs()
    request, = receiver.requests        # the proxy got the absolute URL, as HTTP proxies do
    assert request["path"] == "http://hooks.example/in?key=k1"

    monkeypatch.setenv("NO_PROXY", "hooks.example")
    other, = store(redis, alert())
    runner.enqueue_actions(redis, [(other["id"], "routing", "hook", 0, "webhook",
                                    {"url": "http://hooks.example/in"})])
    run_jobs()
    assert len(receiver.requests) == 1  # bypassed: straight to hooks.example, which does not resolve
    assert runner.outcomes(redis, other["id"])[0]["outcome"].startswith("will retry: ")


def test_webhooks_in_one_batch_each_carry_their_own_decision(redis, run_jobs, receiver, rooms_env):
    signals = store(redis, alert(), alert())
    for n, signal in enumerate(signals):
        redis.set(brain.key_decision(signal["id"]), json.dumps({"rules_version": f"v{n}", "evaluated_at": "t"}))
    runner.enqueue_actions(redis, [(s["id"], "routing", "hook", 0, "webhook", {"url": receiver.url()})
                                   for s in signals])          # two actions: one run_actions job
    run_jobs()
    sent = {r["body"]["signal"]["id"]: r["body"]["decision"]["rules_version"] for r in receiver.requests}
    assert sent == {signals[0]["id"]: "v0", signals[1]["id"]: "v1"}
