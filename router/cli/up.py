"""`sparky up`: everything on this machine — Redis (embedded unless SPARKY_REDIS_URL), the web
server and a worker — until Ctrl-C."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import click

from router.core import embedded
from router.core.config import PROJECT_ROOT, Config


def _spawn(args: list[str], env: dict) -> subprocess.Popen:
    return subprocess.Popen(args, env=env, cwd=PROJECT_ROOT)


def _port_taken(port: int) -> bool:
    """Whether something already listens on (or holds) 127.0.0.1:port: asked before anything starts."""
    with socket.socket() as probe:
        # as the web server will: a port whose last connections linger in TIME_WAIT is free
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def _listening(proc: subprocess.Popen, port: int, timeout: float = 60.0) -> bool:
    """Wait until the web server accepts connections on the port; False if it exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.1)
    return False


@click.command()
@click.option("--port", type=int, default=None, help="web port (default SPARKY_PORT, 8080)")
@click.option("--web-workers", type=int, default=2, show_default=True)
def up(port: int | None, web_workers: int) -> None:
    """Start everything on this machine: Redis (embedded unless SPARKY_REDIS_URL), web, worker."""
    cfg = Config.from_env()
    port = port or cfg.port
    if _port_taken(port):
        raise click.ClickException(
            f"port {port} is taken (another Sparky, or another program): set SPARKY_PORT to a free one, "
            f"e.g. SPARKY_PORT={port + 1} make run (or sparky up --port {port + 1})")
    # The processes started here do not repeat the start-up warnings printed below.
    env = {**os.environ, "SPARKY_STARTUP_WARNINGS": "off"}
    server = None
    if not cfg.redis_url:
        data_dir = cfg.data_dir.resolve()
        server = embedded.EmbeddedRedis(data_dir)
        if server.socket.exists() and server.ping():
            raise click.ClickException(f"an embedded Redis for {data_dir} is already running "
                                       "(another `sparky up`?); stop it first")
        server.socket.unlink(missing_ok=True)
        server.start()
        env["SPARKY_REDIS_URL"] = server.url
        click.echo(f"brain: embedded Redis, data in {data_dir} (append-only file on)")
    if cfg.startup_warnings:
        for line in cfg.unverified_sources():
            click.echo(f"warning: UNVERIFIED {line}", err=True)

    bin_dir = Path(sys.executable).parent
    web_cmd = [str(bin_dir / "gunicorn"), "-w", str(web_workers), "-b", f"127.0.0.1:{port}",
               "--graceful-timeout", "5", "--log-level", "warning", "wsgi:app"]
    worker_cmd = [sys.executable, str(PROJECT_ROOT / "worker.py")]
    procs = {"web": _spawn(web_cmd, env), "worker": _spawn(worker_cmd, env)}

    stopping = False
    failed = ""

    def _stop(signum, frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    try:
        if not _listening(procs["web"], port):
            if not stopping:
                failed = f"the web server did not start on port {port} (its error is above)"
        else:
            click.echo(f"Sparky is up: dashboard and API at http://127.0.0.1:{port}/ "
                       f"(health: /healthz, signals: /api/signals). Ctrl-C stops it.")
        while not stopping and not failed:
            time.sleep(0.5)
            if procs["web"].poll() is not None:
                failed = f"the web server exited with {procs['web'].returncode}"
                break
            if procs["worker"].poll() is not None:
                # A job that crashed the worker process must not stop delivery: restart it.
                click.echo(f"worker exited with {procs['worker'].returncode}; restarting", err=True)
                procs["worker"] = _spawn(worker_cmd, env)
    finally:
        if failed:
            click.echo(f"{failed}; stopping", err=True)
        click.echo("stopping...")
        for proc in procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs.values():
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
        if server is not None:
            server.stop()
        click.echo("stopped.")
    if failed:
        sys.exit(1)
