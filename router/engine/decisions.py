"""The evaluation job's body: stored signals in, decisions and action jobs out, exactly once.

`decide(conn, signal_ids)` is what `router.jobs.queues.evaluate_with` runs. Per batch:
1. load the signals, the rules version in force, which signals already have a decision, and
   claim the others (`SET NX` with a TTL, so a crashed process's claim runs out);
   then alert signals are folded into the alert state (actions/alerts.record_many, one round trip);
2. the brain facts and count windows (facts.py, one MULTI pipeline);
3. under WATCH of the decision keys: every decision and one RQ job per action, in one MULTI,
   so a decision is never stored without its actions queued, nor twice.
A signal that already has a decision is skipped: a re-run job, a retried job or a reload never
evaluates it again. A signal claimed by another process is waited for (up to the claim TTL).
"""
from __future__ import annotations

import json
import logging
import time
import uuid

from redis import Redis, WatchError
from rq import Queue, Retry

from router.core import brain
from router.core import metrics
from router.core.config import Config
from router.jobs.queues import Busy
from router.engine import store
from router.engine.results import evaluate
from router.core.signal import utcnow

log = logging.getLogger("sparky.rules")

ACTION_RETRY = Retry(max=3, interval=[10, 30, 60])
CLAIM_WAIT = 0.2
# Actions whose whole effect is being recorded in the decision: no job is queued for them.
DONE_AT_DECISION = frozenset({"drop"})
SUPPRESSION = "suppression"  # the ruleset whose `drop` suppresses the other rulesets' actions


def _text(value) -> str | None:
    return value.decode() if isinstance(value, bytes) else value


def decide(conn: Redis, signal_ids: list[str], config: Config | None = None) -> int:
    """Evaluate the signals that have no decision yet; returns how many were decided now."""
    config = config or Config.from_env()
    store.maybe_poll(conn, config.rules_dir, config.rules_poll)
    ids = list(dict.fromkeys(signal_ids))
    token = uuid.uuid4().hex
    decided = 0
    deadline = time.monotonic() + brain.EVAL_CLAIM_TTL + 5
    while ids:
        version, signals, busy = _claim(conn, ids, token)
        if signals:
            try:
                rules = store.current(conn, config.rules_dir, version=version)
                started = time.perf_counter()
                decided += _decide_batch(conn, rules, signals, config)
                metrics.observe(conn, "sparky_rule_evaluation_seconds", time.perf_counter() - started)
            except BaseException:
                # Let a retry of this job (or another one) take these signals at once.
                conn.delete(*(brain.key_eval_claim(s["id"]) for s in signals))
                raise
        ids = busy
        if ids:
            if time.monotonic() > deadline:
                raise Busy(f"signals {ids} stay claimed by another evaluation; retry later")
            time.sleep(CLAIM_WAIT)
    return decided


def _claim(conn: Redis, ids: list[str], token: str) -> tuple[str | None, list[dict], list[str]]:
    """Round trip 1: (version in force, signals claimed by us, ids another process is evaluating)."""
    pipe = conn.pipeline(transaction=False)
    pipe.get(brain.key_rules_version())
    for sid in ids:
        pipe.get(brain.key_signal(sid))
        pipe.exists(brain.key_decision(sid))
        pipe.set(brain.key_eval_claim(sid), token, nx=True, ex=brain.EVAL_CLAIM_TTL)
    answers = pipe.execute()
    version, rest = _text(answers[0]), answers[1:]
    signals, busy, release = [], [], []
    try:
        for i, sid in enumerate(ids):
            raw, has_decision, claimed = rest[3 * i: 3 * i + 3]
            if has_decision or raw is None:
                if claimed:
                    release.append(sid)
                if raw is None and not has_decision:
                    log.warning("signal %s is gone (expired?) before its evaluation", sid)
            elif claimed:
                signals.append(json.loads(raw))
            else:
                busy.append(sid)
    except BaseException:
        # A stored signal that does not load (router/pipeline/quarantine.py isolates it): give back every
        # claim taken here, or its next attempt would wait for our claim to run out.
        conn.delete(*(brain.key_eval_claim(sid) for sid, (_, _, claimed) in
                      zip(ids, zip(rest[0::3], rest[1::3], rest[2::3])) if claimed))
        raise
    if release:
        conn.delete(*(brain.key_eval_claim(sid) for sid in release))
    return version, signals, busy


def _decide_batch(conn: Redis, rules, signals: list[dict], config: Config) -> int:
    resends = _record_alert_state(conn, signals)
    news = [signal for signal in signals if signal["id"] not in resends]
    _record_deploy_facts(conn, rules, news)
    results = evaluate(conn, rules, news, write=True) if news else []
    decided = dict(zip((s["id"] for s in news), results))
    decisions = [(signal, _decision(signal, decided[signal["id"]], rules.version) if signal["id"] in decided
                  else _resend(signal, resends[signal["id"]], rules.version)) for signal in signals]
    return _commit(conn, decisions, config)


def _record_alert_state(conn: Redis, signals: list[dict]) -> dict[str, dict]:
    """Fold alert signals into their fingerprint's state (router/alerts/state.py) before the rules run,
    so `acked` and `firing_count` see this signal too. Idempotent and order-safe on its side.

    Returns the resends (id → the alert's state): an alert re-sent while it keeps the status it
    has (Prometheus every evaluation interval, or after a restart with a new startsAt) is not news.
    """
    try:
        from router.alerts.state import RESEND, record_many
    except ImportError:  # an actions package without alert state: the fields read what is there
        return {}
    alerts = [signal for signal in signals if signal.get("kind") == "alert"]
    if not alerts:
        return {}
    answers = record_many(conn, alerts)  # one round trip for the batch, in order
    resent = [signal for signal, answer in zip(alerts, answers) if answer == RESEND]
    if not resent:
        return {}
    with conn.pipeline(transaction=False) as pipe:
        for signal in resent:
            pipe.hmget(brain.key_alert(signal["fingerprint"]), "firing_since", "resolved_at")
        since = pipe.execute()
    return {signal["id"]: {"firing_since": _text(firing), "resolved_at": _text(resolved)}
            for signal, (firing, resolved) in zip(resent, since)}


