"""Who is on call: rotations, layers and overrides as pure functions of the time asked about.

A schedule (oncall.yml `schedules:`) has layers (`primary`, `secondary`, ...); each layer is a
rotation: members taking turns, handing off at a wall-clock time in a zone, each turn `length`
long (`daily`, `weekly`, or a duration such as `3d` or `12h`), counted from `start` (a date: the
first member's turn begins there at the handoff time).

DST: a rotation whose length is whole days counts *calendar days in its zone*, so a handoff at
09:00 Europe/Berlin stays 09:00 local across a change (that week is 167 or 169 hours long). A
length that is not whole days (`12h`, `36h`) is absolute time from the first handoff: its local
handoff time moves by the hour the clocks move. A handoff time that does not exist on a day
(skipped when clocks go forward) falls an hour later, as zoneinfo reads it.

Restrictions: a layer may say `during: <time interval>` (a name from the rule files'
`time_intervals:`, router/core/intervals.py). Outside that interval the layer has nobody on call —
a gap, as a restricted layer in PagerDuty; it does not fall through to another layer (each layer
is its own target here). The rotation itself goes on counting turns through the gap. An override
still puts its person on the layer, in the gap too.

Overrides (in oncall.yml for planned ones, in the brain for `oncall override` from chat) put one
person on a layer for a while; the latest-made override that covers a moment wins.

No clock is read here: every function takes the moment (`at`, epoch seconds).
"""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from router.core import durations, intervals

DAY = 86400
NAMED_LENGTHS = {"daily": "1d", "weekly": "1w"}
DEFAULT_HANDOFF = "09:00"


@dataclass(frozen=True)
class Rotation:
    members: tuple[str, ...]
    start: dt.date
    handoff: dt.time
    zone: ZoneInfo
    length: float                      # seconds
    during: str = ""                   # a time interval: outside it the layer has nobody

    @property
    def days(self) -> int | None:
        """Whole calendar days per turn, or None for an absolute-time rotation."""
        return int(self.length // DAY) if self.length % DAY == 0 else None

    def _local(self, day: dt.date) -> float:
        return dt.datetime.combine(day, self.handoff, tzinfo=self.zone).timestamp()

    def turn(self, at: float) -> tuple[int, float, float]:
        """(turn number, its start, its end) of the turn that holds `at` (epoch seconds)."""
        first = self._local(self.start)
        days = self.days
        if days is None:
            k = math.floor((at - first) / self.length)
            return k, first + k * self.length, first + (k + 1) * self.length
        local_day = dt.datetime.fromtimestamp(at, self.zone).date()
        k = (local_day - self.start).days // days
        begins = self._local(self.start + dt.timedelta(days=k * days))
        if at < begins:
            k -= 1
            begins = self._local(self.start + dt.timedelta(days=k * days))
        ends = self._local(self.start + dt.timedelta(days=(k + 1) * days))
        if at >= ends:   # cannot happen for sane zones; kept so a turn always holds `at`
            k += 1
            begins, ends = ends, self._local(self.start + dt.timedelta(days=(k + 1) * days))
        return k, begins, ends

    def member(self, k: int) -> str:
        return self.members[k % len(self.members)]


@dataclass(frozen=True)
class Override:
    layer: str
    who: str
    start: float
    end: float
    by: str = ""
    reason: str = ""
    made: float = 0.0                  # when it was made: the latest-made wins where they overlap
    id: str = ""

    def covers(self, layer: str, at: float) -> bool:
        return self.layer == layer and self.start <= at < self.end


@dataclass(frozen=True)
class Schedule:
    name: str
    layers: dict[str, Rotation]
    overrides: tuple[Override, ...] = ()
    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    time_intervals: list | None = field(default=None, compare=False)   # the rules' (for `during:`)

    def with_overrides(self, more: list[Override] | tuple[Override, ...]) -> "Schedule":
        return Schedule(self.name, self.layers, self.overrides + tuple(more), self.zone, self.time_intervals)

    def off(self, layer: str, at: float) -> bool:
        """True when `layer` is restricted (`during:`) and its interval does not hold at `at`."""
        during = self.layers[layer].during
        return bool(during) and not intervals.holds(self.time_intervals, during, at)


@dataclass(frozen=True)
class Shift:
    who: str
    start: float
    end: float
    override: bool = False


def rotation_of(data: dict, default_zone: str = "UTC") -> Rotation:
    """A `Rotation` from its oncall.yml mapping (already validated by router/oncall/schema.py)."""
    length = str(data.get("length", "weekly"))
    hours, minutes = (int(p) for p in str(data.get("handoff", DEFAULT_HANDOFF)).split(":"))
    start = data["start"]
    if not isinstance(start, dt.date):
        start = dt.date.fromisoformat(str(start))
    return Rotation(members=tuple(str(m) for m in data["members"]), start=start,
                    handoff=dt.time(hours, minutes), zone=ZoneInfo(str(data.get("zone") or default_zone)),
                    length=durations.parse(NAMED_LENGTHS.get(length, length)), during=str(data.get("during") or ""))


def schedule_of(name: str, data: dict, time_intervals: list | None = None) -> Schedule:
    """A `Schedule` from its oncall.yml mapping, with the overrides written in the file;
    `time_intervals` are the rules' (what the layers' `during:` name)."""
    zone = str(data.get("zone") or "UTC")
    layers = {str(layer): rotation_of(spec, zone) for layer, spec in (data.get("layers") or {}).items()}
    overrides = tuple(
        Override(layer=str(o.get("layer") or first_layer_of(layers)), who=str(o["who"]),
                 start=_moment(o["from"], zone), end=_moment(o["until"], zone), reason=str(o.get("reason", "")),
                 by="oncall.yml", made=-1.0, id=f"file-{i + 1}")
        for i, o in enumerate(data.get("overrides") or []))
    return Schedule(name=name, layers=layers, overrides=overrides, zone=ZoneInfo(zone), time_intervals=time_intervals)


def first_layer_of(layers: dict) -> str:
    return "primary" if "primary" in layers else next(iter(layers), "primary")


def _moment(value: object, zone: str) -> float:
    """A file's `from`/`until`: `2026-12-24 09:00` in the schedule's zone, or ISO 8601 with an offset."""
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, dt.date):
        moment = dt.datetime.combine(value, dt.time())
    else:
        moment = dt.datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(zone))
    return moment.timestamp()


