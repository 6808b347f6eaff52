"""`sparky rules check|test|reload` (SPEC §4), after `amtool check-config` / `amtool config routes test`."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from redis import Redis
from redis.exceptions import RedisError

from router.app import connect, resolve_redis
from router.core import connections
from router.core.config import Config
from router.core.embedded import EmbeddedRedis
from router.engine import check_dir, reload
from router.engine.dryrun import DryRunError, default_headers, dry_run, parse_at, signals_from


@click.group()
def rules() -> None:
    """Check, test and reload the rule files."""


@rules.command()
@click.argument("directory", required=False, type=click.Path(path_type=Path))
def check(directory: Path | None) -> None:
    """Check a rules dir (default SPARKY_RULES_DIR): exit 1 with one line per problem."""
    path = directory or Config.from_env().rules_dir
    result = check_dir(path)
    if not result.ok:
        for problem in result.problems:
            click.echo(str(problem))
        sys.exit(1)
    loaded = result.rules
    tests = sum(len(c.ruleset.tests) for c in loaded.rulesets)
    count = sum(len(c.ruleset.rules) for c in loaded.rulesets)
    forms = [form for word in (loaded.data.get("packs") or {}).values() for form in word]
    packs = (f", {len({f.file for f in forms})} command packs ({sum(len(f.examples) for f in forms)} examples passed)"
             if forms else "")
    click.echo(f"ok: {len(loaded.rulesets)} rulesets, {count} rules, {tests} inline tests passed{packs} "
               f"(version {loaded.version})")


@rules.command("test")
@click.argument("source")
@click.argument("payload", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--headers", "headers_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="JSON object of request headers (default: PAYLOAD's .headers.json sibling, if any)")
@click.option("--at", "at", help="evaluate as if received at this time (ISO 8601, UTC by default)")
@click.option("--rules", "rules_dir", type=click.Path(path_type=Path),
              help="rules dir to test (default SPARKY_RULES_DIR)")
def test_payload(source: str, payload: Path, headers_file: Path | None, at: str | None,
                 rules_dir: Path | None) -> None:
    """Run a real payload through the adapter and the rules, without side effects; print JSON."""
    config = Config.from_env()
    result = check_dir(rules_dir or config.rules_dir, engine=False)
    if not result.ok:
        for problem in result.problems:
            click.echo(str(problem), err=True)
        sys.exit(1)
    sibling = payload.with_name(payload.name.rsplit(".", 1)[0] + ".headers.json")
    headers_file = headers_file or (sibling if sibling.exists() else None)
    headers = json.loads(headers_file.read_text()) if headers_file else default_headers(payload.name)
    try:
        when = parse_at(at) if at else None
        signals = signals_from(source, payload.read_bytes(), headers)
    except DryRunError as exc:
        raise click.ClickException(str(exc)) from None
    conn = _brain(config)
    if conn is None:
        click.echo("note: no brain reachable; brain-derived fields read as false/0", err=True)
    click.echo(json.dumps(dry_run(conn, result.rules, signals, when), indent=2, ensure_ascii=False))


@rules.command("reload")
def reload_rules() -> None:
    """Check SPARKY_RULES_DIR and make it the rules in force in every process."""
    config = resolve_redis(Config.from_env())
    outcome = reload(connect(config), config.rules_dir, by="cli")
    if not outcome.ok:
        for problem in outcome.problems:
            click.echo(str(problem))
        click.echo(f"refused; version {outcome.version or '(none)'} stays in force", err=True)
        sys.exit(1)
    click.echo(f"version {outcome.version} in force" + ("" if outcome.changed else " (unchanged)"))


def _brain(config: Config) -> Redis | None:
    """The brain to read, if one is reachable: SPARKY_REDIS_URL, or a running embedded Redis."""
    url = config.redis_url
    if not url:
        server = EmbeddedRedis(config.data_dir)
        url = server.url if server.socket.exists() else ""
    if not url:
        return None
    conn = connections.connect(url, socket_timeout=2, socket_connect_timeout=1)
    try:
        conn.ping()
    except (RedisError, OSError):
        return None
    return conn
