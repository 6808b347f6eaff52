"""What a failed outbound call means: wait (`Later`), retry (`Retryable`) or give up (`Permanent`).

Every outbound call — a `webhook` action, Slack, a Slack `response_url`, the GitHub, Chef and
Artifactory scans, Jenkins and GitHub deploy targets — turns an HTTP answer into one of these with
`classify`, so they all mean the same: a 429 (or a rate limit the system says is exhausted) waits
as long as it asks, a 5xx or an error the system calls transient is retried with backoff, any other
4xx is final. The job runtime (router/jobs/) decides what waiting, retrying and giving up mean for
a job.
"""
from __future__ import annotations

import math
import time


class Later(Exception):
    """Try again `seconds` from now, or at epoch time `until`: the receiver asked to wait, or the
    channel's rate slot is later."""

    def __init__(self, seconds: float, reason: str, status: int = 0, until: float | None = None):
        super().__init__(reason)
        self.until = until if until is not None else time.time() + seconds
        self.status = status

    def interval(self) -> int:
        """Whole seconds for RQ's Retry so that the job is due no earlier than `until`.

        RQ's scheduled registry keeps whole seconds (rounded down) and its scheduler polls once a
        second: aiming at the next whole second at or after `until` is never early.
        """
        return max(1, math.ceil(math.ceil(self.until) - time.time()))


class Retryable(Exception):
    """A transient failure (5xx, timeout, connection refused): retry with backoff."""

    def __init__(self, reason: str, status: int = 0):
        super().__init__(reason)
        self.status = status


class Permanent(Exception):
    """A failure retrying cannot fix (4xx, unknown channel, bad parameters)."""

    def __init__(self, reason: str, status: int = 0):
        super().__init__(reason)
        self.status = status


DEFAULT_WAIT = 10.0   # seconds, when a 429 says nothing about how long


def retry_after(value: object, default: float = DEFAULT_WAIT) -> float:
    """A `Retry-After` header's seconds (at least 1); `default` when absent or not a number."""
    try:
        return max(1.0, float(str(value).strip()))
    except (TypeError, ValueError):
        return default


def classify(status: int, what: str, wait: float | None = None, limited: bool = False,
             transient: bool = False) -> Later | Retryable | Permanent | None:
    """The outcome of an answer with HTTP `status`; None for a success (< 400, not `transient`).

    `limited`: the system says its rate limit is used up whatever the status (Slack's
    `ratelimited`, GitHub's 403 with no requests remaining); `wait`: how long it asked to wait;
    `transient`: an error the system calls temporary even on a 200 (Slack's `internal_error`).
    """
    if status == 429 or limited:
        seconds = DEFAULT_WAIT if wait is None else wait
        return Later(seconds, f"{what} (rate limited, asked to wait {seconds:g}s)", status or 429)
    if status >= 500 or transient:
        return Retryable(what, status)
    if status >= 400 or status == 0:
        return Permanent(what, status)
    return None
