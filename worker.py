"""Start an RQ worker on Sparky's queues (with RQ's scheduler for delayed jobs): `python worker.py`.

Same config as the web app (router.core.config). `--burst` drains the queues and exits.
"""
from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import time

from rq import SimpleWorker, Worker
from rq.exceptions import StopRequested

from router.app import resolve_redis
from router.assembly import assemble
from router.core import connections
from router.core.config import WORKER_HEARTBEAT, Config
from router.core.lifeline import forks_die_with_this_process
from router.jobs.queues import QUEUES
from router.jobs.recovery import recover, with_recovery
from router.packs import digests
from router.pipeline import intake, sweeps
from router.stale import cron as scan_cron


def with_drain_kick(cls):
    """The worker class, also queueing a drain job for signals left pending by a process that
    died (router/pipeline/intake.py) at start and at every RQ maintenance run, and the sweep that resolves
    alerts Prometheus stopped re-sending (router/pipeline/expiry.py), and the command packs' digests
    that are due (router/packs/digests.py)."""

    class Kicking(cls):
        def subscribe(self):
            """RQ's, with the thread polling every PUBSUB_POLL s instead of 60: stopping joins it,
            and redis-py 8 waits for the poll to end (a worker took up to 60 s to stop)."""
            self.pubsub = self.connection.pubsub()
            self.pubsub.subscribe(**{self.pubsub_channel_name: self.handle_payload})
            with signals_for_the_main_thread():
                self.pubsub_thread = self.pubsub.run_in_thread(
                    sleep_time=PUBSUB_POLL, daemon=True, exception_handler=self._pubsub_exception_handler)

        def run_maintenance_tasks(self):
            super().run_maintenance_tasks()
            if intake.kick(self.connection):
                self.log.warning("signals were pending with no drain job; queued one")
            sweeps.ensure(self.connection)  # a sweep chain lost with a dead worker is restarted
            try:
                digests.tick(self.connection)   # command packs' `every:` (router/packs/digests.py)
            except Exception:  # noqa: BLE001  a digest must not stop the worker's maintenance
                self.log.exception("pack digests not queued")

    Kicking.__name__ = cls.__name__
    return Kicking


log = logging.getLogger("sparky.worker")

