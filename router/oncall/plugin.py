"""The on-call feature's registration: oncall.yml's keys and the names they reference, and the
resolver that turns `@oncall` / `{oncall:…}` into whoever is on call as a message is sent."""
from __future__ import annotations

import logging
import time

from redis import Redis

from router.core.config import Config
from router.core.placeholders import fields_in, strings_in
from router.core.registry import Facts, Registry
from router.engine import store
from router.engine.loader import Problem, did_you_mean, line_of
from router.oncall import heartbeats, response, rota, schema, timeline

log = logging.getLogger("sparky.oncall")

RULESET = "oncall"


def register(registry: Registry) -> None:
    registry.add_extras(RULESET, schema.EXTRAS)
    registry.add_check(references)
    registry.add_resolver(resolve_mentions)
    registry.add_facts(Facts("oncall", {}, record=_record_safely))
    registry.on_recover("heartbeats", heartbeats.ensure)


def _record_safely(conn: Redis, data: dict, signals: list[dict]) -> dict:
    """Each evaluated batch: its heartbeats, response times and alerts' timelines. Registered before
    the alert state, so re-sends it absorbs are seen too; never stops routing (a failure is logged)."""
    try:
        heartbeats.record(conn, data, signals)
        response.record(conn, signals)     # before the alert state ends the episode it measures
        timeline.record(conn, signals)
    except Exception:  # noqa: BLE001
        log.exception("heartbeats and timelines of this batch not recorded")
    return {}


def resolve_mentions(conn: Redis, config: Config, text: str) -> str:
    """The send-time resolver (router/chat/send.py): `@oncall` → `@alice`, now."""
    if not text or "oncall" not in text:
        return text
    try:
        data = store.current(conn, config.rules_dir, poll=config.rules_poll).data
    except Exception:  # noqa: BLE001 — a mention never fails a delivery
        log.warning("on-call not resolved (no rules in force); sent as written", exc_info=True)
        return text
    return rota.mentions(conn, data, text, time.time())


def references(data: dict, docs: dict, rulesets: list, known: set[str]) -> list[Problem]:
    """People in rotations and overrides exist; escalation steps and `{oncall:…}` name real things."""
    people, groups = set(data.get("people", {})), set(data.get("groups", {}))
    out: list[Problem] = []
    for ruleset in rulesets:
        src = ruleset.source if isinstance(ruleset.source, dict) else {}
        if ruleset.name == RULESET:
            out += _heartbeat_names(ruleset, src)
            out += _schedule_people(ruleset, src, people)
            out += _escalation_targets(ruleset, src, data, people, groups)
            out += _during_names(ruleset, src, {str(i.get("name")) for i in data.get("time_intervals") or []})
        policies = data.get("escalations") or {}
        for rule in ruleset.rules:
            for action in rule.actions:
                name = action.params.get("policy") if action.name == "escalate" else None
                if name and name not in policies:
                    out.append(Problem(ruleset.display, action.line,
                                       f'rule "{rule.name}": action "escalate": unknown policy "{name}"'
                                       f'{did_you_mean(name, policies) or " (oncall.yml escalations)"}'))
                for text in strings_in(action.params):
                    for path in fields_in(text):
                        if path == "oncall" or path.startswith("oncall:"):
                            parts = path.split(":")[1:]
                            try:
                                rota.target(data, *(parts + ["", ""])[:2])
                            except rota.UnknownSchedule as exc:
                                out.append(Problem(ruleset.display, action.line,
                                                   f'rule "{rule.name}": action "{action.name}": '
                                                   f'"{{{path}}}": {exc}'))
    return out


