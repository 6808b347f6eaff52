"""What a signal looks like to the rules: its fields, plus what the brain knows, in one round trip.

`contexts()` flattens signals into dicts (`labels.env` → value) and fills the brain-derived fields
the rulesets read — `snoozed`, `acked`, `firing_count`, `repeat`, `deploying` — and every `count`
window, with ONE Redis pipeline for the whole batch (a MULTI transaction when it writes, so that
window counts are exact across processes).

Definitions (SPEC §4 leaves the details open):
- snoozed: an active snooze's matchers all hold for the signal (`brain.put_snooze` has the shape).
- acked: the alert state of the signal's fingerprint has a non-empty `acked_by`.
- firing_count: fingerprints now firing with the signal's `labels.host` (else `labels.app`),
  counting this signal when it is a firing alert not recorded yet; 0 without host or app.
- repeat: firings of this fingerprint in the last hour, this one included when it is firing.
  The engine keeps that history itself (key_repeat), only while some rule reads `repeat`.
- deploying: a deploy of `labels.app` is in progress (key_deploying exists).
- count windows: every signal that satisfies a count rule's signal conditions (brain fields
  aside) enters the window `(ruleset, rule, values of same)`, scored by its `received_at`,
  whatever earlier rules decided; the rule holds when the window has at least `at_least`
  signals received within `within` before this one (or after it, when those were evaluated
  first). Entries are the signal ids, so evaluating a signal again never counts it twice.
Without a brain (inline tests, `rules test` with no Redis) the fields come from the test's
`brain:` map or default to false / 0, and a window holds just the signal itself.
"""
from __future__ import annotations

import json
import logging
import math
import re
from dataclasses import dataclass

from redis import Redis

from router.core import brain
from router.engine.conditions import BRAIN_FIELDS, SIGNAL_FIELDS, to_epoch

log = logging.getLogger("sparky.rules")

BRAIN_DEFAULTS = {"snoozed": False, "acked": False, "firing_count": 0, "repeat": 0, "deploying": False}
SNOOZE_OPS = ("=", "!=", "=~", "!~")


def context(signal: dict, now: float) -> dict:
    """The flat view of a signal rules read: top-level fields, `labels.<name>`, and `__now__`."""
    ctx = {name: signal.get(name, "") for name in SIGNAL_FIELDS}
    for name, value in (signal.get("labels") or {}).items():
        ctx["labels." + name] = value
    ctx["__now__"] = now
    return ctx


def snooze_matches(snooze: dict, ctx: dict) -> bool:
    """True when every matcher of a snooze holds for a signal context (see brain.put_snooze)."""
    matchers = snooze.get("matchers") or []
    if not matchers:
        return False  # a snooze must constrain something; guardrails refuse empty ones anyway
    for m in matchers:
        name, op, want = str(m.get("name", "")), m.get("op", "="), str(m.get("value", ""))
        value = ctx.get(name if name in SIGNAL_FIELDS else "labels." + name)
        value = "" if value is None else str(value)
        if op == "=":
            ok = value == want
        elif op == "!=":
            ok = value != want
        elif op in ("=~", "!~"):
            try:
                ok = re.fullmatch(want, value) is not None
            except re.error:
                return False
            ok = ok if op == "=~" else not ok
        else:
            return False
        if not ok:
            return False
    return True


@dataclass
class _Window:
    pos: int        # which signal of the batch
    ctx: dict
    key: tuple      # ("count", ruleset, rule) in the context
    redis_key: str
    within: float
    member: str
    score: float


def _score(ctx: dict, now: float) -> float:
    moment = to_epoch(ctx.get("received_at"))
    return moment if moment is not None else now


def windows(rules, ctxs: list[dict], now: float) -> list[_Window]:
    out = []
    for compiled in rules.rulesets:
        for index, count in compiled.counts:
            window_filter = compiled.rules[index].window_filter
            rule_name = compiled.rules[index].rule.name
            for pos, ctx in enumerate(ctxs):
                if not window_filter(ctx):
                    continue
                same = json.dumps([ctx.get(p, "") for p in count.same], ensure_ascii=False)
                out.append(_Window(pos, ctx, ("count", compiled.name, rule_name),
                                   brain.key_window(compiled.name, rule_name, same), count.within,
                                   ctx.get("id") or "", _score(ctx, now)))
    return out


def contexts(conn: Redis | None, rules, signals: list[dict], now: float, write: bool = True,
             given: list[dict] | None = None) -> list[dict]:
    """Contexts for a batch of signals, brain fields and count windows filled in."""
    ctxs = [context(s, now) for s in signals]
    needed: set[str] = set()
    for compiled in rules.rulesets:
        needed |= compiled.brain_fields
    pending = windows(rules, ctxs, now)
    if conn is None:
        for i, ctx in enumerate(ctxs):
            fake = (given[i] if given else None) or {}
            for name in needed:
                ctx[name] = fake.get(name, BRAIN_DEFAULTS[name])
        for w in pending:
            fake = (given[w.pos] if given else None) or {}
            w.ctx[w.key] = fake.get("count", 1)
        return ctxs
    if needed or pending:
        _gather(conn, ctxs, needed, pending, now, write)
    return ctxs


