"""A pack command's `every:`: its reply posted to a room on a cron schedule (a daily digest).

    every:
      - cron: "0 9 * * *"      # five fields, in `tz` (default UTC)
        room: "#ops"
        say: traffic yesterday

Each worker's maintenance (worker.py, every minute or so) calls `tick`: for every `every:` of the
packs in force, the latest slot of its schedule that is due and not older than GRACE is claimed
in the brain (SET NX, so one digest per slot whichever worker sees it first) and a job queued
that runs the command and posts its reply. The schedule follows the rules in force: a pack
reloaded with another `every:` is followed at the next tick. A digest is the pack's own doing,
configured in the rules dir, so it is not checked against permissions.yml.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import time
import zoneinfo

from croniter import croniter
from redis import Redis
from rq import get_current_job

from router.chat.send import notice
from router.core import brain
from router.core.config import Config
from router.engine import store as rules_store
from router.jobs import policy
from router.packs import live
from router.packs.model import PackCommand
from router.packs.run import Call, choose, perform
from router.packs.words import split

log = logging.getLogger("sparky.packs")

GRACE = 3600            # a slot missed by longer (no worker was up) is skipped, not posted late
CLAIM_TTL = 3 * 86400
POST_JOB = "router.packs.digests.post"


def slots(packs: dict, now: float) -> list[tuple[PackCommand, int, float]]:
    """(command, index of its `every:`, slot epoch) for each schedule's latest slot at or before now."""
    out = []
    for forms in packs.values():
        for command in forms:
            for i, every in enumerate(command.every):
                tz = zoneinfo.ZoneInfo(every.tz)
                local = dt.datetime.fromtimestamp(now, tz)
                # croniter works in the zone of the datetime it is given (DST included)
                prev = croniter(every.cron, local + dt.timedelta(seconds=1)).get_prev(dt.datetime)
                out.append((command, i, prev.timestamp()))
    return out


def tick(conn: Redis, config: Config | None = None, now: float | None = None) -> list[str]:
    """Queue the digests that are due; returns the claim keys taken."""
    now = time.time() if now is None else now
    config = config or Config.from_env()
    try:
        rules = rules_store.current(conn, config.rules_dir, poll=config.rules_poll)
    except Exception as exc:  # noqa: BLE001  no rules in force: no digests, the tick is harmless
        log.warning("pack digests not checked: %s", exc)
        return []
    taken = []
    for command, index, slot in slots(rules.data.get("packs") or {}, now):
        if now - slot > GRACE:
            continue
        key = brain.key_pack_digest(command.pack, command.name, index, int(slot))
        if conn.set(key, "queued", nx=True, ex=CLAIM_TTL):
            policy.enqueue(conn, POST_JOB, command.word, command.name, index, slot,
                           job_id=f"sparky-digest-{command.pack}-{command.name}-{index}-{int(slot)}",
                           description=f"digest {command.every[index].say!r} to {command.every[index].room}")
            taken.append(key)
    return taken


def post(word: str, name: str, index: int, slot: float) -> str:
    """RQ job: the digest of one slot, posted."""
    conn = get_current_job().connection
    return post_digest(conn, Config.from_env(), word, name, index, slot)


def post_digest(conn: Redis, config: Config, word: str, name: str, index: int, slot: float) -> str:
    """Run the digest's command text as of its slot (dates in the schedule's zone) and post the reply."""
    rules = rules_store.current(conn, config.rules_dir, poll=config.rules_poll)
    command = next((c for c in (rules.data.get("packs") or {}).get(word, ()) if c.name == name), None)
    if command is None or index >= len(command.every):
        return f"skipped: {word}/{name} has no digest {index} any more"
    every = command.every[index]
    today = dt.datetime.fromtimestamp(slot, zoneinfo.ZoneInfo(every.tz)).date()
    said, tokens = split(every.say)
    forms = (rules.data.get("packs") or {}).get(said, ())
    chosen, params = choose(forms, tokens, today)   # checked when the pack loaded: it fits
    secrets = [os.environ[n] for n in chosen.env if os.environ.get(n)]
    text, outcome = perform(chosen, params, Call(who="sparky", room=every.room, now=slot, today=today),
                            live.store(conn, chosen), live.fetcher(conn, chosen, secrets),
                            live.poster(conn, config, chosen, "sparky"))
    key = f"digest/{command.pack}/{command.name}/{index}/{int(slot)}"
    return notice(conn, config, every.room, "", key, text) + f" ({outcome})"
