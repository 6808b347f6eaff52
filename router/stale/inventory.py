"""What a scan finds, as `inventory` signals, and the last inventory of each scan (for `stale`).

A collector yields `Item`s; `to_signal` turns one into the signal rules match (SPEC §3:
`source: inventory`, `kind: resource`, `status: idle|active`). Every item carries the same
labels whatever its type, so one rule shape fits all:

| label | meaning |
|---|---|
| `type` | `pull_request`, `chef_node`, `artifact` or `repo` |
| `scan` | the scan (stale.yml `scans:` name) that found it |
| `owner` | who should act: the PR author, a node's `owner:` tag, an artifact's `owner` property, |
| | else the scan's `owners:` naming convention / `owner:` default; "" when nobody is known |
| `age_days`, `idle_days` | whole days since it was created / since its last activity ("" when unknown) |
| `last_activity`, `created_at` | ISO 8601 UTC ("" when unknown: a node that never converged) |
| `last_activity_kind` | `commit`, `review`, `comment`, `reaction`, `opened`, `update`, `check-in`, |
| | `download`, `push`, `created` |
| `last_activity_by` | who (a login), when known |

plus the type's own: pull requests `repo`, `pr`, `author`, `reviewers`, `pr_labels` (both
comma-separated), `draft`, `branch`, `base`, `awaiting` (`review` or `author`); nodes `node`,
`env`, `platform`, `fqdn`, `converged`; artifacts `repo`, `path`, `name`, `size`, `downloads`;
repos `repo`, `default_branch`, `archived`.

A scan is `idle` when its last activity is older than the scan's `older_than` (or unknown);
the rules decide what is stale enough to nag about, usually with `labels.idle_days: {gte: N}`.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Iterable

from redis import Redis

from router.core import brain
from router.core.signal import Signal
from router.core.times import from_epoch

TYPES = ("pull_request", "chef_node", "artifact", "repo")

# How an item reads in a message, per type (filled from the item's labels and fields).
SUMMARY = {
    "pull_request": "{subject} “{title}” by {labels[author]}: {idle}",
    "chef_node": "node {labels[node]} ({labels[env]}): {idle}",
    "artifact": "{subject}: {idle}",
    "repo": "repo {subject}: {idle}",
}
IDLE_TEXT = {
    "pull_request": "no activity for {days} (last: {kind}{by})",
    "chef_node": "has not checked in for {days}",
    "artifact": "not downloaded for {days}",
    "repo": "no push for {days}",
}
NEVER_TEXT = {
    "pull_request": "no activity since it was opened",
    "chef_node": "has never converged (no ohai_time)",
    "artifact": "never downloaded",
    "repo": "never pushed to",
}


@dataclass
class Item:
    """One thing found by a scan; times are epoch seconds, None when unknown."""

    type: str
    fingerprint: str
    subject: str
    owner: str = ""
    title: str = ""
    url: str = ""
    created_at: float | None = None
    last_activity: float | None = None
    activity_kind: str = ""
    activity_by: str = ""
    labels: dict[str, str] = field(default_factory=dict)


def days(seconds: float) -> int:
    return max(0, int(math.floor(seconds / 86400)))


def _plural(n: int) -> str:
    return f"{n} day" if n == 1 else f"{n} days"


def describe(item: Item, now: float) -> str:
    """One line for people: what it is and how long it has been idle."""
    if item.last_activity is None:
        idle = NEVER_TEXT[item.type]
    else:
        by = f" by {item.activity_by}" if item.activity_by else ""
        idle = IDLE_TEXT[item.type].format(days=_plural(days(now - item.last_activity)),
                                           kind=item.activity_kind or "update", by=by)
    labels = {"author": "", "node": item.subject, "env": "", **item.labels}
    return SUMMARY[item.type].format(subject=item.subject, title=item.title, labels=labels, idle=idle)


def to_signal(item: Item, scan: str, run: str, now: float, idle_after: float) -> Signal:
    """The `inventory` signal for an item found by run `run` of `scan` at `now`."""
    idle = item.last_activity is None or now - item.last_activity >= idle_after
    labels = {
        **item.labels,
        "type": item.type,
        "scan": scan,
        "owner": item.owner,
        "age_days": str(days(now - item.created_at)) if item.created_at is not None else "",
        "idle_days": str(days(now - item.last_activity)) if item.last_activity is not None else "",
        "last_activity": from_epoch(item.last_activity) if item.last_activity is not None else "",
        "created_at": from_epoch(item.created_at) if item.created_at is not None else "",
        "last_activity_kind": item.activity_kind,
        "last_activity_by": item.activity_by,
    }
    return Signal(source="inventory", kind="resource", status="idle" if idle else "active", severity="info",
                  subject=item.subject, fingerprint=item.fingerprint, labels=labels,
                  summary=describe(item, now), text=item.title, url=item.url, actor=item.owner,
                  occurred_at=from_epoch(now),
                  # a re-run of the same run (a retried job) is a duplicate; the next run is not
                  dedup=f"{scan}:{run}:{item.fingerprint}")


# -- the last inventory of each scan ----------------------------------------------------------------

def listing_entry(signal: Signal) -> dict:
    """What `stale` lists about an item (the signal without its per-run fields)."""
    return {"fingerprint": signal.fingerprint, "subject": signal.subject, "status": signal.status,
            "summary": signal.summary, "url": signal.url, "labels": signal.labels, "signal": signal.id}


def stage(conn: Redis, scan: str, run: str, signals: Iterable[Signal]) -> int:
    """Add a batch of a run's items to its staging inventory; returns how many."""
    mapping = {s.fingerprint: json.dumps(listing_entry(s)) for s in signals}
    if not mapping:
        return 0
    key = brain.key_inventory_staging(scan, run)
    with conn.pipeline(transaction=False) as pipe:
        pipe.hset(key, mapping=mapping)
        pipe.expire(key, brain.SCAN_RUN_TTL)
        pipe.execute()
    return len(mapping)


def publish(conn: Redis, scan: str, run: str, summary: dict) -> None:
    """A complete run's inventory replaces the scan's last one; its summary is recorded."""
    staging, live = brain.key_inventory_staging(scan, run), brain.key_inventory(scan)
    with conn.pipeline(transaction=True) as pipe:
        if conn.exists(staging):
            pipe.rename(staging, live)
            pipe.expire(live, brain.INVENTORY_TTL)
        else:
            pipe.delete(live)  # the scan found nothing: nothing is stale any more
        pipe.hset(brain.key_scans(), scan, json.dumps(summary))
        pipe.execute()


def discard(conn: Redis, scan: str, run: str) -> None:
    conn.delete(brain.key_inventory_staging(scan, run))


def summaries(conn: Redis) -> dict[str, dict]:
    """Scan name → summary of its last complete run."""
    return {k.decode(): json.loads(v) for k, v in conn.hgetall(brain.key_scans()).items()}


def items(conn: Redis, scans: Iterable[str]) -> list[dict]:
    """Every item of the last inventory of `scans`."""
    found = []
    for scan in scans:
        found += [json.loads(raw) for raw in conn.hvals(brain.key_inventory(scan))]
    return found


def scan_names(conn: Redis) -> list[str]:
    return sorted(summaries(conn))