def _resend(signal: dict, alert: dict, version: str) -> dict:
    """The decision for a resend: recorded, no rule run, nothing to do."""
    since = alert.get("resolved_at") if signal.get("status") == "resolved" else alert.get("firing_since")
    return {"signal": signal["id"], "evaluated_at": utcnow(), "rules_version": version, "rulesets": {},
            "actions": [], "resend": f"{signal.get('fingerprint')} is already {signal.get('status')} "
                                     f"(since {since or '?'}): last_seen refreshed, the rules not run again"}


def _record_deploy_facts(conn: Redis, rules, signals: list[dict]) -> None:
    """CI results, pushes and deploy progress for the deploy gates (router/deploys/facts.py), kept
    before the rules run. A failure there is logged, never allowed to stop routing."""
    try:
        from router.deploys.facts import record
    except ImportError:
        return
    try:
        record(conn, rules.data, signals)
    except Exception:  # noqa: BLE001
        log.exception("deploy facts of this batch not recorded")


def _decision(signal: dict, result: dict, version: str) -> dict:
    """The stored decision: what matched per ruleset, and every action with its state.

    An action is "queued" (an RQ job runs it), "done" (`drop`: recording it is all it does),
    "recorded" (no implementation in actions/ yet) or "suppressed": the suppression ruleset matched with `drop`, so other rulesets' actions
    for this signal are kept for the record and not run (SPEC §6: recorded, not posted).
    """
    from actions import REGISTRY

    suppressed_by = None
    for match in result["rulesets"].get(SUPPRESSION, {}).get("matched", []):
        if any("drop" in action for action in match["actions"]):
            suppressed_by = {"ruleset": SUPPRESSION, "rule": match["rule"]}
            break
    planned = []
    for ruleset, outcome in result["rulesets"].items():
        for match in outcome["matched"]:
            for index, action in enumerate(match["actions"]):
                (name, params), = action.items()
                if suppressed_by and ruleset != SUPPRESSION:
                    state = "suppressed"
                elif name in DONE_AT_DECISION:
                    state = "done"  # nothing to carry out: a job would only cost ~60 µs-3 ms
                else:
                    state = "queued" if REGISTRY.get(name) is not None else "recorded"
                planned.append({"ruleset": ruleset, "rule": match["rule"], "index": index, "action": name,
                                "params": json.loads(json.dumps(params)), "state": state, "job": None})
    decision = {"signal": signal["id"], "evaluated_at": utcnow(), "rules_version": version,
                "rulesets": result["rulesets"], "actions": planned}
    if suppressed_by:
        decision["suppressed_by"] = suppressed_by
    return decision


def _commit(conn: Redis, decisions: list[tuple[dict, dict]], config: Config) -> int:
    """Round trip 3: decisions + action jobs in one transaction, skipping any decided meanwhile."""
    keys = [brain.key_decision(d["signal"]) for _, d in decisions]
    with conn.pipeline(transaction=True) as pipe:
        while True:
            try:
                pipe.watch(*keys)
                # One MGET, not an EXISTS per key: after WATCH each command is its own round trip.
                exists = [raw is not None for raw in pipe.mget(keys)]
                pipe.multi()
                fresh = [(signal, decision) for (signal, decision), seen in zip(decisions, exists) if not seen]
                queued = [(signal, planned) for signal, decision in fresh
                          for planned in decision["actions"] if planned["state"] == "queued"]
                for (_, planned), job_id in zip(queued, _enqueue(conn, pipe, queued)):
                    planned["job"] = job_id
                for signal, decision in fresh:
                    pipe.set(brain.key_decision(decision["signal"]), json.dumps(decision), ex=config.signal_ttl)
                for _, decision in decisions:
                    pipe.delete(brain.key_eval_claim(decision["signal"]))
                pipe.execute()
                return len(fresh)
            except WatchError:
                continue


def _enqueue(conn: Redis, pipe, queued: list[tuple[dict, dict]]) -> list[str]:
    """One RQ job per action, on the transaction `pipe`; returns the job ids in order."""
    if not queued:
        return []
    try:
        from router.jobs.runner import enqueue_actions
    except ImportError:
        enqueue_actions = None
    if enqueue_actions is not None:
        items = [(signal["id"], p["ruleset"], p["rule"], p["index"], p["action"], p["params"])
                 for signal, p in queued]
        return enqueue_actions(conn, items, pipeline=pipe)
    # No runner: enqueue REGISTRY[name](signal, **params) directly, the rule in the job's meta.
    from actions import REGISTRY

    datas = [Queue.prepare_data(REGISTRY[p["action"]], args=(signal,), kwargs=p["params"],
                                job_id=f"sparky-action-{signal['id']}-{p['ruleset']}-{p['rule']}-{p['index']}",
                                retry=ACTION_RETRY, meta={"ruleset": p["ruleset"], "rule": p["rule"],
                                                          "signal": signal["id"]})
             for signal, p in queued]
    Queue(_actions_queue(), connection=conn).enqueue_many(datas, pipeline=pipe)
    return [d.job_id for d in datas]


def _actions_queue() -> str:
    from router.jobs.queues import ACTIONS_QUEUE

    return ACTIONS_QUEUE