def _gather(conn: Redis, ctxs: list[dict], needed: set[str], pending: list[_Window], now: float,
            write: bool) -> None:
    """One pipeline: read the brain for every needed field, update and count the windows."""
    pipe = conn.pipeline(transaction=write and bool(pending or "repeat" in needed))
    reads: list = []  # (callback(result)) in pipeline order

    if "snoozed" in needed:
        brain.queue_active_snoozes(pipe, now)

        def snoozes(raws):
            active = []
            for raw in raws:
                try:
                    active.append(json.loads(raw))
                except ValueError:
                    log.warning("ignoring a malformed snooze in the brain")
            for ctx in ctxs:
                ctx["snoozed"] = any(snooze_matches(s, ctx) for s in active)
        reads.append(snoozes)

    if "acked" in needed:
        by_fp: dict[str, list[dict]] = {}
        for ctx in ctxs:
            ctx["acked"] = False
            if ctx.get("fingerprint"):
                by_fp.setdefault(ctx["fingerprint"], []).append(ctx)
        for fp, group in by_fp.items():
            pipe.hget(brain.key_alert(fp), "acked_by")
            reads.append(lambda raw, group=group: [c.__setitem__("acked", bool(raw)) for c in group])

    if "firing_count" in needed:
        for ctx in ctxs:
            ctx["firing_count"] = 0
            label = "host" if ctx.get("labels.host") else "app" if ctx.get("labels.app") else ""
            if not label:
                continue
            key = brain.key_firing_by(label, ctx["labels." + label])
            pipe.scard(key)
            firing = ctx.get("kind") == "alert" and ctx.get("status") == "firing" and ctx.get("fingerprint")
            if firing:
                pipe.sismember(key, ctx["fingerprint"])
                results: list = []

                def first(n, results=results):
                    results.append(n)

                def second(member, ctx=ctx, results=results):
                    ctx["firing_count"] = int(results[0]) + (0 if member else 1)
                reads += [first, second]
            else:
                reads.append(lambda n, ctx=ctx: ctx.__setitem__("firing_count", int(n)))

    if "repeat" in needed:
        for ctx in ctxs:
            ctx["repeat"] = 0
            fp = ctx.get("fingerprint")
            if not fp or ctx.get("kind") != "alert":
                continue
            key, at = brain.key_repeat(fp), _score(ctx, now)
            firing = ctx.get("status") == "firing"
            if firing and write:
                pipe.zadd(key, {ctx["id"]: at})
                pipe.zremrangebyscore(key, "-inf", at - brain.REPEAT_WINDOW)
                pipe.expire(key, brain.REPEAT_WINDOW + 300)
                reads += [None, None, None]
            pipe.zcount(key, at - brain.REPEAT_WINDOW, "+inf")
            if firing and not write:
                pipe.zscore(key, ctx["id"])
                results = []
                reads.append(lambda n, results=results: results.append(int(n)))
                reads.append(lambda score, ctx=ctx, results=results:
                             ctx.__setitem__("repeat", results[0] + (0 if score is not None else 1)))
            else:
                reads.append(lambda n, ctx=ctx: ctx.__setitem__("repeat", int(n)))

    if "deploying" in needed:
        for ctx in ctxs:
            app = ctx.get("labels.app")
            ctx["deploying"] = False
            if app:
                pipe.exists(brain.key_deploying(app))
                reads.append(lambda n, ctx=ctx: ctx.__setitem__("deploying", bool(n)))

    for w in pending:
        low = w.score - w.within
        if write:
            pipe.zadd(w.redis_key, {w.member: w.score})
            pipe.zremrangebyscore(w.redis_key, "-inf", f"({low}")
            pipe.expire(w.redis_key, int(math.ceil(w.within)) + 300)
            reads += [None, None, None]
            pipe.zcount(w.redis_key, low, "+inf")
            reads.append(lambda n, w=w: w.ctx.__setitem__(w.key, int(n)))
        else:
            pipe.zcount(w.redis_key, low, "+inf")
            pipe.zscore(w.redis_key, w.member)
            results = []
            reads.append(lambda n, results=results: results.append(int(n)))
            reads.append(lambda score, w=w, results=results:
                         w.ctx.__setitem__(w.key, results[0] + (0 if score is not None else 1)))

    for callback, result in zip(reads, pipe.execute()):
        if callback is not None:
            callback(result)
    for ctx in ctxs:
        for name in needed:
            ctx.setdefault(name, BRAIN_DEFAULTS[name])


__all__ = ["context", "contexts", "snooze_matches", "BRAIN_FIELDS", "BRAIN_DEFAULTS"]
