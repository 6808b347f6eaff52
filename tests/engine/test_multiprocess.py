"""Correctness across processes: 3 gunicorn workers take the webhooks, 2 RQ worker processes
evaluate them; "3 failures of one job within 10 minutes" escalates exactly once per job, for 30
jobs whose failures arrive interleaved (the engine holds no state: the window lives in Redis)."""
from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from router.core import brain
from router.core.config import PROJECT_ROOT
from tests.conftest import free_port, payload

pytestmark = pytest.mark.slow

RULES = """\
ruleset: routing
rules:
  - name: build-failing-repeatedly
    when:
      kind: build
      status: failed
      count: {at_least: 3, within: 10m, same: [labels.job]}
    then:
      - escalate: {after: 5m, room: "#builds", mention: "@build-cop"}
  - name: default
    when: {}
    then:
      - drop: {reason: noise}
"""


def notification(job: int, build: int) -> bytes:
    raw, _ = payload("jenkins/notification.build143.finalized_failure.json")
    body = json.loads(raw)
    body.update(name=f"job-{job}", display_name=f"job-{job}", url=f"job/job-{job}/")
    body["build"].update(number=build, full_url=f"https://jenkins.example/job/job-{job}/{build}/",
                         url=f"job/job-{job}/{build}/", phase="FINALIZED", status="FAILURE")
    return json.dumps(body).encode()


def post(url: str, body: bytes) -> int:
    request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        return answer.status


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_three_failures_escalate_once_per_job_across_processes(redis, redis_url, tmp_path):
    rules_dir = tmp_path / "rules"
    rules_dir.mkdir()
    (rules_dir / "routing.yml").write_text(RULES)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPARKY_", "SLACK_", "GITHUB_"))}
    env.update(SPARKY_REDIS_URL=redis_url, SPARKY_RULES_DIR=str(rules_dir), SPARKY_DATA_DIR=str(tmp_path / "var"),
               SPARKY_SLACK_RATE="0", PYTHONPATH=str(PROJECT_ROOT))
    port = free_port()
    bin_dir = os.path.dirname(sys.executable)
    logs = open(tmp_path / "processes.log", "w")
    procs = [subprocess.Popen([os.path.join(bin_dir, "gunicorn"), "-w", "3", "-b", f"127.0.0.1:{port}",
                               "--log-level", "warning", "wsgi:app"], cwd=PROJECT_ROOT, env=env,
                              stdout=logs, stderr=subprocess.STDOUT)]
    procs += [subprocess.Popen([sys.executable, "worker.py"], cwd=PROJECT_ROOT, env=env, stdout=logs,
                               stderr=subprocess.STDOUT) for _ in range(2)]
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for(lambda: urllib.request.urlopen(f"{base}/healthz", timeout=2).status == 200, 30, "gunicorn")
        deliveries = [(job, build) for job in range(30) for build in (1, 2, 3)]
        random.Random(7).shuffle(deliveries)
        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(lambda d: post(f"{base}/hooks/jenkins", notification(*d)), deliveries))
        assert statuses == [202] * 90

        def decided() -> bool:
            return sum(1 for _ in redis.scan_iter(brain.key_decision("*"), count=500)) == 90
        wait_for(decided, 90, "90 decisions")
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
        logs.close()

    escalations: dict[str, int] = {}
    evaluated_by = set()
    for key in redis.scan_iter(brain.key_decision("*"), count=500):
        decision = json.loads(redis.get(key))
        signal = brain.load_signal(redis, decision["signal"])
        job = signal["labels"]["job"]
        matched = [m["rule"] for m in decision["rulesets"]["routing"]["matched"]]
        escalations[job] = escalations.get(job, 0) + (matched == ["build-failing-repeatedly"])
        evaluated_by.add(decision["rules_version"])
    assert escalations == {f"job-{j}": 1 for j in range(30)}, (tmp_path / "processes.log").read_text()[-3000:]
    assert len(evaluated_by) == 1
