"""`sparky audit tail`: the audit stream from a terminal, newest last, following new entries."""
from __future__ import annotations

import json
import time

import click

from router.app import connect, resolve_redis
from router.core import brain
from router.core.config import Config

BLOCK_MS = 500


def format_entry(entry: dict) -> str:
    """`<at> <event> <who> in <room>: <what> → <outcome> (<reason>) [<rule>]` with what is there."""
    line = f"{entry.get('at') or entry['id']} {entry.get('event', '?')}"
    if entry.get("who") or entry.get("by"):
        line += f" {entry.get('who') or entry.get('by')}"
    if entry.get("room"):
        line += f" in {entry['room']}"
    what = entry.get("what") or " ".join(f"{k}={v}" for k, v in entry.items()
                                         if k not in ("id", "at", "event", "who", "by", "room") and v)
    if what:
        line += f": {what}"
    if entry.get("outcome"):
        line += f" → {entry['outcome']}"
    if entry.get("reason") and entry.get("outcome") != "ok":
        line += f" ({entry['reason']})"
    if entry.get("rule"):
        line += f" [{entry['rule']}]"
    return line


@click.group("audit")
def audit() -> None:
    """The audit trail: every command, snooze, ack, refusal and rules change."""


@audit.command("tail")
@click.option("-n", "--lines", type=int, default=20, show_default=True, help="entries to show first")
@click.option("--follow/--no-follow", default=True, show_default=True, help="keep printing new entries")
@click.option("--for", "seconds", type=float, default=0, help="stop following after this many seconds")
@click.option("--json", "as_json", is_flag=True, help="one JSON object per line")
@click.option("--event", default="", help="only this event (command, snooze.created, alert.acked, ...)")
@click.option("--who", default="", help="only entries by this person")
@click.option("--outcome", default="", help="only this outcome (ok, refused, usage, unknown, error)")
def tail(lines: int, follow: bool, seconds: float, as_json: bool, event: str, who: str, outcome: str) -> None:
    """Print the last audit entries, then new ones as they are written (Ctrl-C stops)."""
    conn = connect(resolve_redis(Config.from_env()))
    filters = {"event": event, "who": who, "outcome": outcome}
    show = (lambda e: click.echo(json.dumps(e, sort_keys=True))) if as_json else (lambda e: click.echo(format_entry(e)))
    newest, _ = brain.audit_entries(conn, limit=max(lines, 1))
    last = newest[0]["id"] if newest else "0-0"
    if lines > 0:
        shown, _ = brain.audit_entries(conn, limit=lines, filters=filters)
        for entry in reversed(shown):
            show(entry)
    if not follow:
        return
    deadline = time.monotonic() + seconds if seconds else None
    try:
        while deadline is None or time.monotonic() < deadline:
            for entry in brain.audit_after(conn, last, block_ms=BLOCK_MS):
                last = entry["id"]
                if all(entry.get(k) == v for k, v in filters.items() if v):
                    show(entry)
    except KeyboardInterrupt:
        pass
