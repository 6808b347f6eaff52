"""Heartbeats: a missed beat becomes a `missing` heartbeat signal routed by the rules, and its
restoration a `restored` one — through the hooks, a real RQ worker and its scheduler, pinned clock."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
import yaml

from router.chat import rooms
from router.core import brain
from router.core.signal import Signal
from router.oncall.heartbeats import check, heartbeats
from tests.actions.conftest import Clock, scheduled
from tests.oncall.conftest import ONCALL

BERLIN = ZoneInfo("Europe/Berlin")
T0 = dt.datetime(2026, 10, 19, 10, 0, tzinfo=BERLIN)     # ops: bob is primary that week


def at(seconds: float) -> float:
    return T0.timestamp() + seconds


def beat(client, run_jobs, seconds: float) -> None:
    """Alertmanager's Watchdog, as it re-sends it: the same firing alert every time."""
    with time_machine.travel(dt.datetime.fromtimestamp(at(seconds), dt.timezone.utc), tick=False):
        signal = Signal(source="alertmanager", kind="alert", status="firing", severity="info", subject="Watchdog",
                        fingerprint="am/Watchdog", labels={"alertname": "Watchdog"}, summary="Watchdog")
        assert client.post("/hooks/generic", json=signal.to_dict()).status_code == 202
        run_jobs()


def ops(redis) -> list[str]:
    """What the heartbeat rule posted (the Watchdog alert itself is posted by the `page` rule)."""
    return [m["text"] for m in rooms.messages(redis, "#ops", 500) if "Heartbeat" in m["text"]]


def test_a_missed_beat_and_its_restoration(client, redis, run_jobs, config):
    clock = Clock(redis, run_jobs)
    beat(client, run_jobs, 0)
    beat(client, run_jobs, 30)                  # a re-send the alert state absorbs: still a beat
    assert brain.load_alert(redis, "am/Watchdog")["status"] == "firing"
    assert sorted(round(due - at(0)) for due in scheduled(redis).values()) == [60]
    clock.run_at(at(60))
    assert ops(redis) == []                     # beat at 30 s: owed at 90 s
    clock.run_at(at(90))
    assert ops(redis) == [f"@bob Heartbeat watchdog missing: Alertmanager's Watchdog was expected every 1m; "
                          f"the last beat was at {dt.datetime.fromtimestamp(at(30), dt.timezone.utc):%Y-%m-%dT%H:%M:%S}"
                          f".000Z."]
    clock.run_at(at(150))                       # still missing: said once
    assert len(ops(redis)) == 1
    beat(client, run_jobs, 200)
    clock.run_at(at(200))
    assert ops(redis)[1] == (f"@bob Heartbeat watchdog restored: Alertmanager's Watchdog beat again at "
                             f"{dt.datetime.fromtimestamp(at(200), dt.timezone.utc):%Y-%m-%dT%H:%M:%S}.000Z.")
    restored = [m for m in rooms.messages(redis, "#ops", 500) if "restored" in m["text"]][-1]
    decision = client.get(f"/api/signals/{restored['signal']}/decision").json
    assert decision["rulesets"]["oncall"]["matched"][0]["rule"] == "heartbeats"


@pytest.fixture
def nightly():
    data = yaml.safe_load(ONCALL)    # by 06:00 Europe/Berlin, 5 minutes' grace
    return next(hb for hb in heartbeats(data) if hb.name == "nightly-web-api")


def berlin(text: str) -> float:
    return dt.datetime.fromisoformat(text).replace(tzinfo=BERLIN).timestamp()


def test_a_nightly_beat_is_owed_by_six_berlin_time_across_the_dst_change(nightly):
    armed = berlin("2026-10-20T12:00")
    # built on Sunday 25 Oct (the autumn change) at 05:30 CET: fine at 06:05 Sunday and Monday 06:04
    built = berlin("2026-10-25T05:30")
    assert check(nightly, built, armed, berlin("2026-10-25T06:05"))[0] is False
    assert check(nightly, built, armed, berlin("2026-10-26T06:04"))[0] is False
    missing, owed, _ = check(nightly, built, armed, berlin("2026-10-26T06:05"))      # grace 5m over
    assert missing and dt.datetime.fromtimestamp(owed, BERLIN).strftime("%d %H:%M %Z") == "26 06:00 CET"
    # a late build after the deadline counts: restored
    assert check(nightly, berlin("2026-10-26T07:10"), armed, berlin("2026-10-26T07:11"))[0] is False


def test_a_new_heartbeat_gets_a_full_interval(nightly):
    armed = berlin("2026-10-26T05:59")       # Sparky started expecting it a minute before the deadline
    assert check(nightly, None, armed, berlin("2026-10-26T06:30"))[0] is False
    assert check(nightly, None, armed, berlin("2026-10-27T06:05"))[0] is True
