"""Inhibition: Alertmanager's `inhibit_rules`, read from the suppression ruleset (issue 14 §2).

    inhibit_rules:
      - source_matchers: ['alertname="NodeDown"']       # a firing alert matching these...
        target_matchers: ['alertname!="NodeDown"']      # ...mutes alerts matching these...
        equal: [host]                                   # ...that have the same host

An alert is inhibited while some *other* firing alert matches a rule's source matchers, it
matches the rule's target matchers, and the two agree on every `equal` label (a label missing on
both counts as equal, as in Alertmanager). As in Alertmanager (inhibit.go `hasEqual`), when an
alert matches both sides of a rule, alerts that match both sides too do not inhibit it: two
"critical mutes warning" alerts never mute each other.

Matchers are written as Alertmanager's config writes them (`name="value"`, `=~`, `!=`, `!~`,
regexes anchored). A bare name that is also a signal field (`severity`, `source`, ...) reads the
signal's field, so the rules work for Nagios alerts, whose severity is not a label (an
Alertmanager alert's severity field is its `severity` label); `labels.severity` reads the label.
`equal` names are read the same way.

What it feeds:
- the facts `inhibited` (true/false) and `inhibited_by` (the inhibiting fingerprints, comma
  separated) for the rules — the shipped suppression ruleset drops inhibited alerts;
- `inhibited_by(conn, alerts, now, data)`: the API's answer (`/api/alerts`, `/api/v2/alerts`
  `status.inhibitedBy` and its `inhibited` filter);
- the evaluation's record (`record`, before the rules run): which signals each source inhibited,
  kept per source (brain.key_inhibited_targets) and per signal (brain.key_inhibition, for `why`).
  When a source alert resolves, `released` posts again every target it inhibited that still
  fires and is neither inhibited by another alert, snoozed nor acked — in the target's threads,
  or in the rooms the routing tree sends it to when it was never posted — as the end of a
  snooze does (router/snoozes/lifecycle.py).

Left out (Alertmanager's): the deprecated `source_match`/`source_match_re`/`target_match*` maps
(write matchers instead); Alertmanager also mutes an inhibited alert's *resolved* notification,
which here is the suppression rule's business (the shipped rule lets recoveries through, as for
snoozes).
"""
from __future__ import annotations

import dataclasses
import functools
import json
import logging
import time

from redis import Redis
from rq import get_current_job

from router.alerts import lookup
from router.alerts.lines import name_of
from router.alerts.routes import receivers, routes_of, tree
from router.chat import send as chat
from router.chat.compose import default_text, message_for
from router.core import am_matchers, brain
from router.core.config import Config
from router.core.matchers import LABELS, holds
from router.core.signal import SIGNAL_FIELDS, flat
from router.engine import store
from router.jobs import policy

log = logging.getLogger("sparky.rules")

FIELDS = {"inhibited": False, "inhibited_by": ""}
SEP = "\x00"


@dataclasses.dataclass(frozen=True)
class InhibitRule:
    source: tuple[dict, ...]
    target: tuple[dict, ...]
    equal: tuple[str, ...]


parse_matcher = am_matchers.from_config     # one matcher of an inhibit rule (MatcherError says why not)


@functools.lru_cache(maxsize=32)
def _parsed(raw: str) -> tuple[InhibitRule, ...]:
    out = []
    for rule in json.loads(raw):
        out.append(InhibitRule(tuple(parse_matcher(m).as_dict() for m in rule.get("source_matchers") or []),
                               tuple(parse_matcher(m).as_dict() for m in rule.get("target_matchers") or []),
                               tuple(rule.get("equal") or [])))
    return tuple(out)


def rules_of(data: dict | None) -> tuple[InhibitRule, ...]:
    """The inhibit rules of the rule files' data (already checked when they loaded)."""
    raw = (data or {}).get("inhibit_rules") or []
    return _parsed(json.dumps(raw, sort_keys=True)) if raw else ()


def _read(view: dict, name: str) -> str:
    path = name if name in SIGNAL_FIELDS or name.startswith(LABELS) else LABELS + name
    value = view.get(path)
    return "" if value is None else str(value)


Prepared = list   # per rule: {values of its `equal` labels: [(fingerprint, view) of a source]}


def prepare(rules: tuple[InhibitRule, ...], sources: list[tuple[str, dict]]) -> Prepared:
    """The firing alerts that are sources of each rule, by their `equal` values: done once per batch,
    so that finding a target's inhibitors costs a lookup per rule, not a pass over every alert."""
    prepared = []
    for rule in rules:
        by_key: dict[tuple, list[tuple[str, dict]]] = {}
        for fingerprint, view in sources:
            if holds(list(rule.source), view):
                by_key.setdefault(tuple(_read(view, name) for name in rule.equal), []).append((fingerprint, view))
        prepared.append(by_key)
    return prepared


