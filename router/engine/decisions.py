"""The evaluation job's body: stored signals in, decisions and action jobs out, exactly once.

`decide(conn, signal_ids)` is the registry's evaluator: the drain job (router/pipeline/intake.py)
hands it each batch. Per batch:
1. load the signals, the rules version in force, which signals already have a decision, and
   claim the others (`SET NX` with a TTL, so a crashed process's claim runs out);
   then each fact provider keeps its state (the alert state, deploy gate facts), and a signal
   a provider absorbs (an alert re-sent while it keeps its status) is recorded without rules;
2. the brain facts and count windows (facts.py, one MULTI pipeline);
3. under WATCH of the decision keys: every decision and one RQ job per action, in one MULTI,
   so a decision is never stored without its actions queued, nor twice.
A signal that already has a decision is skipped: a re-run job, a retried job or a reload never
evaluates it again. A signal claimed by another process is waited for (up to the claim TTL).
"""
from __future__ import annotations

import logging
import time
import uuid

from redis import Redis, WatchError

from router.core import brain, fastjson, metrics
from router.core.config import Config
from router.core.registry import Registry, current
from router.core.times import utcnow
from router.engine import store
from router.engine.explained import KEY as EXPLAIN
from router.engine.results import LATER, evaluate
from router.jobs.runner import enqueue_actions
from router.pipeline.quarantine import Busy

log = logging.getLogger("sparky.rules")

CLAIM_WAIT = 0.2
SUPPRESSION = "suppression"  # the ruleset whose `drop` suppresses the other rulesets' actions


def _text(value) -> str | None:
    return value.decode() if isinstance(value, bytes) else value


def decide(conn: Redis, signal_ids: list[str], config: Config | None = None,
           registry: Registry | None = None) -> int:
    """Evaluate the signals that have no decision yet; returns how many were decided now."""
    config = config or Config.from_env()
    registry = registry or current()
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
                decided += _decide_batch(conn, rules, signals, config, registry)
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
    """Round trip 1: (version in force, signals claimed by us, ids another process is evaluating).

    One MGET for the signals rather than a GET each: per-command overhead is most of Redis's CPU
    for small values (bench/redis_commands.py counts commands per alert)."""
    pipe = conn.pipeline(transaction=False)
    pipe.get(brain.key_rules_version())
    pipe.mget([brain.key_signal(sid) for sid in ids])
    for sid in ids:
        pipe.exists(brain.key_decision(sid))
        pipe.set(brain.key_eval_claim(sid), token, nx=True, ex=brain.EVAL_CLAIM_TTL)
    answers = pipe.execute()
    version, raws, rest = _text(answers[0]), answers[1], answers[2:]
    signals, busy, release = [], [], []
    try:
        for i, sid in enumerate(ids):
            raw, (has_decision, claimed) = raws[i], rest[2 * i: 2 * i + 2]
            if has_decision or raw is None:
                if claimed:
                    release.append(sid)
                if raw is None and not has_decision:
                    log.warning("signal %s is gone (expired?) before its evaluation", sid)
            elif claimed:
                signals.append(fastjson.loads(raw))
            else:
                busy.append(sid)
    except BaseException:
        # A stored signal that does not load (router/pipeline/quarantine.py isolates it): give back every
        # claim taken here, or its next attempt would wait for our claim to run out.
        conn.delete(*(brain.key_eval_claim(sid) for sid, claimed in zip(ids, rest[1::2]) if claimed))
        raise
    if release:
        conn.delete(*(brain.key_eval_claim(sid) for sid in release))
    return version, signals, busy


def _decide_batch(conn: Redis, rules, signals: list[dict], config: Config, registry: Registry) -> int:
    absorbed: dict[str, str] = {}
    news = signals
    for provider in registry.facts:   # in registration order: the alert state before the deploy gates
        if provider.record is not None and news:
            absorbed.update(provider.record(conn, rules.data, news) or {})
            news = [signal for signal in news if signal["id"] not in absorbed]
    # Explanations (why each rule above the match did not) are computed when asked: explained.py.
    results = evaluate(conn, rules, news, write=True, providers=registry.facts, explain=LATER) if news else []
    decided = dict(zip((s["id"] for s in news), results))
    decisions = [(signal, _decision(signal, decided[signal["id"]], rules.version, registry) if signal["id"] in decided
                  else _absorbed(signal, absorbed[signal["id"]], rules.version)) for signal in signals]
    return _commit(conn, decisions, config)


def _absorbed(signal: dict, note: str, version: str) -> dict:
    """The decision for a signal a fact provider absorbed: recorded, no rule run, nothing to do."""
    return {"signal": signal["id"], "evaluated_at": utcnow(), "rules_version": version, "rulesets": {},
            "actions": [], "resend": note}


def _decision(signal: dict, result: dict, version: str, registry: Registry) -> dict:
    """The stored decision: what matched per ruleset, and every action with its state.

    An action is "queued" (an RQ job runs it), "done" (`drop`: recording it is all it does),
    "recorded" (the catalogue has no function for it) or "suppressed": the suppression ruleset
    matched with `drop`, so other rulesets' actions for this signal are kept for the record and not
    run (SPEC §6: recorded, not posted).
    """
    catalogue = registry.actions
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
                elif name in catalogue and catalogue[name].at_decision:
                    state = "done"  # nothing to carry out: a job would only cost ~60 µs-3 ms
                else:
                    known = catalogue.get(name)
                    state = "queued" if known is not None and known.run is not None else "recorded"
                planned.append({"ruleset": ruleset, "rule": match["rule"], "index": index, "action": name,
                                "params": fastjson.loads(fastjson.dumps(params)), "state": state, "job": None})
    decision = {"signal": signal["id"], "evaluated_at": utcnow(), "rules_version": version,
                "rulesets": result["rulesets"], "actions": planned}
    if suppressed_by:
        decision["suppressed_by"] = suppressed_by
    if EXPLAIN in result:
        decision[EXPLAIN] = result[EXPLAIN]
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
                    pipe.set(brain.key_decision(decision["signal"]), fastjson.dumps(decision), ex=config.signal_ttl)
                if decisions:   # one DEL for the batch's claims
                    pipe.delete(*(brain.key_eval_claim(decision["signal"]) for _, decision in decisions))
                pipe.execute()
                return len(fresh)
            except WatchError:
                continue


def _enqueue(conn: Redis, pipe, queued: list[tuple[dict, dict]]) -> list[str]:
    """The actions' jobs, on the transaction `pipe` (router/jobs/runner.py); their ids in order."""
    if not queued:
        return []
    items = [(signal["id"], p["ruleset"], p["rule"], p["index"], p["action"], p["params"])
             for signal, p in queued]
    return enqueue_actions(conn, items, pipeline=pipe)
