"""The brain: every Redis key Sparky uses is built here, with the caps and TTLs that bound it.

A grep for "sparky:" should hit this file only. Functions take an explicit `conn` (as rq's
`Queue(connection=...)` does); nothing here holds a global connection.
"""
from __future__ import annotations

import hashlib
import json
import time

from redis import Redis

PREFIX = "sparky:"

# Caps on everything that can grow without bound.
SIGNAL_INDEX_CAP = 10_000        # newest signal ids kept per index list
DEAD_LETTER_CAP = 10_000         # SPEC §3: the newest 10,000
DEAD_LETTER_BODY_CAP = 64 * 1024  # SPEC §3: the first 64 KiB of a refused body
AUDIT_CAP = 100_000              # approximate MAXLEN of the audit stream
ROOM_CAP = 1_000                 # messages kept per built-in room


def _digest(value: str) -> str:
    return hashlib.sha1(value.encode("utf-8")).hexdigest()


# -- signals -----------------------------------------------------------------------------------

def key_signal(signal_id: str) -> str:
    return f"{PREFIX}signal:{signal_id}"


def key_decision(signal_id: str) -> str:
    """What the rules decided for one signal (written by the evaluation job)."""
    return f"{PREFIX}decision:{signal_id}"


def key_signal_index(source: str = "", kind: str = "") -> str:
    """Newest-first lists of signal ids: all, per source, per kind, per source+kind."""
    if source and kind:
        return f"{PREFIX}signals:source:{source}:kind:{kind}"
    if source:
        return f"{PREFIX}signals:source:{source}"
    if kind:
        return f"{PREFIX}signals:kind:{kind}"
    return f"{PREFIX}signals"


def key_dedup(source: str, delivery_key: str) -> str:
    return f"{PREFIX}dedup:{source}:{_digest(delivery_key)}"


def key_dead_letters() -> str:
    return f"{PREFIX}dead-letters"


def key_pending() -> str:
    """Sorted set of signal ids waiting for evaluation, scored by receipt time (router/intake.py)."""
    return f"{PREFIX}pending"


def key_drain_flag() -> str:
    """Held (with a TTL) while a drain job for the pending set is queued or running."""
    return f"{PREFIX}pending:draining"


# -- alert state, snoozes, acks, windows ------------------------------------------------------------

def key_alert(fingerprint: str) -> str:
    """Hash per alert fingerprint: status, firing_since, last_seen, acked_by, snoozed_by, signal."""
    return f"{PREFIX}alert:{_digest(fingerprint)}"


def key_firing() -> str:
    """Set of fingerprints now firing."""
    return f"{PREFIX}alerts:firing"


def key_firing_by(label: str, value: str) -> str:
    """Set of firing fingerprints sharing a `host` or `app` label value (for `firing_count`)."""
    return f"{PREFIX}alerts:firing:{label}:{value}"


def key_repeat(fingerprint: str) -> str:
    """Sorted set of firing times of one fingerprint (for `repeat`, last hour)."""
    return f"{PREFIX}repeat:{_digest(fingerprint)}"


def key_window(ruleset: str, rule: str, same: str) -> str:
    """Sorted set of signal ids in a rule's `count` window, per `same` value tuple."""
    return f"{PREFIX}window:{ruleset}:{rule}:{_digest(same)}"


def key_snooze(snooze_id: str) -> str:
    return f"{PREFIX}snooze:{snooze_id}"


def key_snoozes() -> str:
    """Sorted set of active snooze ids, scored by end time."""
    return f"{PREFIX}snoozes"


def key_deploying(app: str) -> str:
    return f"{PREFIX}deploying:{app}"


# -- rules --------------------------------------------------------------------------------------

def key_rules_version() -> str:
    return f"{PREFIX}rules:version"


def key_rules(version: str) -> str:
    return f"{PREFIX}rules:{version}"


# -- audit, rooms, misc -------------------------------------------------------------------------------

def key_audit() -> str:
    return f"{PREFIX}audit"


def key_room(room: str) -> str:
    return f"{PREFIX}room:{room}"


def key_rooms() -> str:
    return f"{PREFIX}rooms"


def key_lock(name: str) -> str:
    return f"{PREFIX}lock:{name}"


