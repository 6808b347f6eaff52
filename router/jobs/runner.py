"""Running the actions rules decide: the RQ job, its idempotency, and how it is queued.

The rules engine hands over the actions of an evaluated batch with `enqueue_actions`. Each
action is run once per (signal, ruleset, rule, index): the runner loads the signal, skips the
action if its outcome is recorded done, runs it, and records the outcome in the signal's outcome
hash, which is also the dedupe mark (at least once, with dedupe: a retried or re-run job does
not act twice).

Batches, because a job costs RQ ~57 Redis commands and ~3 ms of worker CPU before it does
anything (performance-baselines §4b): `enqueue_actions` queues one `run_actions` job per BATCH
actions (a lone action gets a plain `run_action` job), so a flood costs one RQ job per BATCH
messages while a single alert still goes out at once. In a batch, an action that must wait (429,
the channel's pace) or failed transiently leaves the batch as its own `run_action` job, due when
it should run again, with the retries it has left; the rest of the batch goes on.

An action comes from the catalogue (router/core/registry.py, filled by actions/ and plugins): a
function `name(signal, conn, config, *, ctx, **params) -> str` returning a short outcome text,
where `ctx` (context.Context) says which decision it carries out, and its parameter schema (the one
`sparky rules check` uses).
"""
from __future__ import annotations

import copy
import json
import time
from collections import Counter
from typing import Iterable

from marshmallow import ValidationError
from redis import Redis
from rq import Retry, get_current_job
from rq.job import Job

from router.core import brain, fastjson, metrics
from router.core.config import Config
from router.core.outcomes import Later, Permanent
from router.core.registry import current as assembled
from router.jobs import guard, inflight, policy
from router.jobs.context import Context
from router.jobs.queues import ACTIONS_QUEUE

ActionItem = tuple[str, str, str, int, str, dict]   # (signal_id, ruleset, rule, index, action, params)

# Writes an outcome unless the action is already recorded done (a late failure report of a
# duplicate run must not undo it). KEYS: outcomes. ARGV: field, record, ttl.
KEEP_DONE = """
local prev = redis.call('HGET', KEYS[1], ARGV[1])
if prev and cjson.decode(prev)['state'] == 'done' then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
return 1
"""


BATCH = 64      # actions per RQ job (Prometheus posts up to 64 alerts at once: one job for them)


def _describe(item: ActionItem) -> str:
    sid, ruleset, rule, index, action, _ = item
    return f"{action} {ruleset}/{rule}/{index} for {sid}"


def enqueue_actions(conn: Redis, items: Iterable[ActionItem], pipeline=None) -> list[str]:
    """Queue the actions in one round trip; returns, per item, the id of the job that runs it.

    With `pipeline`, the jobs join it (the caller executes it, e.g. with its decision write);
    RQ opens MULTI on a transactional pipeline itself, so queue the jobs before other writes.
    """
    items = [(sid, ruleset, rule, int(index), action, dict(action_params or {}))
             for sid, ruleset, rule, index, action, action_params in items]
    if not items:
        return []
    datas, job_ids = [], []
    for start in range(0, len(items), BATCH):
        chunk = items[start:start + BATCH]
        job_id = policy.new_job_id()
        if len(chunk) == 1:
            func, args, description = run_action, chunk[0], _describe(chunk[0])
        else:
            func, args = run_actions, ([list(item) for item in chunk],)
            description = f"{len(chunk)} actions: {_describe(chunk[0])}, ..."
        datas.append(policy.prepared(func, args, job_id=job_id, description=description))
        job_ids += [job_id] * len(chunk)
    pipe = pipeline if pipeline is not None else conn.pipeline()
    policy.queue(conn).enqueue_many(datas, pipeline=pipe)
    sizes = [len(d.args[0]) if d.func is run_actions else 1 for d in datas]
    inflight.track(pipe, [d.job_id for d in datas], sizes)
    if pipeline is None:
        pipe.execute()
    return job_ids


def run_action(signal_id: str, ruleset: str, rule: str, index: int, action: str, params: dict) -> str | Retry:
    """RQ job: carry out one action of one rule for one signal."""
    job = get_current_job()
    result = execute(job.connection, Config.from_env(), Context(signal_id, ruleset, rule, index, action),
                     params, job=job)
    outcome = ("retried" if isinstance(result, Retry) else "duplicate" if str(result).startswith("duplicate")
               else "failed" if str(result).startswith("failed") else "run")
    metrics.count(job.connection, "sparky_actions", action=action, outcome=outcome)
    return result


