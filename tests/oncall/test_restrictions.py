"""Restrictions: a layer `during:` a time interval has nobody outside it (a gap, as a restricted
layer in PagerDuty), and an escalation step `during:` one is skipped outside it. Pinned moments,
across the spring and autumn clock changes in Europe/Berlin; `rules check` names bad ones."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from router.chat import rooms
from router.core import brain
from router.core.signal import Signal
from router.engine.loader import read_dir
from router.engine.rules import load
from router.oncall.escalation import describe
from router.oncall.ical import feed
from router.oncall.schedule import Override, schedule_of, shifts, who
from tests.actions.conftest import Clock
from tests.commands.conftest import write_rules
from tests.oncall.conftest import ONCALL, ONCALL_PERMISSIONS

BERLIN = ZoneInfo("Europe/Berlin")
FP = "db-01/Postgres"
OFFICE = [{"name": "office-hours", "time_intervals": [
    {"times": [{"start_time": "09:00", "end_time": "17:00"}], "weekdays": ["monday:friday"],
     "location": "Europe/Berlin"}]}]
SPEC = {"zone": "Europe/Berlin", "layers": {
    "day": {"members": ["alice", "bob"], "start": "2026-01-05", "handoff": "09:00", "length": "weekly",
            "during": "office-hours"},
    "all": {"members": ["carol"], "start": "2026-01-05"}}}


def at(text: str) -> float:
    return dt.datetime.fromisoformat(text).replace(tzinfo=BERLIN).timestamp()


def local(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, BERLIN).strftime("%a %m-%d %H:%M %Z")


@pytest.mark.parametrize("moment, person", [
    ("2026-10-19 08:59", ""), ("2026-10-19 09:00", "bob"), ("2026-10-19 16:59", "bob"), ("2026-10-19 17:00", ""),
    ("2026-10-24 12:00", ""),                                  # a Saturday
    ("2026-10-26 08:59", ""), ("2026-10-26 09:00", "alice"),   # the Monday after the autumn change
    ("2026-03-30 08:59", ""), ("2026-03-30 09:00", "alice"),     # ... and after the spring change
])
def test_a_restricted_layer_has_nobody_outside_its_interval(moment, person):
    schedule = schedule_of("ops", SPEC, OFFICE)
    assert who(schedule, "day", at(moment)) == person
    assert who(schedule, "all", at(moment)) == "carol"         # an unrestricted layer is not affected


@pytest.mark.parametrize("week", ["2026-10-19", "2026-03-23"])
def test_shifts_across_a_clock_change_are_nine_to_five_local(week):
    schedule = schedule_of("ops", SPEC, OFFICE)
    start = at(f"{week} 00:00")
    found = [s for s in shifts(schedule, "day", start, start + 8 * 86400) if s.who]
    assert [(local(s.start)[4:], local(s.end)[10:]) for s in found][:7] == [
        (f"{d} 09:00 {z}", f"17:00 {z}") for d, z in _weekdays(week)]
    assert all(s.who for s in found)
    gaps = [s for s in shifts(schedule, "day", start, start + 8 * 86400) if not s.who]
    assert gaps and all(local(g.start)[10:15] == "17:00" or g.start == start for g in gaps)


def _weekdays(week: str) -> list[tuple[str, str]]:
    monday = dt.date.fromisoformat(week)
    days = [monday + dt.timedelta(days=n) for n in (0, 1, 2, 3, 4, 7)]
    out = []
    for d in days:
        zone = dt.datetime.combine(d, dt.time(12), tzinfo=BERLIN).strftime("%Z")
        out.append((d.strftime("%m-%d"), zone))
    return out


def test_an_override_fills_the_gap_and_the_feed_has_no_gap_events():
    schedule = schedule_of("ops", SPEC, OFFICE).with_overrides(
        [Override(layer="day", who="dave", start=at("2026-10-24 10:00"), end=at("2026-10-24 14:00"), made=1)])
    assert who(schedule, "day", at("2026-10-24 12:00")) == "dave"
    ics = feed(schedule, at("2026-10-21 12:00"), days_ahead=7).decode()
    assert "SUMMARY:ops day: \r\n" not in ics and "SUMMARY:ops day: dave (override)" in ics
    # a week back from Wednesday 21st and a week ahead: one event per working day, 09:00-17:00
    assert ics.count("SUMMARY:ops day: bob") == 5                 # Mon 19th to Fri 23rd
    assert ics.count("SUMMARY:ops day: alice") == 3 + 3           # Wed 14th (from noon) to Fri 16th, Mon 26th to Wed 28th


RESTRICTED = ONCALL.replace(
    'secondary: {members: [carol, dave], start: 2026-01-05, handoff: "09:00", length: weekly}',
    'secondary: {members: [carol, dave], start: 2026-01-05, handoff: "09:00", length: weekly, during: office-hours}',
).replace("    - notify: {group: leads}\n", "    - notify: {group: leads}\n      during: weekends\n") + """\
time_intervals:
  - name: office-hours
    time_intervals:
      - times: [{start_time: "09:00", end_time: "17:00"}]
        weekdays: ["monday:friday"]
        location: Europe/Berlin
  - name: weekends
    time_intervals:
      - weekdays: ["saturday", "sunday"]
        location: Europe/Berlin