@contextlib.contextmanager
def signals_for_the_main_thread():
    """Threads started inside take no SIGTERM/SIGINT, so the kernel hands those to the main thread.

    Python runs signal handlers in the main thread, but the kernel may deliver a process-directed
    signal to any thread that does not block it. Delivered to the scan cron's or RQ's pub/sub
    thread, a SIGTERM left the main thread asleep in BLPOP — up to RQ's 405 s dequeue timeout —
    with its handler (RQ's warm shutdown) waiting to run: `sparky up`, systemd or a test stopping
    the worker waited in vain, now and then. A thread inherits its creator's signal mask."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


# Seconds RQ's command thread (stop-job requests) waits per poll; also how long stopping it takes.
PUBSUB_POLL = 1.0

# Seconds RQ's scheduler process gets to stop when the worker does, before it is killed.
SCHEDULER_STOP = 5


def with_bounded_teardown(cls):
    """The worker class, not waiting forever for its scheduler process when it stops.

    RQ's `stop_scheduler` sends SIGTERM and then joins with no timeout. After a Redis restart the
    worker quits its loop (an unhandled ConnectionError); when its scheduler did not stop (seen in
    tests/test_chaos.py while the scheduler was blocked writing its log), the worker sat in its
    teardown, alive, so `sparky up` never restarted it and accepted signals waited. Now the
    scheduler is killed after SCHEDULER_STOP seconds, the worker exits, and `sparky up` starts a
    fresh one."""

    class Bounded(cls):
        def stop_scheduler(self):
            process = self.scheduler._process if self.scheduler else None
            if process is None or not process.pid:
                return
            try:
                os.kill(process.pid, signal.SIGTERM)
            except OSError:
                pass
            process.join(SCHEDULER_STOP)
            if process.is_alive():
                self.log.warning("RQ's scheduler did not stop within %s s; killed", SCHEDULER_STOP)
                process.kill()
                process.join(SCHEDULER_STOP)

    Bounded.__name__ = cls.__name__
    return Bounded


# RQ's maintenance (registry cleaning, recovery, drain kick) every MAINTENANCE s between jobs.
MAINTENANCE = 60

# RQ writes a worker's heartbeat before each wait for a job, waiting worker_ttl - 15 s at most (RQ's
# default ttl is 420 s): an idle worker beats every WORKER_HEARTBEAT s, within /readyz's
# SPARKY_READY_WORKER_AGE (router/pipeline/liveness.py).
WORKER_TTL = WORKER_HEARTBEAT + 15

# SimpleWorker runs jobs in the worker process itself: 5x the jobs/s of the forking Worker on
# this machine (performance-baselines §4b), and the rules engine stays warm between jobs. A job
# that kills the process takes the worker with it; `sparky up` restarts it, and the restarted
# worker puts back what the dead one held (router/jobs/recovery.py).
WORKER_CLASSES = {"simple": with_drain_kick(with_recovery(with_bounded_teardown(SimpleWorker))),
                  "fork": with_drain_kick(with_recovery(with_bounded_teardown(Worker)))}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--burst", action="store_true", help="drain the queues, then exit")
    parser.add_argument("--class", dest="kind", choices=sorted(WORKER_CLASSES), default="simple")
    args = parser.parse_args(argv)
    forks_die_with_this_process()   # RQ's scheduler process goes when the worker does, even on kill -9
    assemble()   # the catalogue, facts, commands the jobs will need (router/assembly.py)
    config = resolve_redis(Config.from_env())
    conn = connections.connect(config.redis_url)  # no socket timeout: the worker blocks on BLPOP
    logging.basicConfig(level=logging.INFO, format="%(asctime)s worker %(levelname)s %(message)s")
    recover(conn, list(QUEUES))  # before RQ's scheduler asks for its lock
    with signals_for_the_main_thread():
        cron = None if args.burst else scan_cron.start(config)  # stale.yml's scans (router/stale/cron.py)
    try:
        while not work_once(conn, args):
            time.sleep(OUTAGE_PAUSE)
            try:
                recover(conn, list(QUEUES))  # what the broken loop held, before the next one starts
            except connections.OUTAGE as exc:
                log.warning("brain still unreachable (%s)", type(exc).__name__)
    except StopRequested:
        pass   # SIGTERM between two loops: the last loop's handler says stop
    finally:
        if cron is not None:
            cron.stop()  # hand the scan lead over now, not when its lock runs out


# Seconds between a worker loop that ended on a brain outage and the next one.
OUTAGE_PAUSE = 1.0


def stop_requested(worker) -> bool:
    # RQ keeps no public flag: it notes the time of a SIGTERM/SIGINT (idle or busy worker alike).
    return getattr(worker, "_shutdown_requested_date", None) is not None or \
        getattr(worker, "_stop_requested", False)


def work_once(conn, args) -> bool:
    """One RQ worker loop; False when it ended because the brain went away, not because it was
    asked to stop. RQ's loop quits on a Redis error outside its dequeue (a primary killed while a
    job ran, a Sentinel failover); instead of exiting for a supervisor to notice, this process
    starts a fresh loop, which reconnects — through Sentinel, to the new primary — after `main`
    has put back what the broken loop held (router/jobs/recovery.py)."""
    worker = None
    try:
        worker = WORKER_CLASSES[args.kind](list(QUEUES), connection=conn, maintenance_interval=MAINTENANCE,
                                           worker_ttl=WORKER_TTL)
        worker.work(burst=args.burst, with_scheduler=True, logging_level="WARNING")
    except connections.OUTAGE as exc:
        if worker is not None and stop_requested(worker):
            # Asked to stop, and the brain went too (`sparky up` killed: its Redis dies with it):
            # stopping wins, or this process would start loop after loop with nobody to stop it.
            return True
        log.warning("brain unreachable (%s); the worker starts again in %ss", type(exc).__name__, OUTAGE_PAUSE)
        return False
    if args.burst or stop_requested(worker):
        return True   # the burst is done, or SIGTERM/SIGINT (RQ's warm shutdown)
    log.warning("the worker loop ended on an error (above); it starts again in %ss", OUTAGE_PAUSE)
    return False


if __name__ == "__main__":
    main()