def inhibitors(rules: tuple[InhibitRule, ...], target: dict, sources: list[tuple[str, dict]] | None = None,
               prepared: Prepared | None = None) -> list[str]:
    """The fingerprints of the firing alerts (`(fingerprint, flat view)`, or `prepare`d) that
    inhibit `target` (a flat view)."""
    prepared = prepare(rules, sources or []) if prepared is None else prepared
    own = target.get("fingerprint") or ""
    found: set[str] = set()
    for rule, by_key in zip(rules, prepared):
        if not by_key or not holds(list(rule.target), target):
            continue
        two_sided = holds(list(rule.source), target)
        for fingerprint, view in by_key.get(tuple(_read(target, name) for name in rule.equal), ()):
            if fingerprint == own or (two_sided and holds(list(rule.target), view)):
                continue
            found.add(fingerprint)
    return sorted(found)


def _views(alerts: list[dict], now: float) -> list[tuple[str, dict]]:
    return [(a["fingerprint"], flat(lookup.as_signal(a), now)) for a in alerts
            if a.get("status") in brain.FIRING_STATES and a.get("fingerprint")]


# -- the facts ---------------------------------------------------------------------------------------

def gather(pipe, ctxs: list[dict], needed: set[str], now: float, write: bool, data: dict | None = None) -> list:
    """In an evaluation (`write`) the inhibitors `record` found just before; in a dry run
    (`rules test`, POST /api/rules/test) found here, from the firing alerts."""
    for ctx in ctxs:
        ctx["inhibited"], ctx["inhibited_by"] = False, ""
    rules = rules_of(data)
    alerts = [ctx for ctx in ctxs if ctx.get("kind") == "alert" and ctx.get("fingerprint")]
    if not rules or not alerts:
        return []

    def found(ctx: dict, by: list[str]) -> None:
        ctx["inhibited"], ctx["inhibited_by"] = bool(by), ", ".join(by)

    if write:
        reads = []
        for ctx in alerts:
            pipe.get(brain.key_inhibition(ctx.get("id") or ""))
            reads.append(lambda raw, ctx=ctx: found(ctx, json.loads(raw) if raw else []))
        return reads
    brain.queue_firing_alerts(pipe)

    def computed(reply) -> None:
        prepared = prepare(rules, _views(brain.decode_firing(reply), now))
        for ctx in alerts:
            found(ctx, inhibitors(rules, ctx, prepared=prepared))
    return [computed]


def record(conn: Redis, data: dict, signals: list[dict]) -> dict[str, str]:
    """Before the rules run (after the alert state is kept): which firing alerts inhibit each
    alert signal of the batch (brain.key_inhibition, read by `gather` and `why`), which signals
    each source inhibits (brain.key_inhibited_targets), and the sources resolving in this batch
    release their targets."""
    rules = rules_of(data)
    alerts = [s for s in signals if s.get("kind") == "alert" and s.get("fingerprint")]
    if not rules or not alerts:
        return {}
    now = time.time()
    resolved = [s for s in alerts if s.get("status") == "resolved"]
    with conn.pipeline(transaction=False) as pipe:
        brain.queue_firing_alerts(pipe)
        for signal in resolved:
            pipe.exists(brain.key_inhibited_targets(signal["fingerprint"]))
        answers = pipe.execute()
    prepared = prepare(rules, _views(brain.decode_firing(answers.pop(0)), now))
    with conn.pipeline(transaction=False) as pipe:
        for signal in alerts:
            by = inhibitors(rules, flat(signal, now), prepared=prepared)
            if not by:
                continue
            pipe.set(brain.key_inhibition(signal["id"]), json.dumps(by), ex=brain.INHIBITION_TTL)
            if signal.get("status") not in brain.FIRING_STATES:
                continue
            for source in by:
                pipe.sadd(brain.key_inhibited_targets(source), f"{signal['fingerprint']}{SEP}{signal['id']}")
                pipe.expire(brain.key_inhibited_targets(source), brain.INHIBITION_TTL)
        pipe.execute()
    for signal, has_targets in zip(resolved, answers):
        if has_targets:
            policy.enqueue(conn, released, signal["fingerprint"], signal["id"],
                           job_id=f"sparky-inhibition-{brain.digest(signal['fingerprint'], 16)}-{signal['id']}",
                           description=f"{signal['fingerprint']} resolved: post what it inhibited")
    return {}


