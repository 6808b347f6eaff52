"""`sparky commands test [DIR]`: the command packs' `examples:`, run offline (no brain, no network)."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from router.core.config import Config
from router.engine import check_dir


@click.group()
def commands() -> None:
    """The command packs of the rules dir (commands/*.yml)."""


@commands.command("test")
@click.argument("directory", required=False, type=click.Path(path_type=Path))
def test_packs(directory: Path | None) -> None:
    """Check the packs and run their examples: exit 1 with one `file:line` line per problem."""
    result = check_dir(directory or Config.from_env().rules_dir, engine=False)
    if not result.ok:
        for problem in result.problems:
            click.echo(str(problem))
        sys.exit(1)
    packs = result.rules.data.get("packs") or {}
    forms = [form for word in packs.values() for form in word]
    examples = sum(len(form.examples) for form in forms)
    files = len({form.file for form in forms})
    click.echo(f"ok: {files} packs, {len(packs)} commands ({len(forms)} forms), {examples} examples passed")
