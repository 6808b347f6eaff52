"""`sparky up` as a user runs it: real embedded Redis, granian, a real worker process, real HTTP.

Posts a captured Nagios notification, waits for the worker to evaluate it, stops with Ctrl-C
(SIGINT), starts again on the same data dir and finds the signal still there.
"""
from __future__ import annotations

import pytest

from tests.conftest import free_port, payload
from tests.sparkyup import http, start, stop, wait_for

pytestmark = pytest.mark.slow


def test_sparky_up_ingests_evaluates_and_survives_restart(tmp_path):
    port = free_port()
    proc, base = start(tmp_path / "var", port)
    try:
        body, headers = payload("nagios/slack_nagios_pl.service_problem.form")
        status, answer = http("POST", f"{base}/hooks/nagios", body, headers)
        assert status == 202 and answer["accepted"] == 1
        sid = answer["signals"][0]
        status, signal_ = http("GET", f"{base}/api/signals/{sid}")
        assert status == 200 and signal_["subject"] == "web-01/HTTP"
        # the worker process picks the evaluation job up
        wait_for(lambda: http("GET", f"{base}/api/signals/{sid}/decision")[0] == 200)
    finally:
        out = stop(proc)
    assert proc.returncode == 0, out
    assert f"dashboard and API at http://127.0.0.1:{port}/" in out
    assert "stopped." in out
    assert not (tmp_path / "var" / "redis.sock").exists() or not _redis_alive(tmp_path / "var")

    proc, base = start(tmp_path / "var", port)
    try:
        status, signal_ = http("GET", f"{base}/api/signals/{sid}")
        assert status == 200 and signal_["id"] == sid
    finally:
        stop(proc)


def _redis_alive(data_dir) -> bool:
    from router.core.embedded import EmbeddedRedis

    return EmbeddedRedis(data_dir).ping()


def test_sparky_up_prints_each_start_up_warning_once(tmp_path):
    """Not once per process (the CLI, then each web server process): the first screen must stay readable."""
    proc, _base = start(tmp_path / "var", free_port())
    out = stop(proc)
    assert proc.returncode == 0, out
    unverified = [line for line in out.splitlines() if "UNVERIFIED" in line]
    assert unverified == ["warning: UNVERIFIED github (GITHUB_WEBHOOK_SECRET unset)",
                          "warning: UNVERIFIED slack (SLACK_SIGNING_SECRET unset)",
                          "warning: UNVERIFIED nagios, alertmanager, jenkins, runscope, generic "
                          "(SPARKY_HOOK_TOKENS unset)"], out
    assert out.count("Sparky is up") == 1