def key_metrics() -> str:
    """Hash of Prometheus counter/summary values shared by every process (router/metrics.py)."""
    return f"{PREFIX}metrics"


# -- small helpers used by several modules ----------------------------------------------------------

def signal_indexes(data: dict) -> tuple[str, ...]:
    return (key_signal_index(), key_signal_index(source=data["source"]), key_signal_index(kind=data["kind"]),
            key_signal_index(source=data["source"], kind=data["kind"]))


def store_signals(pipe, signals: list[dict], ttl: int) -> list[str]:
    """Queue the writes of signals and their index entries on `pipe` (the caller executes it).

    One LPUSH per index for the whole batch. Returns the index keys touched; trimming them to
    SIGNAL_INDEX_CAP is left to `trim_indexes`, which callers run now and then rather than on
    every request (it halves the commands per request).
    """
    by_index: dict[str, list[str]] = {}
    for data in signals:
        pipe.set(key_signal(data["id"]), json.dumps(data), ex=ttl)
        for index in signal_indexes(data):
            by_index.setdefault(index, []).append(data["id"])
    for index, ids in by_index.items():
        pipe.lpush(index, *ids)
    return list(by_index)


def trim_indexes(pipe, indexes) -> None:
    for index in indexes:
        pipe.ltrim(index, 0, SIGNAL_INDEX_CAP - 1)


def load_signal(conn: Redis, signal_id: str) -> dict | None:
    raw = conn.get(key_signal(signal_id))
    return json.loads(raw) if raw else None


def load_signals(conn: Redis, ids: list[str]) -> list[dict]:
    """The signals that still exist, in the order asked."""
    if not ids:
        return []
    raws = conn.mget([key_signal(i) for i in ids])
    return [json.loads(raw) for raw in raws if raw]


def recent_signals(conn: Redis, source: str = "", kind: str = "", limit: int = 50) -> list[dict]:
    ids = [i.decode() if isinstance(i, bytes) else i
           for i in conn.lrange(key_signal_index(source, kind), 0, limit - 1)]
    return load_signals(conn, ids)


def claim_deliveries(conn: Redis, source: str, ids: list[str], keys: list[str],
                     ttl: int) -> list[tuple[bool, str]]:
    """For each (signal id, delivery key): (first delivery?, id of the signal that claimed it).

    SET NX then GET in one round trip. An empty key has no identity (the source sends none) and
    is always new.
    """
    pipe = conn.pipeline(transaction=False)
    for sid, key in zip(ids, keys):
        if key:
            pipe.set(key_dedup(source, key), sid, nx=True, ex=ttl)
            pipe.get(key_dedup(source, key))
    answers = iter(pipe.execute() if any(keys) else [])
    result = []
    for sid, key in zip(ids, keys):
        if not key:
            result.append((True, sid))
            continue
        first, holder = next(answers), next(answers)
        result.append((bool(first), holder.decode() if isinstance(holder, bytes) else (holder or sid)))
    return result


def release_deliveries(conn: Redis, source: str, keys: list[str]) -> None:
    """Forget delivery keys whose signals could not be stored, so the sender's retry is taken."""
    keys = [key_dedup(source, k) for k in keys if k]
    if keys:
        conn.delete(*keys)


def push_dead_letter(conn: Redis, letter: dict) -> None:
    pipe = conn.pipeline(transaction=True)
    pipe.lpush(key_dead_letters(), json.dumps(letter))
    pipe.ltrim(key_dead_letters(), 0, DEAD_LETTER_CAP - 1)
    pipe.execute()


def dead_letters(conn: Redis, limit: int = 100) -> list[dict]:
    return [json.loads(raw) for raw in conn.lrange(key_dead_letters(), 0, limit - 1)]


def audit(conn: Redis, event: str, **fields: str) -> str:
    """Append one entry to the audit stream (who did what, when, which rule decided it).

    Conventional fields: who, what, room, rule, outcome (see "chat commands and audit" below);
    `at` (ISO 8601, this process's clock) is added unless given.
    """
    fields.setdefault("at", _now_iso())
    entry = {"event": event, **{k: "" if v is None else str(v) for k, v in fields.items()}}
    entry_id = conn.xadd(key_audit(), entry, maxlen=AUDIT_CAP, approximate=True)
    return entry_id.decode() if isinstance(entry_id, bytes) else entry_id


