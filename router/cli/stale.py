"""`sparky scan [NAME]` and `sparky stale [OWNER]` (SPEC §8) from a terminal."""
from __future__ import annotations

import json
import os

import click
from redis import Redis

from router.app import resolve_redis
from router.core import connections
from router.core.config import Config
from router.engine import RulesUnavailable
from router.stale import cron, inventory, scans
from router.stale.listing import format_items, stale_items


def _setup() -> tuple[Redis, Config]:
    config = resolve_redis(Config.from_env())
    return connections.connect(config.redis_url), config


@click.command("scan")
@click.argument("name", required=False)
@click.option("--queue", "queued", is_flag=True, help="queue the run for a worker instead of running it here")
@click.option("--list", "listing", is_flag=True, help="list the scans in force and their last runs")
def scan(name: str | None, queued: bool, listing: bool) -> None:
    """Run scan NAME of stale.yml now (every scan without NAME), and print what it found.

    The signals go through the rules like any others: nags follow on the workers.
    """
    conn, config = _setup()
    try:
        in_force = scans.in_force(conn, config)
        if listing:
            upcoming = cron.next_runs(conn, config)
            last = inventory.summaries(conn)
            for s in in_force.values():
                ran = last.get(s.name) or {}
                click.echo(f"{s.name:<16} {s.type:<13} {s.schedule!r:<18} next {upcoming.get(s.name, '?')}  "
                           f"last {ran.get('at', 'never')} "
                           f"({ran.get('found', 0)} found, {ran.get('idle', 0)} idle)"
                           + (f"  error: {ran['error']}" if ran.get("error") else ""))
            return
        names = [name] if name else list(in_force)
        if not names:
            raise click.ClickException("no scans: add `scans:` to stale.yml")
        failed = False
        for each in names:
            if queued:
                job_id, run_id = scans.enqueue(conn, config, each, trigger="cli")
                click.echo(f"{each}: queued as job {job_id} (run {run_id})")
                continue
            try:
                summary = scans.run(conn, config, each, trigger="cli", holder=f"cli:{os.getpid()}")
            except scans.UnknownScan:
                raise
            except Exception as exc:  # Later / Retryable / Permanent from a system: say it, go on
                failed = True
                click.echo(f"{each}: failed: {exc}", err=True)
                continue
            click.echo(f"{each}: {summary['found']} found, {summary['idle']} idle, "
                       f"{summary['accepted']} signals accepted in {summary['seconds']}s "
                       f"(run {summary['run']})")
        if failed:
            raise SystemExit(1)
    except scans.UnknownScan as exc:
        raise click.ClickException(str(exc)) from None
    except RulesUnavailable as exc:
        raise click.ClickException(str(exc)) from None


@click.command("stale")
@click.argument("owner", required=False)
@click.option("--json", "as_json", is_flag=True, help="print the items as JSON")
def stale(owner: str | None, as_json: bool) -> None:
    """List the idle items of the last scans (OWNER's only, with OWNER), and what was done about them."""
    conn, config = _setup()
    items = stale_items(conn, owner or "", config.rules_dir)
    if as_json:
        click.echo(json.dumps(items, indent=1))
    else:
        click.echo(format_items(items, owner or "", limit=200))


def register(main: click.Group) -> None:
    main.add_command(scan)
    main.add_command(stale)