"""


def problems(tmp_path, oncall: str) -> list[str]:
    path = write_rules(tmp_path / "r", oncall_yml=oncall, permissions_yml=ONCALL_PERMISSIONS, routing_yml=None)
    rules, found = load(read_dir(path), "rules")
    return [str(p) for p in found]


def test_the_restricted_example_loads(tmp_path):
    assert problems(tmp_path, RESTRICTED) == []


@pytest.mark.parametrize("old, new, problem", [
    ("during: office-hours}", "during: office-hour}",
     'rules/oncall.yml:7: schedule "ops", layer "secondary": during: unknown time interval "office-hour" '
     '(did you mean "office-hours"?)'),
    ("      during: weekends\n", "      during: holidays\n",
     'rules/oncall.yml:18: escalation "ops-critical", step 5: during: unknown time interval "holidays" '
     '(known: office-hours, weekends)'),
    ("    - wait: 10m\n", "    - wait: 10m\n      during: weekends\n",
     'rules/oncall.yml:15: escalations: "ops-critical": during: limits a notify step'),
])
def test_bad_restrictions_are_reported_with_file_and_line(tmp_path, old, new, problem):
    assert old in RESTRICTED
    found = problems(tmp_path, RESTRICTED.replace(old, new, 1))
    assert any(p.startswith(problem) for p in found), found


@pytest.fixture
def rules_dir(tmp_path):
    return write_rules(tmp_path / "rules", oncall_yml=RESTRICTED, permissions_yml=ONCALL_PERMISSIONS,
                       routing_yml=None)


def _fire(client, run_jobs, moment: dt.datetime) -> None:
    with time_machine.travel(moment, tick=False):
        signal = Signal(source="nagios", kind="alert", status="firing", severity="critical", subject=FP,
                        fingerprint=FP, labels={"host": "db-01", "team": "db"}, summary="CRITICAL db-01/Postgres: down")
        assert client.post("/hooks/generic", json=signal.to_dict()).status_code == 202
        run_jobs()


def _history(redis) -> list[str]:
    (run,) = brain.escalations(redis, FP)
    return [h["what"].split(":")[0] for h in run["history"]]


def test_escalation_steps_outside_their_interval_are_skipped(client, redis, run_jobs):
    clock = Clock(redis, run_jobs)
    monday = dt.datetime(2026, 10, 19, 10, 0, tzinfo=BERLIN)       # office hours, not a weekend
    _fire(client, run_jobs, monday)
    clock.run_at(monday.timestamp() + 600)
    clock.run_at(monday.timestamp() + 1200)
    assert _history(redis)[:4] == ["paged @bob (step 1, round 1)", "paged @dave (step 3, round 1)",
                                   "skipped step 5 (round 1)", "paged @bob (step 1, round 2)"]   # repeat: 1
    (run,) = brain.escalations(redis, FP)
    assert run["history"][2]["what"].endswith("only during weekends, which does not hold now")
    assert "3 page(s)" in describe(run)                        # the skipped step is not a page
    assert [m["text"][:5] for m in rooms.messages(redis, "#ops", 50) if "escalation" in (m.get("key") or "")] == \
        ["@bob ", "@dave", "@bob "]
    events = [e["event"] for e in client.get(f"/api/alerts/{FP}/timeline").json["events"]]
    assert "escalation.skipped" in events


def test_a_layer_with_nobody_on_call_is_skipped_and_the_weekend_step_pages(client, redis, run_jobs):
    clock = Clock(redis, run_jobs)
    saturday = dt.datetime(2026, 10, 24, 22, 0, tzinfo=BERLIN)     # outside office hours: secondary has a gap
    _fire(client, run_jobs, saturday)
    clock.run_at(saturday.timestamp() + 600)
    clock.run_at(saturday.timestamp() + 1200)
    assert _history(redis)[:3] == ["paged @bob (step 1, round 1)", "skipped step 3 (round 1)",
                                   "paged @leads (step 5, round 1)"]


def test_the_oncall_command_says_nobody_in_a_gap(redis, config):
    from tests.oncall.test_commands import run
    with time_machine.travel(dt.datetime(2026, 10, 24, 22, 0, tzinfo=BERLIN), tick=False):
        text = run(redis, config, "oncall ops").text
    # Monday 09:00 both ends the gap and hands the secondary over to carol
    assert text.splitlines()[2] == "  secondary: nobody (outside office-hours) until 09:00 CET, then carol"
