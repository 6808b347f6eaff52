"""The scans of stale.yml (`scans:`) and the scan job: collect items, hand them to reception.

stale.yml (SPEC §10), every key but `schedule` optional:

    scans:
      github-prs: {schedule: "0 9 * * 1-5", repos: [acme/web-api, "acme/*"], older_than: 7d, bots: [ci-bot]}
      github-repos: {schedule: "0 8 * * 1", repos: ["acme/*"], older_than: 180d, owner: platform-team}
      chef-nodes: {schedule: "0 * * * *", path: inventory/chef, owners: {"^web-": alice, "^db-": bob}}
      chef-api: {type: chef-nodes, schedule: "30 * * * *", query: "chef_environment:production"}
      artifacts: {schedule: "0 6 * * 1", repos: ["libs-*"], older_than: 90d}

- `type` is one of TYPES; a scan named after a type needs none.
- `older_than`: an item whose last activity is older is `idle` (else `active`); defaults per type.
- `owner` / `owners`: who owns items that name nobody themselves: the first `owners` regex that
  matches the subject (node name, artifact path, repo), else `owner`.
- `url` overrides GITHUB_API_URL / CHEF_SERVER_URL / ARTIFACTORY_URL; `path` (chef-nodes) reads
  knife output from a folder under SPARKY_DATA_DIR instead of the API; `query` is the Chef search
  query or the AQL (`usage` for the usage search); `bots` are logins whose activity does not count;
  `timeout` bounds the job (default 30m).

A run is identified by its `run` id: a cron slot (`cron-2026-11-25T09:00`) or an on-demand id.
The first job to claim a run does it; a second scheduler's copy of the same slot, or a re-run,
is answered "duplicate". Signals are accepted in batches of BATCH with `Signal.dedup =
<scan>:<run>:<fingerprint>`, so a retried job does not evaluate an item twice, and the next run
evaluates every item again (the nag's own rate limit decides whether anyone hears of it).
"""
from __future__ import annotations

import dataclasses
import json
import logging
import re
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Iterator

from croniter import croniter
from redis import Redis
from rq import Retry, get_current_job

from router.core import brain, durations
from router.core.config import Config
from router.core.outcomes import Later, Permanent, Retryable
from router.core.signal import new_id
from router.core.times import utcnow
from router.engine import store
from router.jobs import policy
from router.jobs.queues import ACTIONS_QUEUE
from router.pipeline import reception
from router.stale import artifactory, chef, github, inventory
from router.stale.inventory import Item
from router.stale.schema import SCAN_TYPES as TYPES

log = logging.getLogger("sparky.stale")

DEFAULT_OLDER_THAN = {"github-prs": "7d", "github-repos": "180d", "chef-nodes": "1d", "artifacts": "90d"}
DEFAULT_TIMEOUT = 1800
BATCH = 500                  # signals per reception.accept (one evaluation job each)
BACKPRESSURE_WAIT = 120      # seconds a scan waits for the queues to drain before it gives up
RETRY_INTERVALS = [60, 300, 900]
# Scans share the actions queue: a worker takes evaluations first, then actions and scans in
# order. A queue of their own is one line here (and in dispatch.QUEUES) when scans grow long.
SCANS_QUEUE = ACTIONS_QUEUE


class UnknownScan(LookupError):
    def __init__(self, name: str, known: list[str]):
        listed = ", ".join(known) if known else "none: add `scans:` to stale.yml"
        super().__init__(f'no scan "{name}" in the rules in force (scans: {listed})')
        self.name = name
        self.known = known


@dataclass(frozen=True)
class Scan:
    name: str
    type: str
    schedule: str
    older_than: float
    repos: tuple[str, ...] = ()
    path: str = ""
    url: str = ""
    query: str = ""
    owner: str = ""
    owners: tuple[tuple[str, str], ...] = ()
    bots: frozenset[str] = frozenset()
    timeout: int = DEFAULT_TIMEOUT
    spec: dict = field(default_factory=dict, compare=False)

    @classmethod
    def from_spec(cls, name: str, spec: dict) -> "Scan":
        kind = spec.get("type") or name
        if kind not in TYPES:
            raise ValueError(f'scan "{name}": say which kind it is with type: {" | ".join(TYPES)}')
        return cls(name=name, type=kind, schedule=spec["schedule"],
                   older_than=durations.parse(spec.get("older_than") or DEFAULT_OLDER_THAN[kind]),
                   repos=tuple(spec.get("repos") or ()), path=spec.get("path", ""), url=spec.get("url", ""),
                   query=spec.get("query", ""), owner=spec.get("owner", ""),
                   owners=tuple((str(k), str(v)) for k, v in (spec.get("owners") or {}).items()),
                   bots=frozenset(str(b).lower() for b in spec.get("bots") or ()),
                   timeout=int(durations.parse(spec["timeout"])) if spec.get("timeout") else DEFAULT_TIMEOUT,
                   spec=dict(spec))

    def owner_of(self, item: Item) -> str:
        if item.owner:
            return item.owner
        for pattern, owner in self.owners:
            if re.search(pattern, item.subject):
                return owner
        return self.owner