# -- what the API and `why` read -----------------------------------------------------------------------

def inhibited_by(conn: Redis, alerts: list[dict], now: float, data: dict | None = None) -> dict[str, list[str]]:
    """For each alert's fingerprint, the fingerprints of the alerts inhibiting it ([] for none),
    under the inhibit rules of `data` (the rules in force)."""
    rules = rules_of(data)
    if not rules:
        return {alert["fingerprint"]: [] for alert in alerts}
    prepared = prepare(rules, _views(lookup.firing(conn), now))
    return {alert["fingerprint"]: inhibitors(rules, flat(lookup.as_signal(alert), now), prepared=prepared)
            for alert in alerts}


def of_signal(conn: Redis, signal_id: str) -> list[str]:
    """The fingerprints that inhibited one signal when it was evaluated ([] when none)."""
    raw = conn.get(brain.key_inhibition(signal_id))
    return json.loads(raw) if raw else []


# -- the end of an inhibition -------------------------------------------------------------------------

def released(source: str, signal_id: str) -> str:
    """RQ job: `source` resolved; post again what it inhibited and still fires."""
    job = get_current_job()
    config = Config.from_env()
    rules = store.current(job.connection, config.rules_dir, config.rules_poll)
    return released_with(job.connection, config, rules, source, signal_id, time.time())


def released_with(conn: Redis, config: Config, rules, source: str, signal_id: str, now: float) -> str:
    key = brain.key_inhibited_targets(source)
    members = sorted(m.decode() for m in conn.smembers(key))
    if not members:
        return f"{source} inhibited nothing still recorded"
    firing = {a["fingerprint"]: a for a in lookup.firing(conn)}
    prepared = prepare(rules_of(rules.data), [(fp, view) for fp, view in _views(list(firing.values()), now)
                                              if fp != source])
    snoozes = brain.active_snoozes(conn, now)
    inhibit_rules = rules_of(rules.data)
    routing = tree(rules)
    posted, quiet = [], []
    for member in members:
        target, _, target_signal = member.partition(SEP)
        alert = firing.get(target)
        if alert is None:
            continue                                  # resolved meanwhile: nothing to say
        others = inhibitors(inhibit_rules, flat(lookup.as_signal(alert), now), prepared=prepared)
        if others:
            for other in others:                      # still muted: the other source releases it
                conn.sadd(brain.key_inhibited_targets(other), member)
                conn.expire(brain.key_inhibited_targets(other), brain.INHIBITION_TTL)
            quiet.append(f"{name_of(alert)} (inhibited by {', '.join(others)})")
        elif alert.get("acked_by"):
            quiet.append(f"{name_of(alert)} (acked by {alert['acked_by']})")
        elif any(lookup.matches(s.get("matchers") or [], alert, now) for s in snoozes):
            quiet.append(f"{name_of(alert)} (snoozed)")
        elif not _was_suppressed(conn, target_signal):
            quiet.append(f"{name_of(alert)} (was posted)")
        else:
            rooms = _post(conn, config, routing, source, signal_id, alert, now)
            posted.append(f"{name_of(alert)} to {', '.join(rooms) or 'no room'}")
    conn.delete(key)
    return (f"{source} resolved: {len(posted)} posted again" + (f" ({'; '.join(posted)})" if posted else "")
            + (f"; still quiet: {'; '.join(quiet)}" if quiet else ""))


def _was_suppressed(conn: Redis, signal_id: str) -> bool:
    """Did the rules suppress that signal (so that nobody saw it)? An unknown decision counts as yes."""
    raw = conn.get(brain.key_decision(signal_id)) if signal_id else None
    if raw is None:
        return True
    return bool(json.loads(raw).get("suppressed_by"))


def _post(conn: Redis, config: Config, routing, source: str, source_signal: str, alert: dict, now: float) -> list[str]:
    signal = brain.load_signal(conn, alert.get("signal", "")) or lookup.as_signal(alert)
    signal = {**signal, "fingerprint": alert["fingerprint"], "status": alert.get("status") or "firing"}
    threads = chat.threads_of(conn, alert["fingerprint"])
    rooms = receivers([route for route in routes_of(routing, alert, now) if route.room])
    targets = threads or {room: "" for room in rooms}
    text = f"still firing now that {source} resolved (it was inhibited): {default_text(signal)}"
    for room, thread in sorted(targets.items()):
        message = message_for(signal, room, f"inhibit/{source_signal}/{alert['fingerprint']}/{room}", text)
        message = dataclasses.replace(message, thread=thread, broadcast=bool(thread),
                                      anchor="" if thread else message.anchor)
        chat.send(conn, config, message)
    return sorted(targets)
