"""On call (router/oncall/): overrides made from chat, escalation runs, heartbeats, alert timelines."""
from __future__ import annotations

import json

from redis import Redis

from router.core.brain.base import PREFIX, digest

OVERRIDES_CAP = 500              # per schedule; ended ones are pruned whenever one is added
ESCALATION_TTL = 30 * 86400      # an escalation run's record outlives its alert's episode by a month
TIMELINE_CAP = 500               # events kept per alert (oldest dropped)
TIMELINE_TTL = 90 * 86400


# -- overrides: key_oncall_overrides(schedule) is a hash id → JSON
# {id, layer, who, start, end, by, reason, made} (epoch seconds); read with every `who` question.
def key_oncall_overrides(schedule: str) -> str:
    return f"{PREFIX}oncall:overrides:{schedule}"


def key_oncall_override_seq() -> str:
    return f"{PREFIX}oncall:override-seq"


def add_override(conn: Redis, schedule: str, record: dict, now: float) -> dict:
    """Store an override with the next id (`o1`, `o2`, ...); ended overrides are dropped."""
    record = {**record, "id": f"o{conn.incr(key_oncall_override_seq())}"}
    key = key_oncall_overrides(schedule)
    pipe = conn.pipeline(transaction=True)
    for old in overrides(conn, schedule):
        if old["end"] <= now:
            pipe.hdel(key, old["id"])
    pipe.hset(key, record["id"], json.dumps(record))
    pipe.execute()
    if conn.hlen(key) > OVERRIDES_CAP:
        for old in sorted(overrides(conn, schedule), key=lambda o: o["made"])[:-OVERRIDES_CAP]:
            conn.hdel(key, old["id"])
    return record


def overrides(conn: Redis, schedule: str) -> list[dict]:
    return [json.loads(v) for v in conn.hvals(key_oncall_overrides(schedule))]


# -- escalation runs: key_escalation(fingerprint) is JSON
# {policy, episode, step, round, state (running|acked|resolved|done), steps: [{at, step, what, who}],
#  next_at}; one per alert fingerprint, replaced when a new episode starts its own run.
def key_escalation(fingerprint: str) -> str:
    return f"{PREFIX}oncall:escalation:{digest(fingerprint)}"


def escalation(conn: Redis, fingerprint: str) -> dict | None:
    raw = conn.get(key_escalation(fingerprint))
    return json.loads(raw) if raw else None


def put_escalation(conn: Redis, fingerprint: str, record: dict, pipe=None) -> None:
    (pipe if pipe is not None else conn).set(key_escalation(fingerprint), json.dumps(record), ex=ESCALATION_TTL)


def key_escalation_page(fingerprint: str, episode: str, step: int, round_: int) -> str:
    """Set once per page of one step of one run: a retried or duplicated job never pages twice."""
    return f"{PREFIX}oncall:paged:{digest(f'{fingerprint}|{episode}|{step}|{round_}')}"


# -- heartbeats: the last beat of each (epoch seconds), and which are missing now.
def key_heartbeats() -> str:
    return f"{PREFIX}oncall:heartbeats"


def key_heartbeats_missing() -> str:
    return f"{PREFIX}oncall:heartbeats-missing"


# -- an alert's timeline: events Sparky adds (escalation steps, resolutions) that the brain kept
# nowhere else, oldest first; JSON {at, event, who, what, ...}.
def key_timeline(fingerprint: str) -> str:
    return f"{PREFIX}oncall:timeline:{digest(fingerprint)}"


def add_timeline(conn: Redis, fingerprint: str, event: dict, pipe=None) -> None:
    target = pipe if pipe is not None else conn.pipeline(transaction=False)
    key = key_timeline(fingerprint)
    target.rpush(key, json.dumps(event))
    target.ltrim(key, -TIMELINE_CAP, -1)
    target.expire(key, TIMELINE_TTL)
    if pipe is None:
        target.execute()


def timeline(conn: Redis, fingerprint: str) -> list[dict]:
    return [json.loads(v) for v in conn.lrange(key_timeline(fingerprint), 0, -1)]