def in_force(conn: Redis, config: Config, poll: float = 0.0) -> dict[str, Scan]:
    """The scans of the rules in force (published, hot-reloaded), by name; with `poll`, the rules
    dir is looked at first (at most that often), as evaluation does."""
    rules = store.current(conn, config.rules_dir, poll=poll)
    out = {}
    for name, spec in sorted((rules.data.get("scans") or {}).items()):
        try:
            out[name] = Scan.from_spec(name, spec)
        except ValueError as exc:
            log.error("%s", exc)
    return out


def get(conn: Redis, config: Config, name: str) -> Scan:
    scans = in_force(conn, config)
    if name not in scans:
        raise UnknownScan(name, sorted(scans))
    return scans[name]


# -- collecting ----------------------------------------------------------------------------------

def collect(scan: Scan, conn: Redis, config: Config, now: float) -> Iterator[Item]:
    """Every item the scan finds, owner filled in from the scan's conventions."""
    for item in _collect(scan, conn, config, now):
        item.owner = scan.owner_of(item)
        yield item


def _collect(scan: Scan, conn: Redis, config: Config, now: float) -> Iterator[Item]:
    if scan.type in ("github-prs", "github-repos"):
        cfg = config.with_(github_api_url=scan.url) if scan.url else config
        with github.client(cfg) as gh:
            if scan.type == "github-repos":
                yield from github.repositories(gh, scan.repos)
                return
            opts = github.Options(idle_after=scan.older_than, bots=scan.bots)
            for repo in github.repo_names(gh, scan.repos):
                yield from github.pull_requests(gh, conn, repo, now, opts)
    elif scan.type == "chef-nodes":
        if scan.path:
            folder = Path(scan.path) if Path(scan.path).is_absolute() else Path(config.data_dir) / scan.path
            yield from chef.from_folder(folder)
            return
        cfg = config.with_(chef_server_url=scan.url) if scan.url else config
        with chef.client(cfg) as api:
            yield from chef.from_api(api, scan.query)
    elif scan.type == "artifacts":
        cfg = config.with_(artifactory_url=scan.url) if scan.url else config
        with artifactory.client(cfg) as art:
            yield from artifactory.unused(art, scan.repos, int(scan.older_than // 86400), scan.query, now)


# -- running -------------------------------------------------------------------------------------

def cron_run_id(enqueued_at: float, schedule: str = "") -> str:
    """The run id of a cron slot: the schedule's last fire time at enqueue (local time, as rq.cron
    reads cron fields), so every scheduler agrees on it; the enqueue minute without a schedule."""
    if schedule:
        local = datetime.fromtimestamp(enqueued_at + 1).astimezone().replace(tzinfo=None)
        slot = croniter(schedule, local).get_prev(datetime).astimezone().timestamp()
        return "cron-" + time.strftime("%Y-%m-%dT%H:%M", time.gmtime(slot))
    return "cron-" + time.strftime("%Y-%m-%dT%H:%M", time.gmtime(enqueued_at))


def run(conn: Redis, config: Config, name: str, run_id: str = "", trigger: str = "manual",
        holder: str = "") -> dict:
    """Do one run of scan `name`: collect, accept the signals, publish the inventory.

    Returns the run's summary; `{"duplicate": True, ...}` when another job has this run.
    Raises Later / Retryable / Permanent (router/core/outcomes.py) when a system fails.
    """
    scan = get(conn, config, name)
    run_id = run_id or f"{trigger}-{new_id()}"
    holder = holder or run_id
    key = brain.key_scan_run(name, run_id)
    if not conn.set(key, holder, nx=True, ex=brain.SCAN_RUN_TTL):
        owner = conn.get(key)
        if (owner.decode() if owner else "") != holder:
            return {"scan": name, "run": run_id, "duplicate": True}
    started, now = time.monotonic(), time.time()
    counts = {"found": 0, "idle": 0, "accepted": 0, "duplicates": 0}
    batch: list = []
    try:
        for item in collect(scan, conn, config, now):
            signal = inventory.to_signal(item, name, run_id, now, scan.older_than)
            counts["found"] += 1
            counts["idle"] += signal.status == "idle"
            batch.append(signal)
            if len(batch) >= BATCH:
                _hand_over(conn, config, name, run_id, batch, counts)
                batch = []
        _hand_over(conn, config, name, run_id, batch, counts)
    except Exception as exc:
        inventory.discard(conn, name, run_id)
        _record_failure(conn, name, run_id, trigger, exc)
        raise
    summary = {"scan": name, "type": scan.type, "run": run_id, "trigger": trigger, "at": utcnow(),
               "seconds": round(time.monotonic() - started, 3), **counts, "error": ""}
    inventory.publish(conn, name, run_id, summary)
    brain.audit(conn, "stale.scan", scan=name, run=run_id, trigger=trigger, found=counts["found"],
                idle=counts["idle"])
    log.info("scan %s run %s: %d found, %d idle, %.1fs", name, run_id, counts["found"], counts["idle"],
             summary["seconds"])
    return summary


def _hand_over(conn: Redis, config: Config, scan: str, run_id: str, batch: list, counts: dict) -> None:
    if not batch:
        return
    inventory.stage(conn, scan, run_id, batch)
    deadline = time.monotonic() + BACKPRESSURE_WAIT
    while True:
        try:
            accepted = reception.accept(conn, config, "inventory", batch)
            break
        except reception.Backpressure as exc:
            if time.monotonic() > deadline:
                raise Retryable(f"scan {scan}: {exc}") from None
            time.sleep(1.0)
    counts["accepted"] += len(accepted.ids)
    counts["duplicates"] += len(accepted.duplicate_of)


def _record_failure(conn: Redis, name: str, run_id: str, trigger: str, exc: Exception) -> None:
    previous = inventory.summaries(conn).get(name, {})
    reason = str(exc) if isinstance(exc, (Later, Retryable, Permanent)) else f"{type(exc).__name__}: {exc}"
    conn.hset(brain.key_scans(), name, json.dumps({**previous, "scan": name, "error": reason[:500],
                                                   "failed_at": utcnow(), "failed_run": run_id,
                                                   "failed_trigger": trigger}))
    log.warning("scan %s run %s failed: %s", name, run_id, reason)


# -- the RQ job ----------------------------------------------------------------------------------

def run_scan(name: str, run_id: str = "", trigger: str = "cron", schedule: str = "") -> dict | str | Retry:
    """RQ job: one run of scan `name` (cron jobs pass no run id: their slot is their id)."""
    job = get_current_job()
    conn = job.connection
    if not run_id:
        enqueued = job.enqueued_at.timestamp() if job.enqueued_at else time.time()
        run_id = cron_run_id(enqueued, schedule)
    retries = job.number_of_retries or 0
    try:
        return run(conn, Config.from_env(), name, run_id=run_id, trigger=trigger, holder=job.id)
    except UnknownScan as exc:
        return f"failed: {exc}"
    except Permanent as exc:
        return f"failed: {exc}"
    except Later as exc:
        if retries >= 10:
            return f"failed: gave up after {retries} waits: {exc}"
        return Retry(max=retries + 1, interval=exc.interval())
    except Retryable as exc:
        if retries >= len(RETRY_INTERVALS):
            return f"failed after {retries + 1} attempts: {exc}"
        return Retry(max=len(RETRY_INTERVALS), interval=RETRY_INTERVALS)


def enqueue(conn: Redis, config: Config, name: str, trigger: str = "manual") -> tuple[str, str]:
    """Queue a run of scan `name` now; returns (job id, run id)."""
    scan = get(conn, config, name)
    run_id = f"{trigger}-{new_id()}"
    job = policy.enqueue(conn, run_scan, name, run_id, trigger, policy=dataclasses.replace(policy.SCAN, timeout=scan.timeout),
                         description=f"scan {name} ({trigger})")
    return job.id, run_id
