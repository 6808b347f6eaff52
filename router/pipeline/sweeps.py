"""When the expiry sweep runs (router/pipeline/expiry.py): scheduled for the earliest expiry, once.

A flag in the brain holds the time of the sweep scheduled: reception's Lua script schedules one
only for a new expiry earlier than it (router/core/brain/accept.py), each sweep schedules the
next, and a worker's maintenance calls `ensure` should the chain have been lost. Kept apart from
expiry.py, which sends its resolutions through reception: reception schedules through here.
"""
from __future__ import annotations

import math
import time

from redis import Redis

from router.core import brain
from router.jobs import policy

# Should a scheduled sweep be lost, its flag runs out this long after its time, and the next
# alert (or a worker's maintenance) schedules one again.
SWEEP_MARGIN = 60
SWEEP_JOB = "router.pipeline.expiry.sweep"   # by name: expiry.py imports reception, which imports this


def schedule(conn: Redis, at: float) -> str:
    """Run a sweep at epoch `at` (RQ's scheduler; at once if past). One job per second, whoever asks."""
    second = math.ceil(at)
    job_id = f"sparky-expiry-{second}"
    policy.enqueue(conn, SWEEP_JOB, policy=policy.SWEEP, at=second, job_id=job_id,
                   description="resolve alerts not re-sent in time")
    return job_id


# Take the sweep flag for the earliest expiry unless a sweep is already scheduled at or before it.
# KEYS: expiry set, sweep flag. ARGV: now, margin. → the time to schedule, or false.
ENSURE = """
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if #first == 0 then return false end
local at = tonumber(first[2])
local held = redis.call('GET', KEYS[2])
if held and tonumber(held) <= at then return false end
redis.call('SET', KEYS[2], string.format('%.3f', at), 'EX', math.max(1, math.ceil(at - tonumber(ARGV[1]))) + tonumber(ARGV[2]))
return string.format('%.3f', at)
"""


def ensure(conn: Redis, now: float | None = None) -> str | None:
    """Schedule a sweep for the earliest expiry unless one is scheduled by then; returns its job id."""
    now = time.time() if now is None else now
    at = conn.eval(ENSURE, 2, brain.key_alert_expiry(), brain.key_expiry_sweep(), repr(now), SWEEP_MARGIN)
    return schedule(conn, float(at)) if at else None
