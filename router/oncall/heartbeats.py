"""Heartbeats: alert on silence. A beat Sparky expects that does not come becomes a signal.

oncall.yml `heartbeats:` names what a beat is — any signal matching `when` (exact values of signal
fields, `labels.x` included) — and how often it must come:
- `every: 1m` — at least one beat per interval (Alertmanager's Watchdog, a Runscope run per hour);
- `by: "06:00"` (+ `zone`) — one beat a day before that wall-clock time (the nightly build), the
  day counted in the zone, so DST changes move nothing.
`grace` is added to either. A heartbeat nobody has heard yet is given one full interval (or day)
from when Sparky first checked it.

How: every evaluated batch records the beats it holds (a fact provider's `record`, before the rules
run: the normal reception path). A sweep job (RQ's scheduler, like the alert-expiry sweep,
router/pipeline/sweeps.py) runs when the earliest heartbeat is due, and at least every
`MAX_SLEEP`; for each heartbeat that went silent it sends a `heartbeat` signal with status
`missing` through reception, and `restored` once a beat comes again (a beat of a missing
heartbeat schedules a sweep at once). An alert that is a beat (the Watchdog) is re-sent with the
same delivery key and deduplicated at reception, which refreshes the alert's `last_seen`: the
sweep counts that as a beat too. Rules route those signals like any alert. Each signal's
delivery key is the heartbeat and the beat it is about, so a sweep run twice sends it once.
A worker's maintenance schedules a sweep should the chain have been lost.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import math
import time
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from redis import Redis
from rq import get_current_job

from router.core import brain, durations
from router.core.config import Config
from router.core.signal import Signal
from router.core.templates import MISSING, lookup
from router.core.times import epoch_of, from_epoch
from router.engine import store
from router.jobs import policy
from router.pipeline import reception

log = logging.getLogger("sparky.heartbeats")

MAX_SLEEP = 300          # the sweep runs at least this often while heartbeats exist
SOURCE = "sparky"
KIND = "heartbeat"
SWEEP_JOB = "router.oncall.heartbeats.sweep"


@dataclass(frozen=True)
class Heartbeat:
    name: str
    when: dict
    every: float | None = None
    by: dt.time | None = None
    zone: ZoneInfo = ZoneInfo("UTC")
    grace: float = 0.0
    severity: str = "critical"
    description: str = ""

    @property
    def expected(self) -> str:
        if self.every is not None:
            return f"every {durations.humanize(self.every)}"
        return f"by {self.by:%H:%M} {self.zone.key} each day"

    def matches(self, signal: dict) -> bool:
        if signal.get("kind") == KIND and signal.get("source") == SOURCE:
            return False   # our own missing/restored signals are no beats
        for path, wanted in self.when.items():
            value = lookup(signal, path)
            if value is MISSING or str(value) != str(wanted):
                return False
        return True


def heartbeats(data: dict) -> list[Heartbeat]:
    out = []
    for spec in data.get("heartbeats") or []:
        by = None
        if spec.get("by"):
            hours, minutes = (int(p) for p in spec["by"].split(":"))
            by = dt.time(hours, minutes)
        out.append(Heartbeat(name=spec["name"], when=dict(spec["when"]),
                             every=durations.parse(spec["every"]) if spec.get("every") else None, by=by,
                             zone=ZoneInfo(spec.get("zone") or "UTC"),
                             grace=durations.parse(spec["grace"]) if spec.get("grace") else 0.0,
                             severity=spec.get("severity") or "critical", description=spec.get("description", "")))
    return out


# -- the pure part: is it missing, and when to look again -------------------------------------------

def _deadline(hb: Heartbeat, day: dt.date) -> float:
    return dt.datetime.combine(day, hb.by, tzinfo=hb.zone).timestamp()


def check(hb: Heartbeat, last_beat: float | None, armed: float, now: float) -> tuple[bool, float, float]:
    """(missing now?, the time the beat was owed by, when this heartbeat is next due).

    `last_beat` is the latest beat heard (None: never), `armed` when Sparky started expecting it.
    """
    reference = last_beat if last_beat is not None else armed
    if hb.every is not None:
        owed = reference + hb.every
        return now >= owed + hb.grace, owed, owed + hb.grace
    today = dt.datetime.fromtimestamp(now - hb.grace, hb.zone).date()
    deadline = _deadline(hb, today)
    if deadline > now - hb.grace:
        deadline = _deadline(hb, today - dt.timedelta(days=1))
    window_start = _deadline(hb, dt.datetime.fromtimestamp(deadline, hb.zone).date() - dt.timedelta(days=1))
    following = _deadline(hb, dt.datetime.fromtimestamp(deadline, hb.zone).date() + dt.timedelta(days=1))
    missing = reference <= window_start and now >= deadline + hb.grace
    return missing, deadline, following + hb.grace


# -- recording beats (the fact provider's `record`, in the evaluation) ------------------------------

def record(conn: Redis, data: dict, signals: list[dict]) -> dict:
    """Keep the latest beat of each heartbeat these signals are; a missing one gets a sweep now."""
    beats: dict[str, float] = {}
    alerts: dict[str, str] = {}
    for hb in heartbeats(data):
        for signal in signals:
            if hb.matches(signal):
                beats[hb.name] = max(beats.get(hb.name, 0.0), time.time())
                if signal.get("kind") == "alert" and signal.get("fingerprint"):
                    alerts[hb.name] = signal["fingerprint"]
    if not beats:
        return {}
    if alerts:
        conn.hset(brain.key_heartbeat_alerts(), mapping=alerts)
    now = time.time()
    # the next sweep no later than the first of these heartbeats is owed again
    schedule(conn, min(check(hb, now, now, now)[2] for hb in heartbeats(data) if hb.name in beats))
    pipe = conn.pipeline(transaction=False)
    for name, at in beats.items():
        pipe.hset(brain.key_heartbeats(), name, repr(at))
    pipe.hmget(brain.key_heartbeats_missing(), list(beats))
    missing = pipe.execute()[-1]
    if any(missing):
        schedule(conn, time.time())
    return {}


# -- the sweep ---------------------------------------------------------------------------------------

def sweep_with(conn: Redis, config: Config, now: float | None = None) -> list[str]:
    """Send `missing` / `restored` for each heartbeat that changed; schedule the next sweep."""
    now = time.time() if now is None else now
    try:
        data = store.current(conn, config.rules_dir, poll=config.rules_poll).data
    except store.RulesUnavailable:
        return []
    found = heartbeats(data)
    if not found:
        return []
    names = [hb.name for hb in found]
    pipe = conn.pipeline(transaction=False)
    pipe.hmget(brain.key_heartbeats(), names)
    pipe.hmget(brain.key_heartbeats_armed(), names)
    pipe.hmget(brain.key_heartbeats_missing(), names)
    pipe.hmget(brain.key_heartbeat_alerts(), names)
    lasts, armed, missing, fingerprints = pipe.execute()
    signals, next_due = [], now + MAX_SLEEP
    for hb, last, arm, gone, fingerprint in zip(found, lasts, armed, missing, fingerprints):
        last_beat = float(last) if last else None
        if fingerprint:   # an alert re-sent while it fires (deduplicated): its last_seen is a beat
            alert = brain.load_alert(conn, fingerprint.decode())
            seen = epoch_of(alert.get("last_seen")) if alert.get("status") in brain.FIRING_STATES else None
            if seen is not None and (last_beat is None or seen > last_beat):
                last_beat = seen
        if not arm:
            conn.hsetnx(brain.key_heartbeats_armed(), hb.name, repr(now))
            arm = now
        is_missing, owed, due = check(hb, last_beat, float(arm), now)
        if is_missing and not gone:
            signals.append(_signal(hb, "missing", last_beat, owed, now))
            conn.hset(brain.key_heartbeats_missing(), hb.name, json.dumps({"since": owed, "last": last_beat}))
        elif not is_missing and gone:
            signals.append(_signal(hb, "restored", last_beat, json.loads(gone)["since"], now))
            conn.hdel(brain.key_heartbeats_missing(), hb.name)
        if not is_missing:
            next_due = min(next_due, due)
        elif hb.every is not None:   # look again as often as it should beat: a re-send restores it
            next_due = min(next_due, now + hb.every)
    forgotten = set(conn.hkeys(brain.key_heartbeats_missing())) - {n.encode() for n in names}
    if forgotten:  # a heartbeat removed from the rules is no longer missing
        conn.hdel(brain.key_heartbeats_missing(), *forgotten)
    sent = []
    if signals:
        answer = reception.accept(conn, config.with_(max_backlog=0), SOURCE, signals)
        sent = answer.ids
        log.info("heartbeats: %s", ", ".join(f"{s.subject} {s.status}" for s in signals))
    schedule(conn, max(next_due, now + 1))
    return sent


def _signal(hb: Heartbeat, status: str, last_beat: float | None, owed: float, now: float) -> Signal:
    heard = f"the last beat was at {from_epoch(last_beat)}" if last_beat else "no beat heard yet"
    what = hb.description or hb.name
    if status == "missing":
        summary = f"Heartbeat {hb.name} missing: {what} was expected {hb.expected}; {heard}."
    else:
        summary = f"Heartbeat {hb.name} restored: {what} beat again at {from_epoch(last_beat or now)}."
    return Signal(source=SOURCE, kind=KIND, status=status, severity=hb.severity if status == "missing" else "info",
                  subject=hb.name, fingerprint=f"heartbeat/{hb.name}", labels={"heartbeat": hb.name},
                  summary=summary, occurred_at=from_epoch(now),
                  dedup=f"heartbeat/{hb.name}:{status}:{owed!r}", ends_at="")


def schedule(conn: Redis, at: float) -> str | None:
    """A sweep at epoch `at` unless one is scheduled at or before it (one job per second)."""
    second = math.ceil(at)
    held = conn.get(brain.key_heartbeats_sweep())
    if held is not None and float(held) <= second and float(held) >= time.time() - 60:
        return None
    conn.set(brain.key_heartbeats_sweep(), str(second), ex=max(1, int(second - time.time())) + 120)
    job_id = f"sparky-heartbeats-{second}"
    policy.enqueue(conn, SWEEP_JOB, policy=policy.SWEEP, at=second, job_id=job_id,
                   description="heartbeats: what went silent, what came back")
    return job_id


def ensure(conn: Redis) -> int:
    """Worker maintenance (registry `on_recover`): a sweep soon unless one is scheduled."""
    return 1 if schedule(conn, time.time() + MAX_SLEEP) else 0


def sweep() -> str:
    """RQ job."""
    conn = get_current_job().connection
    conn.delete(brain.key_heartbeats_sweep())
    sent = sweep_with(conn, Config.from_env())
    return f"{len(sent)} heartbeat signals sent"
