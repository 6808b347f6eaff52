"""Snoozes as Alertmanager's silences (API v2 `gettableSilence`), and silences as snoozes.

A silence *is* a snooze: the Alertmanager API reads and writes the snoozes chat and `/api/snoozes`
make, through the same functions (router/commands/snooze.py `create`, `end`).

- Ids: Alertmanager's are UUIDs, Sparky's `s12`. A snooze's silence id is the UUID
  `00000000-0000-4000-8000-000000000012`: its number in the last group, in decimal digits, so a
  person sees `s12` in it, it needs no second index, and it reads back without a lookup. The path
  of `/api/v2/silence/{id}` also takes `s12` (amtool sends any id as typed).
- State: an active snooze is `active`, an ended one `expired` with `endsAt` when it ended (early,
  by `unsnooze`, or at its time). Snoozes start when they are made, so none is `pending`.
- `comment` is the snooze's reason, `createdBy` the person who made it (people.yml name),
  `updatedAt` when it was made or ended, `startsAt` when it was made.
- Listing: every active snooze, those whose time is up but whose end has not been handled yet,
  and the ended ones Sparky keeps (router/core/brain, 30 days), sorted as Alertmanager sorts:
  active by end, then expired newest end first.
- A silence filter (`filter=` on `GET /api/v2/silences`) keeps the silences that have a matcher
  equal to each filter matcher (same name, operator and value), as Alertmanager does.
"""
from __future__ import annotations

import re

from redis import Redis

from router.alerts.lines import covering
from router.core import am_matchers, brain
from router.core.matchers import Matcher
from router.core.times import epoch_of, from_epoch

ID_PREFIX = "00000000-0000-4000-8000-"
ID_DIGITS = 12
_UUID = re.compile(r"^00000000-0000-4000-8000-(\d{12})$")
_SHORT = re.compile(r"^[sS#]?(\d{1,12})$")


def silence_id(snooze_id: str) -> str:
    """`s12` → `00000000-0000-4000-8000-000000000012`."""
    return ID_PREFIX + snooze_id.lstrip("s").zfill(ID_DIGITS)


def snooze_id(given: str) -> str | None:
    """The snooze a silence id (or `s12`, `12`) names; None when it names none of Sparky's."""
    text = (given or "").strip().lower()
    found = _UUID.match(text) or _SHORT.match(text)
    if not found or int(found.group(1)) == 0:
        return None
    return f"s{int(found.group(1))}"


def ended_at(snooze: dict) -> float:
    """When an ended snooze stopped: its `unsnooze`, or its time."""
    stopped = epoch_of(snooze.get("ended_at", ""))
    return min(snooze["ends_at"], stopped) if stopped is not None else snooze["ends_at"]


def view(snooze: dict, active: bool) -> dict:
    """A stored snooze (router/core/brain/engine.py) as a `gettableSilence`."""
    starts = snooze.get("starts_at") or epoch_of(snooze.get("created_at", "")) or snooze["ends_at"]
    ends = snooze["ends_at"] if active else max(ended_at(snooze), starts)
    updated = snooze.get("created_at") or from_epoch(starts)
    if not active:
        updated = snooze.get("ended_at") or from_epoch(ends)
    return {
        "id": silence_id(snooze["id"]),
        "status": {"state": "active" if active else "expired"},
        "updatedAt": updated,
        "matchers": [am_matchers.to_api(m) for m in snooze.get("matchers") or []],
        "startsAt": from_epoch(starts),
        "endsAt": from_epoch(ends),
        "createdBy": snooze.get("created_by") or "",
        "comment": snooze.get("reason") or "",
    }


def everything(conn: Redis, now: float) -> list[tuple[dict, bool]]:
    """(snooze, active?) for every snooze Sparky knows: active, lapsed, and ended ones, each once."""
    seen: set[str] = set()
    found: list[tuple[dict, bool]] = []
    for snooze in brain.active_snoozes(conn, now):
        seen.add(snooze["id"])
        found.append((snooze, True))
    # Over but not yet retired by their end job (a worker retires them within a second or so).
    for raw in conn.zrangebyscore(brain.key_snoozes(), "-inf", now):
        snooze = brain.load_snooze(conn, raw.decode())
        if snooze is not None and snooze["id"] not in seen:
            seen.add(snooze["id"])
            found.append((snooze, False))
    for snooze in brain.snooze_history(conn):
        if snooze["id"] not in seen:
            seen.add(snooze["id"])
            found.append((snooze, False))
    return found


def listing(conn: Redis, now: float, filters: list[Matcher] = ()) -> list[dict]:
    """Every silence (see the module docstring), those with a matcher equal to each filter."""
    shown = [view(snooze, active) for snooze, active in everything(conn, now)]
    if filters:
        wanted = [am_matchers.to_api(f) for f in filters]
        shown = [s for s in shown if all(f in s["matchers"] for f in wanted)]
    active = sorted((s for s in shown if s["status"]["state"] == "active"), key=lambda s: s["endsAt"])
    expired = sorted((s for s in shown if s["status"]["state"] != "active"), key=lambda s: s["endsAt"], reverse=True)
    return active + expired


def silenced_by(alert: dict, active: list[dict], now: float) -> list[str]:
    """The silence ids of the active snoozes that silence an alert (the engine's own test)."""
    return [silence_id(s["id"]) for s in covering(alert, active, now)]


def unchanged(snooze: dict, matchers: list[Matcher], ends_at: float, comment: str) -> bool:
    """Does a POST with this snooze's id ask for exactly what it already is (`silence import` of
    a silence Sparky has)? Then it is kept, as Alertmanager keeps an unchanged silence."""
    stored = [Matcher(m["name"], m["op"], m["value"]) for m in snooze.get("matchers") or []]
    return (stored == list(matchers) and abs(snooze["ends_at"] - ends_at) < 0.001
            and (snooze.get("reason") or "") == comment)
