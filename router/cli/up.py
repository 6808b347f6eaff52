"""`sparky up`: everything on this machine — Redis (embedded unless SPARKY_REDIS_URL), the web
server, a worker and, when XMPP_JID is set, `sparky xmpp` (the XMPP connection) — until Ctrl-C.

The web server is granian (docs/production.md: measured against gunicorn with slow clients open).
The children die with `sparky up`, even when it is killed with SIGKILL, and a pidfile in the data
dir lets the next `sparky up` stop whatever a dead one left running (router/core/lifeline.py)."""
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
from router.core.lifeline import Pidfile, die_with_parent


def _spawn(args: list[str], env: dict) -> subprocess.Popen:
    return subprocess.Popen(args, env=env, cwd=PROJECT_ROOT, preexec_fn=die_with_parent())


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


def web_server(port: int, workers: int, threads: int) -> list[str]:
    """granian running wsgi:app. Its connections are async (a slow client holds no process);
    a request's body is read by the thread that runs the app, so a slow body holds a thread:
    hence many threads, idle ones cheap and stopped after 30 s (docs/production.md)."""
    return [str(Path(sys.executable).parent / "granian"), "--interface", "wsgi", "--no-ws",
            "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
            "--blocking-threads", str(threads),
            # a client that has not sent its headers in 10 s is dropped (granian's default: 30)
            "--http1-header-read-timeout", "10000",
            "--respawn-failed-workers", "--workers-kill-timeout", "5",
            # error: not granian's "threads seem high" warning on every start
            "--log-level", "error", "wsgi:app"]


def processes(cfg: Config, port: int, web_workers: int) -> dict[str, list[str]]:
    """What `sparky up` runs besides Redis: name → command line."""
    procs = {"web": web_server(port, web_workers, cfg.web_threads)}
    # SPARKY_WORKERS (1): while a flood lasts, one worker runs the drain job (evaluation, one at a
    # time by design) and the evaluation queue comes first, so a second one is what delivers meanwhile.
    for n in range(1, cfg.workers + 1):
        procs["worker" if n == 1 else f"worker-{n}"] = [sys.executable, str(PROJECT_ROOT / "worker.py")]
    if cfg.xmpp_jid:
        procs["xmpp"] = [sys.executable, "-m", "router.cli.main", "xmpp"]
    return procs


@click.command()
@click.option("--port", type=int, default=None, help="web port (default SPARKY_PORT, 8080)")
@click.option("--web-workers", type=int, default=None,
              help="web server processes (default SPARKY_WEB_WORKERS, 2)")
def up(port: int | None, web_workers: int | None) -> None:
    """Start everything on this machine: Redis (embedded unless SPARKY_REDIS_URL), web, worker, xmpp."""
    cfg = Config.from_env()
    port = port or cfg.port
    web_workers = web_workers or cfg.web_workers
    pidfile = Pidfile(cfg.data_dir.resolve())
    running = pidfile.live_supervisor()
    if running:
        raise click.ClickException(f"another `sparky up` (pid {running}) runs on {cfg.data_dir.resolve()}; "
                                   "stop it first")
    left = pidfile.stop_leftovers()
    if left:
        click.echo("stopped what a `sparky up` that died left running: "
                   + ", ".join(f"{name} (pid {pid})" for name, pid in sorted(left.items())), err=True)
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
        server.start(preexec_fn=die_with_parent())
        env["SPARKY_REDIS_URL"] = server.url
        click.echo(f"brain: embedded Redis, data in {data_dir} (append-only file on)")
    if cfg.startup_warnings:
        for line in cfg.unverified_sources():
            click.echo(f"warning: UNVERIFIED {line}", err=True)

    commands = processes(cfg, port, web_workers)
    procs = {name: _spawn(command, env) for name, command in commands.items()}

    def _record() -> None:
        children = {name: (proc.pid, commands[name]) for name, proc in procs.items()}
        if server is not None and server.process is not None:
            children["redis"] = (server.process.pid, [embedded.SERVER_BINARY])
        pidfile.write(children)

    _record()

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
            for name in [n for n in procs if n != "web"]:
                proc = procs.get(name)
                if proc is None or proc.poll() is None:
                    continue
                if name == "xmpp" and proc.returncode == 1:
                    # refused (its error is above, e.g. a wrong password): restarting would not help
                    click.echo("sparky xmpp exited with 1; not restarted (its error is above)", err=True)
                    del procs[name]
                    continue
                # A job that crashed the worker (or the XMPP connection's process) must not stop
                # delivery: restart it.
                click.echo(f"{name} exited with {proc.returncode}; restarting", err=True)
                procs[name] = _spawn(commands[name], env)
                _record()
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
        pidfile.remove()
        click.echo("stopped.")
    if failed:
        sys.exit(1)