_schemas: dict[str, object] = {}
# Checked parameters by (action, parameters as JSON): a rule's action has the same parameters for
# every alert it routes, and its schema's load cost more than the rest of a webhook's Python
# (bench/RESULTS.md). Loading is deterministic (defaults are constants); bounded, as rules change.
_checked: dict[tuple[str, str], dict] = {}
CHECKED_CAP = 1024


def load_params(action: str, action_params: dict | None) -> dict:
    """The action's parameters checked by its schema; Permanent naming the problems otherwise."""
    known = assembled().actions.get(action)
    if known is None:
        return dict(action_params or {})
    try:
        memo = (action, fastjson.dumps(action_params or {}, sort_keys=True))
    except (TypeError, ValueError):
        memo = None
    if memo is not None and (checked := _checked.get(memo)) is not None:
        return copy.deepcopy(checked)   # an action may change what it was given; the memo stays
    schema = _schemas.get(action)
    if schema is None:
        schema = _schemas[action] = known.params()
    try:
        checked = schema.load(action_params or {})
    except ValidationError as exc:
        problems = "; ".join(f'parameter "{k}": {" ".join(map(str, v)) if isinstance(v, list) else v}'
                             for k, v in sorted(exc.messages.items()))
        raise Permanent(f"{action}: {problems}") from None
    if memo is not None:
        if len(_checked) >= CHECKED_CAP:
            _checked.clear()
        _checked[memo] = copy.deepcopy(checked)
    return checked


def run_actions(items: list[list]) -> str:
    """RQ job: a batch of actions, each as `run_action` would run it."""
    job = get_current_job()
    return execute_batch(job.connection, Config.from_env(), [tuple(item) for item in items], job)


def execute_batch(conn: Redis, config: Config, items: list[ActionItem], job: Job | None = None) -> str:
    # Every signal and dedupe mark (and, for the actions that send it, the decision): one round trip.
    catalogue = assembled().actions
    sends = {name for name, action in catalogue.items() if action.sends_decision}
    # One MGET for the signals and one for the decisions, not a GET per action (bench/redis_commands.py).
    sids = [item[0] for item in items]
    wanted = [sid for sid, item in zip(sids, items) if item[4] in sends]
    with conn.pipeline(transaction=False) as pipe:
        pipe.mget([brain.key_signal(sid) for sid in sids])
        for sid, ruleset, rule, index, action, _ in items:
            pipe.hget(brain.key_action_outcomes(sid), f"{ruleset}/{rule}/{index}")
        if wanted:
            pipe.mget([brain.key_decision(sid) for sid in wanted])
        raws, *answers = pipe.execute()
    decisions = iter(answers.pop() if wanted else [])
    fetched = [(raw, previous, next(decisions) if item[4] in sends else None)
               for raw, previous, item in zip(raws, answers, items)]
    counts = {"done": 0, "duplicate": 0, "failed": 0, "handed on": 0}
    by_action: Counter = Counter()  # (action, outcome) for /metrics
    # Done records are written together at the end: a batch cut short by a crash runs again, and
    # what it had posted is recognised by the delivery markers (chat.py), not by these records.
    writes: list = []
    for i, item in enumerate(items):
        raw_signal, previous, decision = fetched[i]
        ctx = Context(*item[:5], writes=writes, decision=decision)
        try:
            outcome = execute(conn, config, ctx, item[5], job=job, batch=True, later_writes=writes,
                              prefetched=(raw_signal, previous))
        except Later as later:
            _hand_on(conn, item, later.until, policy.RETRY, job, failed=False)
            counts["handed on"] += 1
            by_action[item[4], "deferred"] += 1
            continue
        except guard.ActionFailed:
            retry = Retry(max=policy.RETRY.max - 1, interval=policy.RETRY.intervals[1:])
            _hand_on(conn, item, time.time() + policy.RETRY.intervals[0], retry, job)
            counts["handed on"] += 1
            by_action[item[4], "retried"] += 1
            continue
        key = "duplicate" if str(outcome).startswith("duplicate") else \
            "failed" if str(outcome).startswith("failed") else "done"
        counts[key] += 1
        by_action[item[4], "run" if key == "done" else key] += 1
    with conn.pipeline(transaction=False) as pipe:
        for (action, outcome), n in by_action.items():
            metrics.count(pipe, "sparky_actions", n, action=action, outcome=outcome)
        done: dict[str, dict[str, str]] = {}   # outcome hash -> its done records: one HSET + EXPIRE each
        for finish, state, text in writes:
            if state == "done" and isinstance(finish, _Finish):
                done.setdefault(finish.outcomes, {})[finish.scope] = finish.record(state, text)
            else:
                finish(pipe, state, text)
        for key, records in done.items():
            pipe.hset(key, mapping=records)
            pipe.expire(key, brain.ACTION_OUTCOME_TTL)
        inflight.untrack(pipe, job)
        pipe.execute()
    return ", ".join(f"{n} {what}" for what, n in counts.items() if n) or "nothing to do"


