"""The alert facts rules read — `acked`, `firing_count`, `repeat` — and the alert state kept first.

Registered as a fact provider (router/alerts/plugin.py). Before each evaluation batch `record`
folds alert signals into their fingerprint's state (router/alerts/state.py, one round trip), so
the fields below see this signal too; an alert re-sent while it keeps its status (Prometheus every
evaluation interval, or after a restart with a new startsAt) is absorbed: recorded, not news.

Definitions (SPEC §4 leaves the details open):
- acked: the alert state of the signal's fingerprint has a non-empty `acked_by`.
- firing_count: fingerprints now firing with the signal's `labels.host` (else `labels.app`),
  counting this signal when it is a firing alert not recorded yet; 0 without host or app.
- repeat: firings of this fingerprint in the last hour, this one included when it is firing.
  The history (key_repeat) is kept only while some rule reads `repeat`.
"""
from __future__ import annotations

from redis import Redis

from router.alerts.state import RESEND, record_many
from router.core import brain
from router.engine.facts import received

FIELDS = {"acked": False, "firing_count": 0, "repeat": 0}


def _text(value) -> str | None:
    return value.decode() if isinstance(value, bytes) else value


def record(conn: Redis, data: dict, signals: list[dict]) -> dict[str, str]:
    """Fold the batch's alerts into their state; returns the resends (id → why it is not news)."""
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
    notes = {}
    for signal, (firing, resolved) in zip(resent, since):
        at = _text(resolved) if signal.get("status") == "resolved" else _text(firing)
        notes[signal["id"]] = (f"{signal.get('fingerprint')} is already {signal.get('status')} "
                               f"(since {at or '?'}): last_seen refreshed, the rules not run again")
    return notes


def gather(pipe, ctxs: list[dict], needed: set[str], now: float, write: bool) -> list:
    reads: list = []
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
        reads += _firing_count(pipe, ctxs)
    if "repeat" in needed:
        reads += _repeat(pipe, ctxs, now, write)
    return reads


def _firing_count(pipe, ctxs: list[dict]) -> list:
    reads: list = []
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
    return reads


def _repeat(pipe, ctxs: list[dict], now: float, write: bool) -> list:
    reads: list = []
    for ctx in ctxs:
        ctx["repeat"] = 0
        fp = ctx.get("fingerprint")
        if not fp or ctx.get("kind") != "alert":
            continue
        key, at = brain.key_repeat(fp), received(ctx, now)
        firing = ctx.get("status") == "firing"
        if firing and write:
            pipe.zadd(key, {ctx["id"]: at})
            pipe.zremrangebyscore(key, "-inf", at - brain.REPEAT_WINDOW)
            pipe.expire(key, brain.REPEAT_WINDOW + 300)
            reads += [None, None, None]
        pipe.zcount(key, at - brain.REPEAT_WINDOW, "+inf")
        if firing and not write:
            pipe.zscore(key, ctx["id"])
            results: list = []
            reads.append(lambda n, results=results: results.append(int(n)))
            reads.append(lambda score, ctx=ctx, results=results:
                         ctx.__setitem__("repeat", results[0] + (0 if score is not None else 1)))
        else:
            reads.append(lambda n, ctx=ctx: ctx.__setitem__("repeat", int(n)))
    return reads
