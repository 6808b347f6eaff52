"""The scans on their schedules: an RQ `CronScheduler` (rq.cron) fed from stale.yml's `scans:`.

`worker.py` starts one `ScanCron` thread per worker process. Any number of workers may run:
- one of them leads (a brain lock with a TTL, refreshed every tick); only the leader enqueues,
  and it is registered with rq's cron scheduler registry, so rq's monitoring sees it;
- should two enqueue the same slot anyway (a leader change within a minute), the scan job claims
  its run by the slot (`cron-2026-11-25T09:00`) and the second copy is a "duplicate";
- a leader that died before enqueuing a slot is made up for: the next leader's cron jobs still
  have the slot due, and its run id is the slot's, not the hour it finally ran.
The schedule follows the rules in force: a changed `scans:` rebuilds the cron jobs at the next
tick (no restart). Cron fields are read in the worker host's local time zone, as cron does.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import time
from datetime import datetime, timezone

from croniter import croniter
from redis import Redis
from rq.cron import CronScheduler

from router.core import brain, connections
from router.core.config import Config
from router.stale import scans

log = logging.getLogger("sparky.stale")

LEADER_TTL = 60
TICK = 15.0

# Refresh the lock only while we hold it. KEYS: lock. ARGV: holder, ttl.
REFRESH = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2])) end
return redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', tonumber(ARGV[2])) and 1 or 0
"""
RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"


class ScanCron:
    """Keeps an rq CronScheduler in step with the scans in force, enqueuing while it leads."""

    def __init__(self, conn: Redis, config: Config, tick: float = TICK):
        self.conn, self.config, self.tick_seconds = conn, config, tick
        self.name = f"sparky-scans:{socket.gethostname()}:{os.getpid()}"
        self.scheduler: CronScheduler | None = None
        self.signature: tuple = ()
        self.leading = False
        self.stopping = threading.Event()
        self.stop_lock = threading.Lock()

    def _lead(self) -> bool:
        held = bool(self.conn.eval(REFRESH, 1, brain.key_scan_cron_leader(), self.name, LEADER_TTL))
        if held != self.leading and self.scheduler is not None:
            if held:
                self.scheduler.register_birth()
            else:
                self.scheduler.register_death()
        self.leading = held
        return held

    def _sync(self) -> None:
        """Rebuild the cron jobs when the scans (or their schedules) in force changed."""
        try:
            # a worker that gets no signals would not notice a changed stale.yml otherwise
            current = scans.in_force(self.conn, self.config, poll=self.config.rules_poll)
        except Exception as exc:  # noqa: BLE001  no rules yet, or refused: keep the schedule we have
            log.warning("scan schedules not updated: %s", exc)
            return
        signature = tuple((s.name, s.schedule, s.timeout) for s in current.values())
        if signature == self.signature and self.scheduler is not None:
            return
        if self.scheduler is not None and self.leading:
            self.scheduler.register_death()
        scheduler = CronScheduler(connection=self.conn, logging_level="WARNING", name=self.name)
        for scan in current.values():
            scheduler.register(scans.run_scan, scans.SCANS_QUEUE, args=(scan.name,),
                               kwargs={"trigger": "cron", "schedule": scan.schedule}, cron=scan.schedule,
                               job_timeout=scan.timeout, result_ttl=7 * 86400, failure_ttl=7 * 86400,
                               name=f"stale-scan:{scan.name}")
        self.scheduler, self.signature = scheduler, signature
        if self.leading:
            scheduler.register_birth()
        log.info("scan schedules: %s", ", ".join(f"{n} {s!r}" for n, s, _ in signature) or "none")

    def tick(self) -> list[str]:
        """One round: follow the rules, keep or take the lead, enqueue what is due. Returns what was."""
        self._sync()
        if not self._lead() or self.scheduler is None:
            return []
        enqueued = self.scheduler.enqueue_jobs()
        if enqueued:
            self.scheduler.save()
        self.scheduler.heartbeat()
        return [job.name for job in enqueued]

    def sleep_for(self) -> float:
        if self.scheduler is None or not self.leading:
            return self.tick_seconds
        return max(0.5, min(self.tick_seconds, self.scheduler.calculate_sleep_interval()))

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                self.tick()
            except Exception:  # noqa: BLE001  a brain hiccup must not end the schedule
                log.exception("scan cron tick failed")
            self.stopping.wait(self.sleep_for())
        self.stop()

    def stop(self) -> None:
        """Stop, handing the lead back. Called by the owner and by the thread itself on its way
        out, so it may run twice at once: the first caller does the work."""
        self.stopping.set()
        with self.stop_lock:
            leading, self.leading = self.leading, False
            if leading and self.scheduler is not None:
                self.scheduler.register_death()
            if leading:
                self.conn.eval(RELEASE, 1, brain.key_scan_cron_leader(), self.name)


def start(config: Config) -> ScanCron:
    """Run the scan schedule in a daemon thread of this process (worker.py)."""
    cron = ScanCron(connections.connect(config.redis_url), config)
    threading.Thread(target=cron.run, name="sparky-scan-cron", daemon=True).start()
    return cron


def next_runs(conn: Redis, config: Config, now: float | None = None) -> dict[str, str]:
    """Scan name → when it runs next (UTC ISO), for `GET /api/scans` and `sparky scan --list`."""
    now = time.time() if now is None else now
    local = datetime.fromtimestamp(now).astimezone().replace(tzinfo=None)
    out = {}
    for scan in scans.in_force(conn, config).values():
        nxt = croniter(scan.schedule, local).get_next(datetime).astimezone().astimezone(timezone.utc)
        out[scan.name] = nxt.strftime("%Y-%m-%dT%H:%M:%SZ")
    return out
