"""Is anything delivering? The two facts /readyz and the self-alert read (router/api/selfalert.py).

The web tier keeps answering 202 while no worker runs — that is by design (accepted signals are
durable and wait) — so "up" says nothing about delivery. Two facts do:

- WorkerStale: the newest heartbeat of any RQ worker is older than `ready_worker_age`. RQ writes a
  worker's heartbeat before every wait for a job (at least every WORKER_TTL - 15 s: worker.py) and
  when it takes a job. With no worker registered at all, the reference is when this web process
  started (`since`), so a web tier starting beside its workers is not stale for its first minutes.
- BacklogStale: the oldest signal pending evaluation was received more than `ready_pending_age`
  ago (the pending set is scored by receipt time: router/pipeline/intake.py).

Time is an input: `now` is epoch seconds.
"""
from __future__ import annotations

from redis import Redis
from rq.utils import utcparse
from rq.worker import Worker

from router.core import brain
from router.core.config import Config

WORKER_STALE = "WorkerStale"
BACKLOG_STALE = "BacklogStale"
ALERTNAMES = (WORKER_STALE, BACKLOG_STALE)


def newest_heartbeat(conn: Redis) -> float | None:
    """Epoch seconds of the most recent heartbeat of any registered RQ worker, None if none."""
    keys = Worker.all_keys(connection=conn)
    if not keys:
        return None
    pipe = conn.pipeline(transaction=False)
    for key in keys:
        pipe.hget(key, "last_heartbeat")
    beats = []
    for raw in pipe.execute():
        if raw:
            try:
                beats.append(utcparse(raw.decode()).timestamp())
            except ValueError:
                continue
    return max(beats, default=None)


def oldest_pending(conn: Redis) -> float | None:
    """Epoch seconds at which the oldest signal still pending evaluation was received."""
    first = conn.zrange(brain.key_pending(), 0, 0, withscores=True)
    return first[0][1] if first else None


def _ago(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds < 10 else f"{seconds:.0f} s"


def problems(conn: Redis, config: Config, now: float, since: float) -> dict[str, str]:
    """alertname → what is wrong, for each stale fact; {} when delivery looks alive."""
    found = {}
    beat = newest_heartbeat(conn)
    reference = beat if beat is not None else since
    if now - reference > config.ready_worker_age:
        what = (f"no RQ worker has beaten for {_ago(now - beat)}" if beat is not None
                else f"no RQ worker registered in the {_ago(now - since)} since this web process started")
        found[WORKER_STALE] = f"{what} (bound {_ago(config.ready_worker_age)}, SPARKY_READY_WORKER_AGE)"
    received = oldest_pending(conn)
    if received is not None and now - received > config.ready_pending_age:
        found[BACKLOG_STALE] = (f"the oldest pending signal has waited {_ago(now - received)} for evaluation "
                                f"(bound {_ago(config.ready_pending_age)}, SPARKY_READY_PENDING_AGE)")
    return found
