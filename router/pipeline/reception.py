"""Taking signals in: de-duplicate, store durably, mark them pending evaluation — one Lua script.

No Flask here: router/pipeline/hooks.py calls `accept` after the adapter has verified and parsed.
"""
from __future__ import annotations

import functools
import logging
import time
from dataclasses import dataclass, field

from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from router.core import brain, metrics
from router.core.config import Config
from router.core.signal import Signal
from router.core.times import parse_time
from router.pipeline import intake, sweeps

log = logging.getLogger(__name__)


# The backlog beyond the pending signals (queued jobs, actions not yet run) is read at most once a
# second per process: exact to the job is not needed, and it costs round trips. The pending
# signals, in all and per source, are counted exactly by reception's script as it stores them.
BACKLOG_TTL = 1.0
_backlog: dict[int, tuple[float, int]] = {}


def queued_work(conn: Redis) -> int:
    now = time.monotonic()
    seen_at, value = _backlog.get(id(conn), (0.0, 0))
    if now - seen_at > BACKLOG_TTL:
        value = intake.queued_work(conn)
        _backlog[id(conn)] = (now, value)
    return value


# SPARKY_REDIS_ACK_REPLICAS: how long a request waits for the replicas' acknowledgement (docs/ha.md).
REPLICAS_WAIT_MS = 1000


class NotReplicated(RedisConnectionError):
    """The signals are on the primary but fewer than SPARKY_REDIS_ACK_REPLICAS replicas confirmed
    them in time: answered like an outage (503 + Retry-After), for the sender to retry."""

    def __init__(self, wanted: int):
        super().__init__(f"stored, but not yet on {wanted} replica(s) (SPARKY_REDIS_ACK_REPLICAS); "
                         f"retry later")


class Backpressure(Exception):
    """The backlog, or the sending source's share of it, is full; the sender should retry later."""

    def __init__(self, backlog: int, bound: int, source: str = ""):
        if source:
            message = (f"source {source} has {backlog} signals waiting, its share of the backlog is {bound} "
                       f"(SPARKY_SOURCE_SHARE of SPARKY_MAX_BACKLOG); retry later")
        else:
            message = f"backlog of {backlog} signals and queued jobs is at the bound of {bound}; retry later"
        super().__init__(message)
        self.backlog = backlog
        self.source = source


def source_share(config: Config) -> int | None:
    """The most signals one source may have waiting (None: no bound)."""
    if not config.max_backlog or config.source_share >= 1:
        return None
    return max(1, int(config.max_backlog * config.source_share))


def signal_cap(config: Config) -> tuple[int, str] | None:
    """The most signals one request may carry, and the setting that says so (None: no cap). Never
    more than could ever fit the source's share or the backlog: such a request would be refused
    with 503 forever, so it is told 413 instead."""
    caps = [(config.max_signals, "SPARKY_MAX_SIGNALS")] if config.max_signals else []
    if (share := source_share(config)) is not None:
        caps.append((share, "SPARKY_SOURCE_SHARE of SPARKY_MAX_BACKLOG"))
    if config.max_backlog:
        caps.append((config.max_backlog, "SPARKY_MAX_BACKLOG"))
    return min(caps) if caps else None


@dataclass
class Accepted:
    ids: list[str] = field(default_factory=list)           # new signals, stored and queued
    duplicate_of: list[str] = field(default_factory=list)  # originals of re-delivered signals

    def answer(self) -> dict:
        body = {"accepted": len(self.ids), "signals": self.ids}
        if self.duplicate_of:
            body["duplicate"] = not self.ids
            body["duplicate_of"] = self.duplicate_of
        return body


def accept(conn: Redis, config: Config, source: str, signals: list[Signal]) -> Accepted:
    """Store the new signals and mark them pending evaluation; duplicates are only reported."""
    if not signals:
        return Accepted()
    room = share = None
    if config.max_backlog:
        # Counted per signal: the request's new signals must fit, not only the request itself.
        queued = queued_work(conn)
        room, share = config.max_backlog - queued, source_share(config)
        if room <= 0:
            raise Backpressure(queued, config.max_backlog)

    now = time.time()
    try:
        taken, holders, sweep_at, replicated = brain.accept_signals(
            conn, source, [s.to_dict() for s in signals], [s.dedup for s in signals],
            now=now, signal_ttl=config.signal_ttl, dedup_ttl=config.dedup_ttl,
            flag_ttl=intake.FLAG_TTL, metric_fields=_metric_fields(source),
            expiries=[expires_at(s, now, config.resolve_timeout) for s in signals], sweep_margin=sweeps.SWEEP_MARGIN,
            room=room, share=share, replicas=config.redis_ack_replicas, replicas_wait_ms=REPLICAS_WAIT_MS)
    except brain.OverBound as over:
        # Refused requests store nothing, so none of them takes the drain flag: if the drain job
        # was lost (a worker's loop broken by a Redis restart mid-drain), nothing would queue
        # another until a worker's maintenance, a minute on. Each refusal tries instead, once the
        # lost job's flag has run out (intake.FLAG_TTL).
        try:
            intake.kick(conn)
        except RedisError:
            pass
        if over.which == "source":
            raise Backpressure(over.held, share, source) from None
        raise Backpressure(over.held + config.max_backlog - room, config.max_backlog) from None
    if sweep_at is not None:
        # An alert that resolves unless re-sent expires before any sweep scheduled so far.
        schedule_sweep(conn, sweep_at)
    result = Accepted()
    for signal, holder in zip(signals, holders):
        if holder == signal.id:
            result.ids.append(signal.id)
        else:
            result.duplicate_of.append(holder)
    if taken:
        # We took the drain flag: no drain job is queued or running, so queue one. Should this
        # process die right here, the flag expires (intake.FLAG_TTL) and the next request or a
        # worker's start-up kick queues it instead; the signals are already stored and pending.
        try:
            intake.enqueue_drain(conn)
        except RedisError:
            log.error("stored %d signals but could not queue their drain job; the flag expires "
                      "in %ss and the next request queues it", len(result.ids), intake.FLAG_TTL)
    if not replicated:
        # Stored and queued on the primary, so they will be handled; but a 2xx promises they
        # survive a failover, which only a replica's copy does. The sender's retry is answered
        # as a duplicate (same delivery key) once a replica is back.
        raise NotReplicated(config.redis_ack_replicas)
    return result


def schedule_sweep(conn: Redis, at: float) -> None:
    """Have RQ's scheduler run the expiry sweep at epoch `at` (router/pipeline/expiry.py)."""
    try:
        sweeps.schedule(conn, at)
    except RedisError:
        log.error("could not schedule the expiry sweep for %s; a worker's maintenance will", at)


def expires_at(signal: Signal, now: float, resolve_timeout: float) -> float | None:
    """When an alert that lives only while re-sent resolves unless re-sent: at its endsAt, or
    `resolve_timeout` from now without one (Alertmanager's resolve_timeout). None for the others."""
    if signal.ends_at is None:
        return None
    if signal.ends_at:
        return parse_time(signal.ends_at).timestamp()
    return now + resolve_timeout


@functools.lru_cache(maxsize=64)
def _metric_fields(source: str) -> tuple[str, str]:
    return (metrics.field("sparky_signals_received", source=source, outcome="accepted"),
            metrics.field("sparky_signals_received", source=source, outcome="duplicate"))
