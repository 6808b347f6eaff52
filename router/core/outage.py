"""A brain outage told apart from a bug, and reported once a second rather than once a request.

An outage is Redis not answering (refused, reset, timed out, still loading its data) or not taking
writes now (out of memory, a read-only replica after a failover, MISCONF...): the client is told
503 with Retry-After, and the log gets one line a second with how many more requests met it —
not a traceback per request, which during an outage buries everything else. Any other Redis
error reply is a bug of ours (the client's input is validated before it reaches Redis): a 500,
with its traceback.
"""
from __future__ import annotations

import logging
import threading
from typing import Callable

from redis.exceptions import (
    BusyLoadingError,
    MasterDownError,
    OutOfMemoryError,
    ReadOnlyError,
    RedisError,
    ResponseError,
    TryAgainError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.sentinel import MasterNotFoundError

# The brain is away (down, switching primaries under Sentinel, loading its file, full). A failover's
# ReadOnlyError, MasterDownError and BusyLoadingError are ResponseErrors in redis-py, so a handler
# that reads other ResponseErrors as a bug must look here first. MasterNotFoundError (a
# ConnectionError) is named for the reader.
OUTAGE_ERRORS = (RedisConnectionError, RedisTimeoutError, OutOfMemoryError, ReadOnlyError, MasterDownError,
                 BusyLoadingError, TryAgainError, MasterNotFoundError)
# Error replies of a Redis that cannot serve now, whatever the command (no class in redis-py): a
# primary with `min-replicas-to-write` and too few replicas in sync, a replica without its primary...
OUTAGE_REPLIES = ("OOM", "MISCONF", "BUSY", "LOADING", "MASTERDOWN", "TRYAGAIN", "CLUSTERDOWN", "NOREPLICAS",
                  "READONLY")
RETRY_AFTER = "5"   # seconds a client is told to wait when the brain is out


def is_outage(exc: BaseException) -> bool:
    """Is this Redis trouble the brain's (retry later), rather than a bug in what we asked?"""
    if isinstance(exc, OUTAGE_ERRORS):
        return True
    if not isinstance(exc, (ResponseError, RedisError)):
        return False
    text = str(exc)
    if text.startswith("Error running script"):
        # A Lua script's refused write comes wrapped: "Error running script (call to f_…):
        # @user_script:24: @user_script: 24: -READONLY You can't write against a read only replica."
        text = text.rsplit(": -", 1)[-1]
    return text.startswith(OUTAGE_REPLIES)


class OutageLog:
    """Logs a brain outage at most once per `interval` seconds (of `clock`), counting the rest."""

    def __init__(self, logger: logging.Logger, clock: Callable[[], float], interval: float = 1.0):
        self.logger = logger
        self.clock = clock
        self.interval = interval
        self._lock = threading.Lock()
        self._last: float | None = None
        self._quiet = 0     # outages met since the last line, not logged

    def report(self, exc: RedisError, where: str) -> None:
        now = self.clock()
        with self._lock:
            if self._last is not None and 0 <= now - self._last < self.interval:
                self._quiet += 1
                return
            quiet, self._quiet, self._last = self._quiet, 0, now
        more = f"; {quiet} more request(s) met it since the last line" if quiet else ""
        self.logger.error("brain (Redis) unreachable at %s: %s: %s%s", where, type(exc).__name__,
                          str(exc)[:200], more)
