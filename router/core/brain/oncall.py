"""On call (router/oncall/): overrides made from chat, escalation runs, heartbeats, alert timelines."""
from __future__ import annotations

import json

from redis import Redis

from router.core import fastjson
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


# -- escalation runs: key_escalation_run(fingerprint) is a hash run id → JSON
# {id, policy, fingerprint, signal_id, episode, context, room, template, steps, repeat, position,
#  round, state (running|acked|resolved|stopped|done), started, next_at, history: [{at, what, ...}]};
# one run per `escalate` action of an alert's episode (a new episode starts new runs).
def key_escalation_run(fingerprint: str) -> str:
    return f"{PREFIX}oncall:escalation:{digest(fingerprint)}"


def escalations(conn: Redis, fingerprint: str) -> list[dict]:
    """The alert's escalation runs, oldest first."""
    runs = [json.loads(v) for v in conn.hvals(key_escalation_run(fingerprint))]
    return sorted(runs, key=lambda r: (r.get("started", 0), r["id"]))


def escalation_run(conn: Redis, fingerprint: str, run_id: str) -> dict | None:
    raw = conn.hget(key_escalation_run(fingerprint), run_id)
    return json.loads(raw) if raw else None


def key_escalation_lock(run_id: str) -> str:
    """Held while a job or `escalate` moves the run on (seconds)."""
    return f"{PREFIX}oncall:escalation-lock:{run_id}"


def put_escalation(conn: Redis, run: dict) -> None:
    key = key_escalation_run(run["fingerprint"])
    pipe = conn.pipeline(transaction=True)
    pipe.hset(key, run["id"], json.dumps(run))
    pipe.expire(key, ESCALATION_TTL)
    pipe.execute()


# -- heartbeats (router/oncall/heartbeats.py)
def key_heartbeats() -> str:
    """Hash name → epoch of its latest beat."""
    return f"{PREFIX}oncall:heartbeats"


def key_heartbeats_missing() -> str:
    """Hash name → JSON {since, last}: the heartbeats a `missing` signal was sent for."""
    return f"{PREFIX}oncall:heartbeats-missing"


def key_heartbeat_alerts() -> str:
    """Hash name → the fingerprint of the alert that is its beat (Watchdog): a re-delivery of that
    alert is deduplicated at reception but refreshes the alert's last_seen, which counts as a beat."""
    return f"{PREFIX}oncall:heartbeat-alerts"


def key_heartbeats_armed() -> str:
    """Hash name → epoch: when Sparky first expected the heartbeat (its first interval counts from it)."""
    return f"{PREFIX}oncall:heartbeats-armed"


def key_heartbeats_sweep() -> str:
    """The epoch second of the heartbeat sweep scheduled (flag: one chain of sweeps)."""
    return f"{PREFIX}oncall:heartbeats-sweep"


# -- an alert's timeline: events Sparky adds (escalation steps, resolutions) that the brain kept
# nowhere else, oldest first; JSON {at, event, who, what, ...}.
def key_timeline(fingerprint: str) -> str:
    return f"{PREFIX}oncall:timeline:{digest(fingerprint)}"


def add_timeline(conn: Redis, fingerprint: str, event: dict, pipe=None) -> None:
    target = pipe if pipe is not None else conn.pipeline(transaction=False)
    key = key_timeline(fingerprint)
    target.rpush(key, fastjson.dumps(event))
    target.ltrim(key, -TIMELINE_CAP, -1)
    target.expire(key, TIMELINE_TTL)
    if pipe is None:
        target.execute()


def timeline(conn: Redis, fingerprint: str) -> list[dict]:
    return [json.loads(v) for v in conn.lrange(key_timeline(fingerprint), 0, -1)]


# -- response times (router/oncall/response.py): one sample per resolved alert episode, scored by
# its resolution time; JSON {route, fingerprint, firing_since, acked_at, resolved_at, tta, ttr}.
RESPONSE_CAP = 50_000
RESPONSE_KEEP = 400 * 86400


def key_response_samples() -> str:
    return f"{PREFIX}oncall:response"


def key_response_counted(fingerprint: str, episode: str) -> str:
    """Set once per alert episode: a batch evaluated twice counts its resolution once."""
    return f"{PREFIX}oncall:response-counted:{digest(fingerprint + '|' + episode)}"


# -- shift swaps: key_oncall_swap(id) is JSON {id, schedule, layer, by, with, date, turns, state,
# made, decided_by, reason} (router/commands/oncall.py); `approve sw-…` turns one into two overrides.
SWAP_PREFIX = "sw-"
SWAP_TTL = 30 * 86400


def key_oncall_swap(request_id: str) -> str:
    return f"{PREFIX}oncall:swap:{request_id}"


def key_oncall_swaps() -> str:
    return f"{PREFIX}oncall:swaps"          # sorted set: id by when it was asked


def index_swap(conn: Redis, request_id: str, made: float) -> None:
    conn.zadd(key_oncall_swaps(), {request_id: made})
    conn.zremrangebyscore(key_oncall_swaps(), "-inf", made - SWAP_TTL)


def oncall_swaps(conn: Redis, limit: int = 100) -> list[dict]:
    """The swap requests kept (pending, approved, denied), newest first."""
    ids = [i.decode() if isinstance(i, bytes) else i for i in conn.zrevrange(key_oncall_swaps(), 0, limit - 1)]
    raws = conn.mget([key_oncall_swap(i) for i in ids]) if ids else []
    return [json.loads(raw) for raw in raws if raw]
