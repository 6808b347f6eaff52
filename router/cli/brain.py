"""`sparky brain export|import`: the brain as readable JSON (types and TTLs kept)."""
from __future__ import annotations

import json

import click

from router.app import connect, resolve_redis
from router.core import backup
from router.core.config import Config


def _brain_conn():
    return connect(resolve_redis(Config.from_env()))


@click.group()
def brain() -> None:
    """Export the brain to a JSON file, or import one."""


@brain.command("export")
@click.argument("path", type=click.Path(dir_okay=False, writable=True, allow_dash=True))
def brain_export(path: str) -> None:
    """Write every sparky: key (type, TTL, value) to PATH as JSON ("-" for stdout)."""

    data = backup.export(_brain_conn())
    with click.open_file(path, "w") as out:
        json.dump(data, out, indent=1, sort_keys=True)
    if path != "-":
        click.echo(f"exported {len(data['keys'])} keys to {path}")


@brain.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option("--replace", is_flag=True, help="overwrite keys that already exist")
def brain_import(path: str, replace: bool) -> None:
    """Load a brain export; existing keys are kept unless --replace."""

    with click.open_file(path) as src:
        try:
            data = json.load(src)
            written = backup.import_(_brain_conn(), data, replace=replace)
        except (ValueError, json.JSONDecodeError) as exc:
            raise click.ClickException(f"{path}: {exc}") from None
    click.echo(f"imported {written} keys from {path}")
