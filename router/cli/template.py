"""`sparky template render FILE --signal PAYLOAD`: preview a message template (router/core/templates.py).

FILE holds the template as a rule's `template:` (or a group's `message:`) would: `{field}`
placeholders, or Jinja (sandboxed) with conditionals and loops. PAYLOAD is a JSON signal (the
fields rules read: source, kind, status, severity, summary, labels, ...; a list for several), or
with `--source` a real payload read by that source's adapter, as `sparky rules test` reads it.
With `--group` the template is rendered once, as a group's `message:` over all the signals
(actions/group.py `group_view`: label, counts, total, alerts). A template that does not compile
exits 1 naming the line; nothing is sent anywhere.
"""
from __future__ import annotations

import json
from pathlib import Path

import click

from actions.group import group_view
from router.chat.compose import default_text
from router.core.signal import signal_from_dict
from router.core.templates import is_jinja, jinja_problem, render
from router.engine.dryrun import DryRunError, default_headers, signals_from


@click.group()
def template() -> None:
    """Message templates: preview one."""


def _signals(payload: Path, source: str | None) -> list[dict]:
    raw = payload.read_bytes()
    if source:
        try:
            return signals_from(source, raw, default_headers(payload.name))
        except DryRunError as exc:
            raise click.ClickException(str(exc)) from None
    try:
        given = json.loads(raw)
    except ValueError as exc:
        raise click.ClickException(f"{payload}: not JSON ({exc}); give --source for a raw payload") from None
    items = given if isinstance(given, list) else [given]
    if not items or not all(isinstance(i, dict) for i in items):
        raise click.ClickException(f"{payload}: a JSON object (a signal) or a list of them")
    try:
        return [signal_from_dict({"source": "sparky", "kind": "alert", "status": "firing", **i}).to_dict()
                for i in items]
    except (TypeError, ValueError) as exc:
        raise click.ClickException(f"{payload}: not a signal: {exc}") from None


@template.command("render")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--signal", "payload", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="a JSON signal (or a list), or with --source a raw payload")
@click.option("--source", help="read --signal as this source's payload (nagios, alertmanager, jenkins, ...)")
@click.option("--group", "as_group", is_flag=True, help="render as a group's message: over all the signals")
@click.option("--label", default="", help="with --group: the group's label (e.g. host=db-1)")
def render_template(file: Path, payload: Path, source: str | None, as_group: bool, label: str) -> None:
    """Render FILE with the signal(s) of PAYLOAD and print the text."""
    text = file.read_text()
    text = text[:-1] if text.endswith("\n") else text
    if is_jinja(text):
        problem = jinja_problem(text)
        if problem:
            raise click.ClickException(f"{file}: {problem}")
    signals = _signals(payload, source)
    if as_group:
        counts: dict[str, int] = {}
        for signal in signals:
            counts[signal.get("status") or "firing"] = counts.get(signal.get("status") or "firing", 0) + 1
        click.echo(render(text, group_view(label, counts, len(signals), [default_text(s) for s in signals], 0)))
        return
    for signal in signals:
        click.echo(render(text, signal))
