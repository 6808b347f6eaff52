"""oncall.yml as `sparky rules check` sees it: shape and reference errors with file:line, and
`@oncall` / `{oncall:…}` resolved when the message is sent (not when it was decided)."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from router.chat import rooms
from router.chat import send as chat
from router.core.signal import Signal
from router.engine.loader import read_dir
from router.engine.rules import load
from tests.commands.conftest import write_rules
from tests.oncall.conftest import ONCALL, ONCALL_PERMISSIONS

BERLIN = ZoneInfo("Europe/Berlin")


def problems(tmp_path, oncall: str) -> list[str]:
    path = write_rules(tmp_path / "r", oncall_yml=oncall, permissions_yml=ONCALL_PERMISSIONS, routing_yml=None)
    rules, found = load(read_dir(path), "rules")
    assert rules is None
    return [str(p) for p in found]


@pytest.mark.parametrize("old, new, problem", [
    ("members: [alice, bob]", "members: [alice, bobby]",
     'rules/oncall.yml:6: schedule "ops", layer "primary": unknown person "bobby" (did you mean "bob"?)'),
    ('handoff: "09:00", length: weekly}\n      secondary', 'handoff: "9am", length: weekly}\n      secondary',
     'rules/oncall.yml:6: schedules: "ops": layers: "primary": handoff: use HH:MM, e.g. 09:00'),
    ("zone: Europe/Berlin", "zone: Europe/Berlyn",
     'rules/oncall.yml:4: schedules: "ops": zone: unknown time zone "Europe/Berlyn" (use e.g. Europe/Berlin, UTC)'),
    ("length: daily", "length: fortnightly",
     'rules/oncall.yml:11: schedules: "db": layers: "primary": length: bad length "fortnightly" (use daily, weekly, '
     'or a duration such as 3d or 12h)'),
    ("{oncall:db}", "{oncall:dba}",
     'rules/oncall.yml:29: rule "page": action "notify": "{oncall:dba}": "dba" is neither a schedule nor a '
     'layer of "ops"'),
    ("notify: {oncall: ops/secondary}", "notify: {oncall: ops/tertiary}",
     'rules/oncall.yml:16: escalation "ops-critical", step 3: schedule "ops" has no layer "tertiary"'),
    ("notify: {group: leads}", "notify: {group: leeds}",
     'rules/oncall.yml:18: escalation "ops-critical", step 5: unknown group "leeds" (did you mean "leads"?)'),
    ("    every: 1m\n", "    every: 1m\n    by: \"06:00\"\n",
     'rules/oncall.yml:42: heartbeat "watchdog": give either every (e.g. 1m) or by (e.g. 06:00)'),
    ("  - name: nightly-web-api", "  - name: watchdog",
     'rules/oncall.yml:46: heartbeat "watchdog": the name is taken (line 42)'),
    ("    - repeat: 1\n", "    - repeat: 1\n    - wait: 1m\n",
     'rules/oncall.yml:14: escalations: "ops-critical": repeat comes last: it runs the steps above it again'),
])
def test_mistakes_are_reported_with_file_and_line(tmp_path, old, new, problem):
    assert old in ONCALL
    assert problem in problems(tmp_path, ONCALL.replace(old, new, 1))


def test_the_example_loads(tmp_path):
    path = write_rules(tmp_path / "r", oncall_yml=ONCALL, permissions_yml=ONCALL_PERMISSIONS, routing_yml=None)
    rules, found = load(read_dir(path), "rules")
    assert found == [] and set(rules.data["schedules"]) == {"ops", "db"}


def test_a_rule_s_oncall_mentions_reach_the_room_as_people(client, redis, config, run_jobs):
    with time_machine.travel(dt.datetime(2026, 10, 26, 9, 1, tzinfo=BERLIN), tick=False):
        signal = Signal(source="nagios", kind="alert", status="firing", subject="web-01/HTTP",
                        fingerprint="web-01/HTTP", summary="CRITICAL web-01/HTTP")
        answer = client.post("/hooks/generic", json=signal.to_dict())
        assert answer.status_code == 202, answer.json
        run_jobs()
    (text,) = [m["text"] for m in rooms.messages(redis, "#ops", 10) if m.get("key")]
    assert text == "@alice CRITICAL web-01/HTTP (db: @carol)"


def test_oncall_is_who_is_on_call_at_the_moment_of_sending(redis, config):
    """The same queued message names bob at 08:59 and alice at 09:00, the Monday of the autumn change."""
    for minute, key in ((59, "a"), (0, "b")):
        hour = 8 if minute else 9
        with time_machine.travel(dt.datetime(2026, 10, 26, hour, minute, tzinfo=BERLIN), tick=False):
            chat.send(redis, config, chat.Message(room="#ops", key=key, text="{oncall:secondary} too",
                                                  mention="@oncall"))
    assert [m["text"] for m in rooms.messages(redis, "#ops", 10)] == ["@bob @dave too", "@alice @carol too"]
