"""`sparky up` on a port that is taken says so, names SPARKY_PORT and exits non-zero, before it
starts anything (it used to print "Sparky is up", let gunicorn fail, and exit 0)."""
from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

from router.core.config import Config, ConfigError


def test_a_taken_port_is_named_and_up_exits_non_zero(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SPARKY_", "SLACK_", "GITHUB_"))}
        env.update(SPARKY_DATA_DIR=str(tmp_path / "var"), SPARKY_PORT=str(port))
        up = subprocess.run([sys.executable, "-m", "router.cli.main", "up"], env=env, capture_output=True,
                            text=True, timeout=60)
    assert up.returncode == 1, up.stdout + up.stderr
    assert f"port {port} is taken" in up.stderr
    assert f"SPARKY_PORT={port + 1} make run" in up.stderr
    assert "Sparky is up" not in up.stdout + up.stderr
    assert not (tmp_path / "var").exists()      # nothing was started: no embedded Redis either


def test_startup_warnings_are_on_unless_turned_off():
    assert Config.from_env({}).startup_warnings is True
    assert Config.from_env({"SPARKY_STARTUP_WARNINGS": "off"}).startup_warnings is False
    with pytest.raises(ConfigError, match="SPARKY_STARTUP_WARNINGS must be on or off, got 'no'"):
        Config.from_env({"SPARKY_STARTUP_WARNINGS": "no"})


def test_up_runs_sparky_workers_worker_processes():
    from router.cli.up import processes
    from router.core.config import Config

    assert [n for n in processes(Config(), 8080, 2) if n != "web"] == ["worker"]
    assert [n for n in processes(Config.from_env({"SPARKY_WORKERS": "3"}), 8080, 2) if n != "web"] == \
        ["worker", "worker-2", "worker-3"]