# -- actions and rooms ------------------------------------------------------------------------------

ACTION_OUTCOME_TTL = 7 * 24 * 3600   # outcomes and delivery markers live as long as a signal
ALERT_STATE_TTL = 30 * 24 * 3600     # alert state and threads, refreshed on every signal
GROUP_SAMPLE_CAP = 10                # subjects kept per group window for the message body
FACT_INDEX_CAP = 10_000              # fact names kept in the index


def key_action_outcomes(signal_id: str) -> str:
    """Hash per signal: "<ruleset>/<rule>/<index>" → JSON outcome of that action (also the dedupe mark)."""
    return f"{PREFIX}outcomes:{signal_id}"


def key_delivery(delivery_key: str) -> str:
    """One message's delivery marker: sending (uncertain) or sent, so a retried job never posts twice."""
    return f"{PREFIX}delivery:{_digest(delivery_key)}"


def key_actions_inflight() -> str:
    """Sorted set of action job ids not finished yet, scored by enqueue time (crash recovery)."""
    return f"{PREFIX}actions:inflight"


def key_alert_threads(fingerprint: str) -> str:
    """Hash per alert fingerprint: room → id/ts of the firing message (resolved answers in its thread)."""
    return f"{PREFIX}alert-threads:{_digest(fingerprint)}"


def key_escalation(fingerprint: str) -> str:
    """Hash per alert fingerprint: episode (firing_since) an escalation was last scheduled for."""
    return f"{PREFIX}escalation:{_digest(fingerprint)}"


def key_rate_next(room: str) -> str:
    """When the next message to a Slack channel may go (SPARKY_SLACK_RATE), as epoch seconds."""
    return f"{PREFIX}rate:{room}"


def key_rate_slots(room: str) -> str:
    """Hash per Slack channel: delivery key → the send time reserved for it."""
    return f"{PREFIX}rate-slots:{room}"


def key_group(group_id: str, part: str) -> str:
    """A `group` window: part is `members` (set), `sample` (list), `state` (hash), or `snap-*`."""
    return f"{PREFIX}group:{group_id}:{part}"


def key_groups() -> str:
    """Sorted set of `group` windows waiting for their message, scored by when it is due."""
    return f"{PREFIX}groups"


def key_fact(name: str) -> str:
    return f"{PREFIX}fact:{name}"


def key_facts() -> str:
    """Sorted set of fact names written by the `set` action, scored by write time."""
    return f"{PREFIX}facts"


# -- rules engine --------------------------------------------------------------------------------
# Written by router/engine: rule versions, evaluation claims, count windows, `repeat` history.
# Read by it: snoozes, alert state (acked_by), firing sets, deploy locks (written elsewhere).

RULES_HISTORY_CAP = 20           # published rule versions kept (older ones are deleted)
EVAL_CLAIM_TTL = 60              # seconds a process may take to evaluate a claimed signal
REPEAT_WINDOW = 3600             # `repeat` counts firings of a fingerprint in the last hour


def key_rules_history() -> str:
    """List of published rule versions, newest first (capped at RULES_HISTORY_CAP)."""
    return f"{PREFIX}rules:history"


def key_rules_publish_lock() -> str:
    return key_lock("rules-publish")


def key_eval_claim(signal_id: str) -> str:
    """Held while one process evaluates a signal, so a re-run job does not evaluate it twice."""
    return f"{PREFIX}evaluating:{signal_id}"


def key_snooze_prefix() -> str:
    return key_snooze("")


# A snooze, as stored at key_snooze(id) (JSON) and indexed in key_snoozes() by end time:
#   {"id": "...", "matchers": [{"name": "host", "op": "=", "value": "web-01"}, ...],
#    "ends_at": <epoch seconds>, "created_by": "alice", "reason": "...", "created_at": "<iso>"}
# `name` is a signal field (source, kind, fingerprint, ...) or a label name; `op` is =, !=, =~, !~
# (regexes match the whole value). The rules engine reads the active ones for `snoozed`.

