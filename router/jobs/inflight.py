"""Action jobs in flight: noted when queued, so a worker killed between taking a job and starting it
loses none (router/jobs/recovery.py), and counted one action at a time for ingress backpressure."""
from __future__ import annotations

from redis import Redis
from rq.job import Job

from router.core import brain


def track(pipe, job_ids: list[str], sizes: list[int] | None = None) -> None:
    """Note jobs as in flight, so a worker killed between taking a job and starting it loses none;
    each scored by how many actions it carries (see `waiting`)."""
    if job_ids:
        sizes = sizes or [1] * len(job_ids)
        pipe.zadd(brain.key_actions_inflight(), dict(zip(job_ids, sizes)))


# The sum of the in-flight set's scores. KEYS: in-flight set.
SUM = """
local total = 0
local all = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
for i = 2, #all, 2 do total = total + tonumber(all[i]) end
return total
"""


def waiting(conn: Redis) -> int:
    """Actions queued, scheduled or running, not finished: what ingress backpressure should count
    (the actions queue's length counts jobs, and a job carries up to runner.BATCH actions)."""
    return int(brain.script(conn, SUM, [brain.key_actions_inflight()], []))


def untrack(pipe, job: Job | None) -> None:
    if job is not None:
        pipe.zrem(brain.key_actions_inflight(), job.id)
