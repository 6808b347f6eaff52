"""Stress: 100,000 evaluations in one process — live engine sessions never grow, memory stays flat."""
from __future__ import annotations

import psutil
import pytest

from router.core.config import DEFAULT_RULES_DIR
from router.core.signal import Signal
from router.engine import durable as engine
from router.engine.check import check_dir
from router.engine.results import evaluate

pytestmark = pytest.mark.slow

KINDS = [("nagios", "alert", "firing", "critical"), ("alertmanager", "alert", "firing", "warning"),
         ("nagios", "alert", "resolved", "info"), ("jenkins", "build", "failed", "warning"),
         ("runscope", "test_run", "failed", "warning"), ("github", "pull_request", "opened", "info")]


def batch(n: int) -> list[dict]:
    out = []
    for i in range(100):
        source, kind, status, severity = KINDS[(n + i) % len(KINDS)]
        out.append(Signal(source=source, kind=kind, status=status, severity=severity,
                          labels={"host": f"web-{i % 13}", "env": "production" if i % 3 else "staging",
                                  "job": f"job-{i % 7}", "branch": "main" if i % 2 else "f/x", "n": str(n)}).to_dict())
    return out


def test_100k_evaluations_keep_sessions_and_memory_flat():
    rules = check_dir(DEFAULT_RULES_DIR, engine=False).rules
    eng = engine.get()
    process = psutil.Process()
    batches = [batch(n) for n in range(10)]
    evaluated = 0
    rss_after_warmup = None
    opened = eng.sessions_opened
    for n in range(1000):
        results = evaluate(None, rules, batches[n % 10])
        evaluated += len(results)
        assert engine.live_sessions() == 0
        if n == 99:
            rss_after_warmup = process.memory_info().rss
    growth = process.memory_info().rss - rss_after_warmup
    assert evaluated == 100_000
    assert eng.sessions_opened - opened == 1000 * len(rules.rulesets)   # one session per ruleset and batch
    assert growth < 16 * 2**20, f"RSS grew by {growth / 2**20:.1f} MiB"
