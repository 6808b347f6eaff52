"""`stale [owner]`: what the last scans found idle, with what Sparky did about each item.

`stale_items(conn, owner)` reads the last inventory of every scan (router/stale/inventory.py),
keeps the idle items of `owner` — as owner, or as a requested reviewer, matched through
people.yml so `alice`, her GitHub login and her e-mail are the same person — and adds per item:
how often it was nagged and when last, the snooze that silences it, and its open approval
request. Used by the chat command, `sparky stale` and `GET /api/stale`.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

from redis import Redis

from router.core import brain, people
from router.core.times import from_epoch
from router.snoozes.facts import snoozed_by
from router.stale import approvals, inventory


def _same(book: people.People, a: str, b: str) -> bool:
    if not a or not b:
        return False
    if a.lower() == b.lower():
        return True
    pa, pb = book.person(a), book.person(b)
    return pa is not None and pa is pb


def stale_items(conn: Redis, owner: str = "", rules_dir: Path | str | None = None, now: float | None = None,
                include_active: bool = False) -> list[dict]:
    """Idle items (all, or those `owner` owns or must review), most idle first, with nag state."""
    now = time.time() if now is None else now
    book = people.load(Path(rules_dir)) if rules_dir else people.People()
    found = []
    for entry in inventory.items(conn, inventory.scan_names(conn)):
        if entry.get("status") != "idle" and not include_active:
            continue
        labels = entry.get("labels") or {}
        role = ""
        if owner:
            if _same(book, labels.get("owner", ""), owner):
                role = "owner"
            elif any(_same(book, r, owner) for r in (labels.get("reviewers") or "").split(",")):
                role = "reviewer"
            else:
                continue
        found.append({**entry, "role": role})
    if not found:
        return []
    with conn.pipeline(transaction=False) as pipe:
        for entry in found:
            pipe.hgetall(brain.key_nag_history(entry["fingerprint"]))
            for kind in approvals.ASKS:
                pipe.get(brain.key_stale_request_for(entry["fingerprint"], kind))
        answers = pipe.execute()
    step = 1 + len(approvals.ASKS)
    active = brain.active_snoozes(conn, now)
    for i, entry in enumerate(found):
        history = {k.decode(): v.decode() for k, v in answers[i * step].items()}
        entry["nagged"] = int(history.get("count", 0))
        entry["last_nagged"] = from_epoch(float(history["last_at"])) if history.get("last_at") else ""
        request_ids = [r.decode() for r in answers[i * step + 1:(i + 1) * step] if r]
        open_requests = [r for r in (approvals.get(conn, rid) for rid in request_ids)
                         if approvals.is_open(r, now)]
        entry["request"] = open_requests[0]["id"] if open_requests else ""
        snooze = snoozed_by(conn, {"source": "inventory", "kind": "resource", **entry}, now, active)
        entry["snoozed_until"] = from_epoch(snooze["ends_at"]) if snooze else ""
    found.sort(key=lambda e: (-_int((e.get("labels") or {}).get("idle_days")), e["subject"]))
    return found


def _int(text: object) -> int:
    text = str(text or "")
    return int(text) if text.isdigit() else 10 ** 6   # unknown (never checked in) sorts first


def format_items(items: list[dict], owner: str = "", limit: int = 20) -> str:
    """The chat/terminal text for a listing."""
    whose = f" for {owner}" if owner else ""
    if not items:
        return f"Nothing stale{whose}: the last scans found no idle items."
    lines = [f"{len(items)} stale item{'s' if len(items) != 1 else ''}{whose}:"]
    for entry in items[:limit]:
        labels = entry.get("labels") or {}
        notes = []
        if not owner and labels.get("owner"):
            notes.append(f"owner {labels['owner']}")
        if entry.get("role") == "reviewer":
            notes.append("you are a requested reviewer")
        if entry.get("nagged"):
            notes.append(f"nagged {entry['nagged']}× (last {entry['last_nagged'][:10]})")
        if entry.get("snoozed_until"):
            notes.append(f"snoozed until {entry['snoozed_until'][:16].replace('T', ' ')}")
        if entry.get("request"):
            notes.append(f"`approve {entry['request']}` pending")
        line = f"• {entry.get('summary') or entry['subject']}"
        if notes:
            line += " — " + ", ".join(notes)
        lines.append(line)
    if len(items) > limit:
        lines.append(f"… and {len(items) - limit} more")
    return "\n".join(lines)


def as_json(items: list[dict]) -> list[dict]:
    """Listing entries as the API returns them."""
    return [json.loads(json.dumps(e)) for e in items]