def _hand_on(conn: Redis, item: ActionItem, at: float, retry: Retry, batch_job: Job | None,
             failed: bool = True) -> None:
    """An action of a batch that must run again later: its own `run_action` job, due at `at`."""
    policy.schedule(conn, at, run_action, *item, job_id=policy.new_job_id(), description=_describe(item),
                  retry=retry,
                  meta={"earlier_attempts": int(failed), "batch": batch_job.id if batch_job else ""})


def execute(conn: Redis, config: Config, ctx: Context, action_params: dict, job: Job | None = None,
            signal: dict | None = None, prefetched: tuple | None = None, batch: bool = False,
            later_writes: list | None = None) -> str | Retry:
    """What `run_action` does, callable without RQ (tests, `sparky` tools)."""
    outcomes = brain.key_action_outcomes(ctx.signal_id)
    if prefetched is None:
        with conn.pipeline(transaction=False) as pipe:
            if signal is None:
                pipe.get(brain.key_signal(ctx.signal_id))
            pipe.hget(outcomes, ctx.scope)
            prefetched = (None, *pipe.execute())[-2:]
    raw_signal, previous = prefetched
    if signal is not None:
        raw_signal = fastjson.dumps(signal)
    if previous and fastjson.loads(previous).get("state") == "done":
        if job is not None and not batch:
            with conn.pipeline(transaction=False) as pipe:
                inflight.untrack(pipe, job)
                pipe.execute()
        return "duplicate: " + json.loads(previous).get("outcome", "done before")

    def work() -> str:
        if raw_signal is None:
            raise Permanent(f"signal {ctx.signal_id} is gone (unknown, or expired after SPARKY_SIGNAL_TTL)")
        known = assembled().actions.get(ctx.action)
        function = known.run if known is not None else None
        if function is None:
            raise Permanent(f'unknown action "{ctx.action}"')
        checked = load_params(ctx.action, action_params)
        return function(fastjson.loads(raw_signal), conn, config, ctx=ctx, **checked)

    finish = _Finish(conn, outcomes, ctx.scope, ctx.action, job)
    body = {"signal_id": ctx.signal_id, "ruleset": ctx.ruleset, "rule": ctx.rule, "index": ctx.index,
            "action": ctx.action, "params": action_params}
    return guard.guarded(conn, config, job, f"action:{ctx.action}", body, work, finish, batch=batch,
                        later_writes=later_writes)


class _Finish:
    """Records an action's outcome on a pipeline: `finish(pipe, state, text)` (guard.guarded calls
    it). A batch groups the "done" records of one signal into one HSET (execute_batch)."""

    __slots__ = ("conn", "outcomes", "scope", "action", "job")

    def __init__(self, conn: Redis, outcomes: str, scope: str, action: str, job: Job | None):
        self.conn, self.outcomes, self.scope, self.action, self.job = conn, outcomes, scope, action, job

    def record(self, state: str, text: str) -> str:
        return guard.outcome_record(self.action, state, text, self.job)

    def __call__(self, pipe, state: str, text: str) -> None:
        record = self.record(state, text)
        if state == "done":
            pipe.hset(self.outcomes, self.scope, record)
            pipe.expire(self.outcomes, brain.ACTION_OUTCOME_TTL)
        else:
            brain.script(self.conn, KEEP_DONE, [self.outcomes], [self.scope, record, brain.ACTION_OUTCOME_TTL],
                         client=pipe)


def outcomes(conn: Redis, signal_id: str) -> list[dict]:
    """What was done for a signal, per action: [{"ruleset", "rule", "index", "action", "state",
    "outcome", "at", "job"}], in ruleset/rule/index order (escalation rounds after their action)."""
    found = []
    for field, raw in sorted(conn.hgetall(brain.key_action_outcomes(signal_id)).items()):
        ruleset, rule, index, *rest = field.decode().split("/")
        entry = {"ruleset": ruleset, "rule": rule, "index": int(index) if index.isdigit() else index,
                 **json.loads(raw)}
        if rest:
            entry["step"] = "/".join(rest)
        found.append(entry)
    return found


def wait_times(conn: Redis) -> dict[str, float]:
    """Action jobs waiting on RQ's scheduler: job id → due time (for tests and tools)."""
    from rq.registry import ScheduledJobRegistry

    registry = ScheduledJobRegistry(ACTIONS_QUEUE, connection=conn)
    return {job_id.decode(): score for job_id, score in
            conn.zrange(registry.key, 0, -1, withscores=True)}
