"""rules/oncall.yml exactly as shipped, end to end: `oncall` and `oncall override` in a built-in room,
`@oncall` in a posted alert and the prod-critical escalation, at pinned times — a December week,
and the autumn DST change."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from router.core import brain
from router.core.config import DEFAULT_RULES_DIR, Config
from router.core.signal import Signal
from tests.actions.conftest import Clock
from tests.commands.conftest import use_rules
from tests.conftest import SLACK_SECRET
from tests.rules.test_shipped_alerts import notify, posted, say

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
def shipped(monkeypatch, redis, redis_url, tmp_path):
    for name in ("SLACK_BOT_TOKEN", "SPARKY_ADMIN_TOKEN", "SPARKY_HOOK_TOKENS", "GITHUB_WEBHOOK_SECRET"):
        monkeypatch.delenv(name, raising=False)
    for name, value in {"SPARKY_REDIS_URL": redis_url, "SPARKY_RULES_DIR": str(DEFAULT_RULES_DIR),
                        "SPARKY_RULES_POLL": "0", "SLACK_SIGNING_SECRET": SLACK_SECRET}.items():
        monkeypatch.setenv(name, value)
    use_rules(redis, DEFAULT_RULES_DIR)
    return Config.from_env().with_(data_dir=tmp_path / "var")


@pytest.fixture
def config(shipped):
    return shipped


def berlin(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=BERLIN)


def test_oncall_says_who_now_and_next_and_until_when(client, redis, run_jobs):
    with time_machine.travel(berlin("2026-12-09T10:00"), tick=False):
        reply = say(client, run_jobs, redis, "carol", "oncall")
    assert reply.splitlines() == ["*ops*",
                                  "  primary: alice until Mon 03:00 EST, then bob",   # carol reads New York time
                                  "  secondary: bob until Mon 03:00 EST, then carol"]


@pytest.mark.parametrize("moment, primary", [
    ("2026-10-26T08:59", "carol"),      # the week that started Mon 19 Oct 09:00 CEST, 169 h long
    ("2026-10-26T09:00", "alice"),      # handed off at 09:00 CET, not 08:00 or 10:00
])
def test_the_handoff_is_at_nine_berlin_time_across_the_autumn_change(client, redis, run_jobs, moment, primary):
    with time_machine.travel(berlin(moment), tick=False):
        reply = say(client, run_jobs, redis, "alice", "oncall ops")
    assert reply.splitlines()[1].startswith(f"  primary: {primary} until "), reply


def test_an_override_is_permitted_audited_and_names_who_at_send_time(client, redis, run_jobs):
    with time_machine.travel(berlin("2026-12-09T10:00"), tick=False):
        refused = say(client, run_jobs, redis, "carol", "oncall override carol for 4h")
        assert refused == "Refused: `oncall` with action=override schedule=ops is for oncall; carol is not one of them."
        reply = say(client, run_jobs, redis, "alice", "oncall override bob for 4h because dentist")
        assert reply == "bob is on call for ops/primary until 14:00 CET (4h) (dentist).", reply
        assert say(client, run_jobs, redis, "alice", "oncall").splitlines()[1] == \
            "  primary: bob (override) until 14:00 CET, then alice"
        notify(client, run_jobs)
    with time_machine.travel(berlin("2026-12-09T14:00"), tick=False):
        notify(client, run_jobs, number=2)   # not posted again (the same episode repeats) — nothing new
        assert say(client, run_jobs, redis, "alice", "oncall").splitlines()[1].startswith("  primary: alice until")
    assert posted(redis)[0].startswith("@bob :red_circle: CRITICAL web-01/HTTP")
    (entry,), _ = brain.audit_entries(redis, 10, filters={"event": "oncall.override"})
    assert (entry["who"], entry["person"], entry["schedule"], entry["layer"], entry["reason"]) == \
        ("alice", "bob", "ops", "primary", "dentist")


def test_the_planned_christmas_override_in_the_file(client, redis, run_jobs):
    with time_machine.travel(berlin("2026-12-25T12:00"), tick=False):
        assert say(client, run_jobs, redis, "alice", "oncall").splitlines()[1] == \
            "  primary: bob (override) until Sun 09:00 CET, then carol"


def test_a_production_page_escalates_to_the_secondary_until_acked(client, redis, run_jobs):
    """routing.yml's prod-critical-to-oncall with oncall.yml's prod-critical policy, at a pinned clock."""
    clock = Clock(redis, run_jobs)
    start = berlin("2026-12-09T10:00")
    with time_machine.travel(start, tick=False):
        signal = Signal(source="nagios", kind="alert", status="firing", severity="critical", subject="db-01/Disk",
                        fingerprint="db-01/Disk", labels={"host": "db-01", "env": "production"},
                        summary="CRITICAL db-01/Disk: 98% full")
        assert client.post("/hooks/generic", json=signal.to_dict()).status_code == 202
        run_jobs()
    assert posted(redis) == ["@alice :rotating_light: CRITICAL db-01/Disk: 98% full"]
    clock.run_at(start.timestamp() + 15 * 60)
    assert posted(redis)[1] == "@bob still firing after 15m, not acknowledged: CRITICAL db-01/Disk: 98% full"
    with time_machine.travel(berlin("2026-12-09T10:20"), tick=False):
        assert say(client, run_jobs, redis, "bob", "ack db-01/Disk").startswith("bob acked")
    clock.run_at(start.timestamp() + 30 * 60)
    assert len(posted(redis)) == 2                           # the admins were not paged
    run = client.get("/api/alerts/db-01/Disk/escalation").json["escalations"][0]
    assert (run["policy"], run["state"]) == ("prod-critical", "acked")


def test_the_watchdog_heartbeat_missing_then_restored(client, redis, run_jobs):
    """Prometheus pushes its Watchdog (as in tests/payloads/alertmanager/api_v2.alerts.json); it stops
    for 3 minutes (every 1m + grace 2m), then comes back."""
    clock = Clock(redis, run_jobs)
    start = berlin("2026-12-09T10:00")

    def push(seconds: int) -> None:
        moment = dt.datetime.fromtimestamp(start.timestamp() + seconds, dt.timezone.utc)
        with time_machine.travel(moment, tick=False):
            ends = (moment + dt.timedelta(minutes=4)).isoformat().replace("+00:00", "Z")
            answer = client.post("/api/v2/alerts", json=[{"labels": {"alertname": "Watchdog"}, "annotations": {},
                                                          "endsAt": ends}])
            assert answer.status_code == 200, answer.data
            run_jobs()

    push(0)
    assert posted(redis) == []                                  # routing.yml drops the Watchdog itself
    clock.run_at(start.timestamp() + 179)
    assert posted(redis) == []
    clock.run_at(start.timestamp() + 180)
    assert posted(redis) == ["@alice :broken_heart: Heartbeat watchdog missing: Alertmanager's Watchdog alert was "
                             "expected every 1m; the last beat was at 2026-12-09T09:00:00.000Z."]
    push(200)                                                   # a re-send: deduplicated, last_seen refreshed
    clock.run_at(start.timestamp() + 240)                       # the sweep looks again a minute later
    assert posted(redis)[1] == ":heartpulse: Heartbeat watchdog restored: Alertmanager's Watchdog alert beat again " \
                               "at 2026-12-09T09:03:20.000Z."
