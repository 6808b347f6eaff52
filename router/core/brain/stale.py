"""Stale nagging: scans, inventory, PR activity, nags, digests, clean-up requests."""
from __future__ import annotations

from router.core.brain.base import PREFIX, digest
from router.core.brain.shared import key_lock

# -- stale nagging ------------------------------------------------------------------------------------
# Written by router/stale (scans, inventory, approvals) and actions/nag.py (nag history, digests).

INVENTORY_TTL = 30 * 24 * 3600     # a scan's last inventory; refreshed by every run of the scan
SCAN_RUN_TTL = 2 * 24 * 3600       # a claimed scan run (cron slot or on-demand run id)
PR_ACTIVITY_TTL = 30 * 24 * 3600   # cached per-PR activity, keyed by the PR's updated_at
NAG_HISTORY_TTL = 90 * 24 * 3600   # when an item was first nagged (for escalation), refreshed per nag
NAG_PENDING_TTL = 7 * 24 * 3600    # nags waiting for their owner's delivery
STALE_REQUEST_TTL = 30 * 24 * 3600  # approval requests, decided or not, are kept this long
STALE_REQUESTS_CAP = 10_000        # newest requests kept in the index


def key_scans() -> str:
    """Hash: scan name → JSON summary of its last run (when, how many items, idle, errors)."""
    return f"{PREFIX}stale:scans"


def key_scan_run(scan: str, run: str) -> str:
    """Claimed by the job that runs one scan run (a cron slot is claimed once across schedulers)."""
    return f"{PREFIX}stale:run:{scan}:{digest(run)}"


def key_scan_cron_leader() -> str:
    """Held (with a TTL) by the one cron scheduler that enqueues scans; the others stand by."""
    return key_lock("stale-cron")


def key_inventory(scan: str) -> str:
    """Hash: fingerprint → JSON item, the inventory of a scan's last complete run."""
    return f"{PREFIX}stale:inventory:{scan}"


def key_inventory_staging(scan: str, run: str) -> str:
    """Where a run writes its inventory before it replaces `key_inventory` (RENAME) at the end."""
    return f"{PREFIX}stale:inventory-staging:{scan}:{digest(run)}"


def key_pr_activity(repo: str, number: str) -> str:
    """Cached reviews/commits/comments activity of one pull request, with the updated_at it is for."""
    return f"{PREFIX}stale:pr-activity:{digest(f'{repo}#{number}')}"


def key_nag_sent(fingerprint: str, owner: str) -> str:
    """Set (NX, TTL = the rule's `every`) when an item is nagged to an owner: no repeat before it expires."""
    return f"{PREFIX}stale:nagged:{digest(fingerprint)}:{digest(owner.lower())}"


def key_nag_history(fingerprint: str) -> str:
    """Hash per item: first_at, last_at, count, activity (the last_activity the count is for), escalated_at."""
    return f"{PREFIX}stale:nag-history:{digest(fingerprint)}"


def key_nag_pending(owner: str, room: str) -> str:
    """Hash: fingerprint → JSON nag waiting for delivery to one owner in one room (or DM)."""
    return f"{PREFIX}stale:pending:{digest(owner.lower() + '|' + room)}"


def key_nag_outbox(owner: str, room: str) -> str:
    """The nags one delivery took from `key_nag_pending` (kept until posted, so a retry posts the same)."""
    return f"{PREFIX}stale:outbox:{digest(owner.lower() + '|' + room)}"


def key_nag_state(owner: str, room: str) -> str:
    """Hash per owner and room: due (when the delivery job runs), seq (deliveries so far)."""
    return f"{PREFIX}stale:nag-state:{digest(owner.lower() + '|' + room)}"


def key_nag_digest(owner: str, day: str) -> str:
    """Set when an owner's digest for `day` (YYYY-MM-DD, UTC) went out: one digest per owner per day."""
    return f"{PREFIX}stale:digest:{digest(owner.lower())}:{day}"


def key_stale_request(request_id: str) -> str:
    """One approval request (JSON): close a PR, delete a node or an artifact, archive a repo."""
    return f"{PREFIX}stale:request:{request_id}"


def key_stale_requests() -> str:
    """Sorted set of request ids by creation time (capped at STALE_REQUESTS_CAP)."""
    return f"{PREFIX}stale:requests"


def key_stale_request_for(fingerprint: str, ask: str) -> str:
    """The open request for an item and what is asked, so nagging again reuses it."""
    return f"{PREFIX}stale:request-for:{digest(fingerprint)}:{ask}"