def _schedule_people(ruleset, src: dict, people: set[str]) -> list[Problem]:
    out = []
    raw_schedules = src.get("schedules") or {}
    for name, spec in (ruleset.extras.get("schedules") or {}).items():
        raw = raw_schedules.get(name) or {}
        for layer, rotation in spec["layers"].items():
            raw_layer = (raw.get("layers") or {}).get(layer) or {}
            for i, member in enumerate(rotation["members"]):
                if member not in people:
                    line = line_of(raw_layer.get("members"), i, line_of(raw_layer, "members", ruleset.line))
                    out.append(Problem(ruleset.display, line, f'schedule "{name}", layer "{layer}": unknown '
                                                             f'person "{member}"{did_you_mean(member, people)}'))
        for i, override in enumerate(spec.get("overrides") or []):
            if override["who"] not in people:
                line = line_of(raw.get("overrides"), i, line_of(raw, "overrides", ruleset.line))
                out.append(Problem(ruleset.display, line, f'schedule "{name}": override: unknown person '
                                                         f'"{override["who"]}"{did_you_mean(override["who"], people)}'))
    return out


def _escalation_targets(ruleset, src: dict, data: dict, people: set[str], groups: set[str]) -> list[Problem]:
    out = []
    raw_policies = src.get("escalations") or {}
    for name, steps in (ruleset.extras.get("escalations") or {}).items():
        raw_steps = raw_policies.get(name)
        for i, step in enumerate(steps):
            notify = step.get("notify")
            if not notify:
                continue
            line = line_of(raw_steps, i, line_of(raw_policies, name, ruleset.line))
            where = f'escalation "{name}", step {i + 1}: '
            if "oncall" in notify:
                try:
                    rota.target(data, *(notify["oncall"].split("/") + [""])[:2])
                except rota.UnknownSchedule as exc:
                    out.append(Problem(ruleset.display, line, f"{where}{exc}"))
            elif "person" in notify and notify["person"] not in people:
                out.append(Problem(ruleset.display, line, f'{where}unknown person "{notify["person"]}"'
                                                         f'{did_you_mean(notify["person"], people)}'))
            elif "group" in notify and notify["group"] not in groups:
                out.append(Problem(ruleset.display, line, f'{where}unknown group "{notify["group"]}"'
                                                         f'{did_you_mean(notify["group"], groups)}'))
    return out


def _during_names(ruleset, src: dict, known: set[str]) -> list[Problem]:
    """A layer's or an escalation step's `during:` names a time interval some rule file defines."""
    out = []

    def unknown(line: int, where: str, name: str) -> None:
        hint = did_you_mean(name, known) or (f" (known: {', '.join(sorted(known))})" if known else
                                             " (none is defined: add time_intervals: to a rule file)")
        out.append(Problem(ruleset.display, line, f'{where}during: unknown time interval "{name}"{hint}'))

    raw_schedules = src.get("schedules") or {}
    for name, spec in (ruleset.extras.get("schedules") or {}).items():
        raw_layers = (raw_schedules.get(name) or {}).get("layers") or {}
        for layer, rotation in spec["layers"].items():
            if rotation.get("during") and rotation["during"] not in known:
                line = line_of(raw_layers.get(layer) or {}, "during", line_of(raw_layers, layer, ruleset.line))
                unknown(line, f'schedule "{name}", layer "{layer}": ', rotation["during"])
    raw_policies = src.get("escalations") or {}
    for name, steps in (ruleset.extras.get("escalations") or {}).items():
        for i, step in enumerate(steps):
            if step.get("during") and step["during"] not in known:
                line = line_of(raw_policies.get(name), i, line_of(raw_policies, name, ruleset.line))
                unknown(line, f'escalation "{name}", step {i + 1}: ', step["during"])
    return out


def _heartbeat_names(ruleset, src: dict) -> list[Problem]:
    out, seen = [], {}
    raw = src.get("heartbeats")
    for i, hb in enumerate(ruleset.extras.get("heartbeats") or []):
        line = line_of(raw, i, ruleset.line)
        if hb["name"] in seen:
            out.append(Problem(ruleset.display, line, f'heartbeat "{hb["name"]}": the name is taken '
                                                     f'(line {seen[hb["name"]]})'))
        seen.setdefault(hb["name"], line)
    return out
