"""The schedules in force: oncall.yml's `schedules:` plus the overrides made from chat (the brain).

References, as rules and escalation policies write them:
- `@oncall`                          the first layer of the first schedule (the default on-call);
- `{oncall:primary}`                 a layer of the first schedule;
- `{oncall:web}`                     the first layer of schedule `web`;
- `{oncall:web:secondary}`           a layer of a schedule (`web/secondary` in escalation steps).
They are resolved by `mentions` when a message is sent (chat/send.py calls the registered
resolver), so a message queued before a handoff names whoever is on call when it goes out.
Without schedules, `@oncall` is left to people.yml (a static `oncall` group) as before.
"""
from __future__ import annotations

import re

from redis import Redis

from router.core import brain
from router.oncall.schedule import Override, Schedule, first_layer_of, schedule_of, who

REFERENCE = re.compile(r"\{oncall(?::([A-Za-z0-9_.-]+))?(?::([A-Za-z0-9_.-]+))?\}")
AT_ONCALL = re.compile(r"(?<![\w@])@oncall\b(?![:/\w-])")


class UnknownSchedule(LookupError):
    pass


def schedules(data: dict) -> dict[str, Schedule]:
    """Every schedule of the rules data in force (no chat overrides)."""
    raw = data.get("time_intervals")
    return {name: schedule_of(name, spec, raw) for name, spec in (data.get("schedules") or {}).items()}


def with_chat_overrides(conn: Redis, schedule: Schedule) -> Schedule:
    made = [Override(layer=o["layer"], who=o["who"], start=float(o["start"]), end=float(o["end"]),
                     by=o.get("by", ""), reason=o.get("reason", ""), made=float(o.get("made", 0)), id=o["id"])
            for o in brain.overrides(conn, schedule.name)]
    return schedule.with_overrides(made)


def target(data: dict, first: str = "", second: str = "") -> tuple[str, str]:
    """(schedule, layer) a reference names; UnknownSchedule when it names none.

    One part is a layer of the first schedule, else a schedule (its first layer); two parts are
    schedule and layer.
    """
    specs = data.get("schedules") or {}
    if not specs:
        raise UnknownSchedule("no schedules in oncall.yml")
    default = next(iter(specs))
    if not first:
        return default, first_layer_of(specs[default].get("layers") or {})
    if second:
        if first not in specs:
            raise UnknownSchedule(f'unknown schedule "{first}"')
        if second not in (specs[first].get("layers") or {}):
            raise UnknownSchedule(f'schedule "{first}" has no layer "{second}"')
        return first, second
    if first in (specs[default].get("layers") or {}):
        return default, first
    if first in specs:
        return first, first_layer_of(specs[first].get("layers") or {})
    raise UnknownSchedule(f'"{first}" is neither a schedule nor a layer of "{default}"')


def person(conn: Redis, data: dict, schedule: str, layer: str, at: float) -> str:
    built = schedules(data).get(schedule)
    if built is None:
        raise UnknownSchedule(f'unknown schedule "{schedule}"')
    return who(with_chat_overrides(conn, built), layer, at)


def mentions(conn: Redis, data: dict, text: str, at: float) -> str:
    """`text` with `@oncall` and `{oncall:...}` replaced by `@<person on call at `at`>`."""
    if not text or "oncall" not in text or not data.get("schedules"):
        return text

    def named(first: str, second: str, written: str) -> str:
        try:
            found = person(conn, data, *target(data, first, second), at)
        except UnknownSchedule:
            return written  # `rules check` reports it; a message never fails on it
        return f"@{found}" if found else ""    # a restricted layer's gap: nobody to mention

    text = REFERENCE.sub(lambda m: named(m.group(1) or "", m.group(2) or "", m.group(0)), text)
    return AT_ONCALL.sub(lambda m: named("", "", m.group(0)), text)