_ACTIVE_SNOOZES = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[1], '+inf')
local out = {}
for i, id in ipairs(ids) do
  local raw = redis.call('GET', ARGV[2] .. id)
  if raw then out[#out + 1] = raw end
end
return out
"""


def put_snooze(conn: Redis, snooze: dict) -> None:
    """Store (or replace) a snooze; it stays active until its `ends_at` (epoch seconds)."""
    ttl = max(1, int(snooze["ends_at"] - time.time()) + 3600)
    pipe = conn.pipeline(transaction=True)
    pipe.set(key_snooze(snooze["id"]), json.dumps(snooze), ex=ttl)
    pipe.zadd(key_snoozes(), {snooze["id"]: snooze["ends_at"]})
    pipe.execute()


def delete_snooze(conn: Redis, snooze_id: str) -> None:
    pipe = conn.pipeline(transaction=True)
    pipe.delete(key_snooze(snooze_id))
    pipe.zrem(key_snoozes(), snooze_id)
    pipe.execute()


def queue_active_snoozes(pipe, now: float) -> None:
    """Queue, on a pipeline, the read of every snooze active at `now` (a list of JSON strings)."""
    pipe.eval(_ACTIVE_SNOOZES, 1, key_snoozes(), now, key_snooze_prefix())


def active_snoozes(conn: Redis, now: float) -> list[dict]:
    pipe = conn.pipeline(transaction=False)
    queue_active_snoozes(pipe, now)
    return [json.loads(raw) for raw in pipe.execute()[0]]


def key_rules_problems() -> str:
    """Why the last reload was refused (JSON), cleared when a version is published."""
    return f"{PREFIX}rules:refused"


# -- chat commands and audit -------------------------------------------------------------------------
# Written by router/commands: one record per command signal (claim, reply, delivery), the
# channel-name cache, snooze ids, ended snoozes, and reads of the audit stream.

COMMAND_TTL = 7 * 24 * 3600      # a command's record lives as long as its signal
COMMAND_CLAIM_TTL = 300          # seconds one process may take to run a claimed command
SNOOZE_HISTORY_CAP = 1_000       # ended snoozes kept for `why` and the audit trail
SNOOZE_HISTORY_TTL = 30 * 24 * 3600
ALERT_ID_LENGTH = 7              # short alert ids shown in chat: the start of the fingerprint digest


def _now_iso() -> str:
    from router.signal import utcnow  # late: router.signal is a leaf module, keep brain importable alone

    return utcnow()


def alert_id(fingerprint: str) -> str:
    """The short id chat shows for an alert (like a short git sha of its fingerprint)."""
    return _digest(fingerprint)[:ALERT_ID_LENGTH]


def key_command(signal_id: str) -> str:
    """JSON per command signal: {"state": running|answered|delivered, "reply": {...}} (idempotence)."""
    return f"{PREFIX}command:{signal_id}"


def key_room_names() -> str:
    """Hash: Slack channel id → channel name, learnt from slash commands and buttons (mentions
    carry only the id, permissions.yml names rooms as `#ops`)."""
    return f"{PREFIX}room-names"


def key_snooze_seq() -> str:
    """Counter behind snooze ids (`s1`, `s2`, ...): short enough to type in `unsnooze`."""
    return f"{PREFIX}snooze-seq"


def key_snooze_history() -> str:
    """List of ended snoozes (JSON, with ended_at/ended_by), newest first, capped."""
    return f"{PREFIX}snoozes:ended"


def key_snooze_ended(snooze_id: str) -> str:
    """Marker that a snooze's end was handled (audit + history once); holds the snooze JSON."""
    return f"{PREFIX}snooze-ended:{snooze_id}"


def next_snooze_id(conn: Redis) -> str:
    return f"s{conn.incr(key_snooze_seq())}"


def load_snooze(conn: Redis, snooze_id: str) -> dict | None:
    raw = conn.get(key_snooze(snooze_id))
    return json.loads(raw) if raw else None


def is_active_snooze(conn: Redis, snooze_id: str) -> bool:
    return conn.zscore(key_snoozes(), snooze_id) is not None


def retire_snooze(conn: Redis, snooze: dict) -> bool:
    """Record an ended snooze once: history entry, end marker, key and index removed.

    Returns False when it was retired before (a re-run end job); the caller then skips the audit.
    """
    marker = key_snooze_ended(snooze["id"])
    if not conn.set(marker, json.dumps(snooze), nx=True, ex=SNOOZE_HISTORY_TTL):
        return False
    pipe = conn.pipeline(transaction=True)
    pipe.lpush(key_snooze_history(), json.dumps(snooze))
    pipe.ltrim(key_snooze_history(), 0, SNOOZE_HISTORY_CAP - 1)
    pipe.expire(key_snooze_history(), SNOOZE_HISTORY_TTL)
    pipe.delete(key_snooze(snooze["id"]))
    pipe.zrem(key_snoozes(), snooze["id"])
    pipe.execute()
    return True


def ended_snooze(conn: Redis, snooze_id: str) -> dict | None:
    raw = conn.get(key_snooze_ended(snooze_id))
    return json.loads(raw) if raw else None


def snooze_history(conn: Redis, limit: int = SNOOZE_HISTORY_CAP) -> list[dict]:
    return [json.loads(raw) for raw in conn.lrange(key_snooze_history(), 0, limit - 1)]


def _entry(entry_id, fields: dict) -> dict:
    decoded = {(k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
               for k, v in fields.items()}
    return {"id": entry_id.decode() if isinstance(entry_id, bytes) else entry_id, **decoded}


def audit_entries(conn: Redis, limit: int = 100, before: str = "+", filters: dict | None = None,
                  scan_cap: int = 10_000) -> tuple[list[dict], str]:
    """Newest-first audit entries matching `filters` (field → exact value), at most `limit`.

    Reads the stream backwards in chunks, looking at no more than `scan_cap` entries. Returns
    (entries, cursor): pass the cursor as `before` for the next page ("" when there is none).
    """
    filters = {k: v for k, v in (filters or {}).items() if v}
    found: list[dict] = []
    cursor, seen = before or "+", 0
    exclusive = cursor != "+"
    while len(found) < limit and seen < scan_cap:
        chunk = conn.xrevrange(key_audit(), max=f"({cursor}" if exclusive else cursor, min="-",
                               count=min(500, scan_cap - seen))
        if not chunk:
            return found, ""
        for entry_id, fields in chunk:
            entry = _entry(entry_id, fields)
            seen += 1
            cursor, exclusive = entry["id"], True
            if all(entry.get(k) == v for k, v in filters.items()):
                found.append(entry)
                if len(found) == limit:
                    break
    return found, cursor


def audit_after(conn: Redis, last_id: str, block_ms: int = 0, count: int = 100) -> list[dict]:
    """Audit entries newer than `last_id` ("$" = from now on), waiting up to `block_ms` for one."""
    answer = conn.xread({key_audit(): last_id}, count=count, block=block_ms or None)
    return [_entry(entry_id, fields) for _stream, entries in (answer or []) for entry_id, fields in entries]


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
    return f"{PREFIX}stale:run:{scan}:{_digest(run)}"


def key_scan_cron_leader() -> str:
    """Held (with a TTL) by the one cron scheduler that enqueues scans; the others stand by."""
    return key_lock("stale-cron")


def key_inventory(scan: str) -> str:
    """Hash: fingerprint → JSON item, the inventory of a scan's last complete run."""
    return f"{PREFIX}stale:inventory:{scan}"


def key_inventory_staging(scan: str, run: str) -> str:
    """Where a run writes its inventory before it replaces `key_inventory` (RENAME) at the end."""
    return f"{PREFIX}stale:inventory-staging:{scan}:{_digest(run)}"


def key_pr_activity(repo: str, number: str) -> str:
    """Cached reviews/commits/comments activity of one pull request, with the updated_at it is for."""
    return f"{PREFIX}stale:pr-activity:{_digest(f'{repo}#{number}')}"


def key_nag_sent(fingerprint: str, owner: str) -> str:
    """Set (NX, TTL = the rule's `every`) when an item is nagged to an owner: no repeat before it expires."""
    return f"{PREFIX}stale:nagged:{_digest(fingerprint)}:{_digest(owner.lower())}"


def key_nag_history(fingerprint: str) -> str:
    """Hash per item: first_at, last_at, count, activity (the last_activity the count is for), escalated_at."""
    return f"{PREFIX}stale:nag-history:{_digest(fingerprint)}"


def key_nag_pending(owner: str, room: str) -> str:
    """Hash: fingerprint → JSON nag waiting for delivery to one owner in one room (or DM)."""
    return f"{PREFIX}stale:pending:{_digest(owner.lower() + '|' + room)}"


def key_nag_outbox(owner: str, room: str) -> str:
    """The nags one delivery took from `key_nag_pending` (kept until posted, so a retry posts the same)."""
    return f"{PREFIX}stale:outbox:{_digest(owner.lower() + '|' + room)}"


def key_nag_state(owner: str, room: str) -> str:
    """Hash per owner and room: due (when the delivery job runs), seq (deliveries so far)."""
    return f"{PREFIX}stale:nag-state:{_digest(owner.lower() + '|' + room)}"


def key_nag_digest(owner: str, day: str) -> str:
    """Set when an owner's digest for `day` (YYYY-MM-DD, UTC) went out: one digest per owner per day."""
    return f"{PREFIX}stale:digest:{_digest(owner.lower())}:{day}"


def key_stale_request(request_id: str) -> str:
    """One approval request (JSON): close a PR, delete a node or an artifact, archive a repo."""
    return f"{PREFIX}stale:request:{request_id}"


def key_stale_requests() -> str:
    """Sorted set of request ids by creation time (capped at STALE_REQUESTS_CAP)."""
    return f"{PREFIX}stale:requests"


def key_stale_request_for(fingerprint: str, ask: str) -> str:
    """The open request for an item and what is asked, so nagging again reuses it."""
    return f"{PREFIX}stale:request-for:{_digest(fingerprint)}:{ask}"


# -- deploys --------------------------------------------------------------------------------------
# Written by router/deploys (requests, approvals, locks, CI/alert facts for the gates) and
# actions/deploy.py. `key_deploying(app)` above is a hash env → deploy id while deploys of the app
# run (the engine's `deploying` field only asks whether it exists).

DEPLOY_TTL = 30 * 24 * 3600          # a request record, decided or not (history for `deploys`)
DEPLOYS_CAP = 10_000                 # newest requests kept in the index
DEPLOY_FACT_TTL = 14 * 24 * 3600     # CI results per sha, branch heads
DEFAULT_BRANCH_TTL = 3600            # GitHub's default branch of a repo, cached


def key_deploy(request_id: str) -> str:
    """One deploy request (JSON): app, env, ref, sha, requester, state, approvals, target, ..."""
    return f"{PREFIX}deploy:{request_id}"


def key_deploys() -> str:
    """Sorted set of deploy request ids by creation time (capped at DEPLOYS_CAP)."""
    return f"{PREFIX}deploys"


def key_deploy_lock(app: str, env: str) -> str:
    """Held (value: the request id, with a TTL past the deploy's timeout) while an app deploys to env."""
    return key_lock(f"deploy:{app}:{env}")


def key_env_lock(env: str) -> str:
    """A person's `lock <env> [reason]` (JSON: by, reason, at), until `unlock <env>`."""
    return key_lock(f"env:{env}")


def key_env_locks() -> str:
    """Set of environments with a person's lock (for `deploys`)."""
    return f"{PREFIX}env-locks"


def key_deploy_watch(kind: str, value: str) -> str:
    """Set of request ids a fact concerns: kind `sha`, `app`, `ref` (repo@branch) for waiting
    requests, `jenkins` (job) and `github` (repo@env) for running ones."""
    return f"{PREFIX}deploy-watch:{kind}:{_digest(value)}"


def key_deploy_ci(sha: str) -> str:
    """Hash per commit: CI context (GitHub status/check name, `jenkins/<job>`) → JSON {state, ...}."""
    return f"{PREFIX}deploy-ci:{sha}"


def key_deploy_head(repo: str, branch: str) -> str:
    """The last pushed sha of a branch (from GitHub push signals), for resolving refs offline."""
    return f"{PREFIX}deploy-head:{_digest(repo + '@' + branch)}"


def key_default_branch(repo: str) -> str:
    return f"{PREFIX}default-branch:{_digest(repo)}"


def key_deploy_progress(request_id: str) -> str:
    """Set of signal ids already applied to a running deploy (a re-run progress job is a no-op)."""
    return f"{PREFIX}deploy-progress:{request_id}"
