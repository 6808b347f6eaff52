"""What a signal looks like to the rules: its fields, plus what the brain knows, in one round trip.

`contexts()` flattens signals (`labels.env` → value, router/core/signal.py `flat`) and fills the
brain-derived fields the rulesets read, and every `count` window, with ONE Redis pipeline for the
whole batch (a MULTI transaction when it writes, so that window counts are exact across processes).

The brain-derived fields come from fact providers that features register (router/core/registry.py
`Facts`): `snoozed` (router/snoozes), `acked`, `firing_count`, `repeat` (router/alerts), `deploying`
(router/deploys), and whatever a plugin adds. Each provider queues its reads on the shared
pipeline; the engine only knows their names and defaults.

Count windows are the engine's own (SPEC §4 `count`): every signal that satisfies a count rule's
signal conditions (brain fields aside) enters the window `(ruleset, rule, values of same)`,
scored by its `received_at`, whatever earlier rules decided; the rule holds when the window has
at least `at_least` signals received within `within` before this one (or after it, when those
were evaluated first). Entries are the signal ids, so evaluating a signal again never counts it
twice.

Without a brain (inline tests, `rules test` with no Redis) the fields come from the test's
`brain:` map or their defaults, and a window holds just the signal itself.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Sequence

from redis import Redis

from router.core import brain, intervals
from router.core.registry import Facts, current
from router.core.signal import flat
from router.core.times import epoch_of
from router.engine.conditions import INTERVALS

context = flat   # the flat view rules read (kept under the engine's name for its callers)


@dataclass
class _Window:
    pos: int        # which signal of the batch
    ctx: dict
    key: tuple      # ("count", ruleset, rule) in the context
    redis_key: str
    within: float
    member: str
    score: float


def received(ctx: dict, now: float) -> float:
    """When the signal in `ctx` was received, as epoch seconds (now if it does not say)."""
    moment = epoch_of(ctx.get("received_at"))
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
                                   ctx.get("id") or "", received(ctx, now)))
    return out


def contexts(conn: Redis | None, rules, signals: list[dict], now: float, write: bool = True,
             given: list[dict] | None = None, providers: Sequence[Facts] | None = None) -> list[dict]:
    """Contexts for a batch of signals, brain fields and count windows filled in."""
    providers = current().facts if providers is None else providers
    defaults = {name: default for p in providers for name, default in p.fields.items()}
    ctxs = [flat(s, now) for s in signals]
    holding = intervals.active((getattr(rules, "data", None) or {}).get("time_intervals"), now)
    for ctx in ctxs:
        ctx[INTERVALS] = holding
    needed: set[str] = set()
    for compiled in rules.rulesets:
        needed |= compiled.brain_fields
    pending = windows(rules, ctxs, now)
    if conn is None:
        for i, ctx in enumerate(ctxs):
            fake = (given[i] if given else None) or {}
            for name in needed:
                ctx[name] = fake.get(name, defaults.get(name))
        for w in pending:
            fake = (given[w.pos] if given else None) or {}
            w.ctx[w.key] = fake.get("count", 1)
        return ctxs
    if needed or pending:
        _gather(conn, ctxs, needed, pending, now, write, providers, getattr(rules, "data", {}))
        for ctx in ctxs:
            for name in needed:
                ctx.setdefault(name, defaults.get(name))
    return ctxs


def _gather(conn: Redis, ctxs: list[dict], needed: set[str], pending: list[_Window], now: float,
            write: bool, providers: Sequence[Facts], data: dict) -> None:
    """One pipeline: every provider's reads for the needed fields, and the count windows."""
    atomic = bool(pending) or any(needed & p.writes for p in providers)
    pipe = conn.pipeline(transaction=write and atomic)
    reads: list = []  # one callback (or None) per queued command, in pipeline order
    for provider in providers:
        wanted = needed & set(provider.fields)
        if wanted and provider.gather is not None:
            extra = {"data": data} if provider.reads_rules else {}
            reads += provider.gather(pipe, ctxs, wanted, now, write, **extra)

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
            results: list = []
            reads.append(lambda n, results=results: results.append(int(n)))
            reads.append(lambda score, w=w, results=results:
                         w.ctx.__setitem__(w.key, results[0] + (0 if score is not None else 1)))

    for callback, result in zip(reads, pipe.execute()):
        if callback is not None:
            callback(result)


__all__ = ["context", "contexts", "received", "windows"]