def who(schedule: Schedule, layer: str, at: float) -> str:
    """The person on call on `layer` of `schedule` at `at` (epoch seconds); "" in a restricted
    layer's gap."""
    override = _override(schedule, layer, at)
    if override is not None:
        return override.who
    if schedule.off(layer, at):
        return ""
    rotation = schedule.layers[layer]
    return rotation.member(rotation.turn(at)[0])


def _override(schedule: Schedule, layer: str, at: float) -> Override | None:
    covering = [o for o in schedule.overrides if o.covers(layer, at)]
    return max(covering, key=lambda o: (o.made, o.start)) if covering else None


def shifts(schedule: Schedule, layer: str, start: float, end: float) -> list[Shift]:
    """Who is on call on `layer` from `start` to `end`, as consecutive shifts (overrides applied;
    a restricted layer's gaps are shifts with `who` "")."""
    rotation = schedule.layers[layer]
    cuts = {start, end}
    at = start
    while at < end:
        _k, _begins, ends = rotation.turn(at)
        cuts.add(min(ends, end))
        at = ends
    for o in schedule.overrides:
        if o.layer == layer:
            cuts.update(t for t in (o.start, o.end) if start < t < end)
    if rotation.during:
        cuts.update(t for span in intervals.spans(schedule.time_intervals, rotation.during, start, end) for t in span)
    points = sorted(cuts)
    out: list[Shift] = []
    for begins, ends in zip(points, points[1:]):
        override = _override(schedule, layer, begins)
        person = (override.who if override else "" if schedule.off(layer, begins)
                  else rotation.member(rotation.turn(begins)[0]))
        if out and out[-1].who == person and out[-1].override == bool(override):
            out[-1] = Shift(person, out[-1].start, ends, bool(override))
        else:
            out.append(Shift(person, begins, ends, bool(override)))
    return out


def now_and_next(schedule: Schedule, layer: str, at: float, horizon: float = 400 * DAY) -> tuple[Shift, Shift | None]:
    """The shift holding `at` and the next one with someone else on call (None within `horizon`)."""
    rotation = schedule.layers[layer]
    step = max(rotation.length * len(rotation.members) * 2, DAY)
    found = shifts(schedule, layer, at, at + min(step, horizon))
    current = found[0]
    later = next((s for s in found[1:] if s.who != current.who), None)
    return current, later
