"""Per-person notification rules (people.yml `notify:`): when an escalation step pages bob, a DM
at once and a webhook 5 minutes later, each its own scheduled job, stopped by an ack; a bad rule
is a `rules check` problem with file:line. Clock pinned (tests/oncall/test_escalation.py's T0:
Monday 19 October 2026, 10:00 Berlin, bob on ops/primary)."""
from __future__ import annotations

import json

import pytest

from router.chat import rooms
from router.core import brain
from router.engine.loader import read_dir
from router.engine.rules import load
from tests.actions.conftest import Clock
from tests.commands.conftest import PEOPLE, write_rules
from tests.fakehttp import JsonServer
from tests.oncall.conftest import ONCALL, ONCALL_PERMISSIONS
from tests.oncall.test_escalation import FP, at, fire, say


class Pager(JsonServer):
    def handle(self, method, path, query, body, headers):
        return 202, {}, {"ok": True}


@pytest.fixture
def pager():
    server = Pager().start()
    yield server
    server.stop()


def people_with(url: str) -> str:
    return PEOPLE.replace("  bob:   {slack: U01BOB, github: bob-gh}\n",
                          "  bob:\n    slack: U01BOB\n    github: bob-gh\n    notify:\n      - dm: true\n"
                          f"      - after: 5m\n        webhook: {url}/page/bob?token=s3cret\n")


@pytest.fixture
def rules_dir(tmp_path, pager):
    return write_rules(tmp_path / "rules", oncall_yml=ONCALL, permissions_yml=ONCALL_PERMISSIONS,
                       routing_yml=None, people_yml=people_with(pager.url))


def events(client, kind: str) -> list[dict]:
    return [e for e in client.get(f"/api/alerts/{FP}/timeline").json["events"] if e["event"] == kind]


def test_a_paged_person_gets_a_dm_at_once_and_a_webhook_later(client, redis, run_jobs, pager):
    clock = Clock(redis, run_jobs)
    fire(client, run_jobs)
    clock.run_at(at(0))
    (dm,) = rooms.messages(redis, "@bob", 10)
    assert dm["text"] == (f"you are paged: CRITICAL db-01/Postgres: down (`ack {brain.alert_id(FP)}` "
                          "to stop the escalation)")
    assert pager.count("POST", "/page/bob") == 0
    clock.run_at(at(4.9))
    assert pager.count("POST", "/page/bob") == 0                   # not yet
    clock.run_at(at(5))
    (request,) = pager.made("POST", "/page/bob")
    body = json.loads(request["body"])
    assert (body["person"], body["alert"]["fingerprint"], body["policy"]) == ("bob", FP, "ops-critical")
    assert request["headers"]["Idempotency-Key"]
    notified = events(client, "escalation.notified")
    assert [(e["who"], e["what"].split(":")[0]) for e in notified] == [
        ("bob", "DM to bob"), ("bob", "webhook for bob to 127.0.0.1")]
    assert all("s3cret" not in e["what"] for e in notified)       # the URL's token is never shown
    clock.run_at(at(6))
    assert pager.count("POST", "/page/bob") == 1 and len(rooms.messages(redis, "@bob", 10)) == 1   # once each


def test_an_ack_stops_the_later_rules(client, redis, run_jobs, pager):
    clock = Clock(redis, run_jobs)
    fire(client, run_jobs)
    clock.run_at(at(0))
    assert say(client, run_jobs, redis, "bob", f"ack {FP} on it", at(2)).startswith("bob acked")
    clock.run_at(at(5))
    assert pager.count("POST", "/page/bob") == 0
    assert len(events(client, "escalation.notified")) == 1        # the DM only


@pytest.mark.parametrize("rule, problem", [
    ("      - after: soon\n        dm: true\n",
     'rules/people.yml:6: person "bob": after: bad duration "soon" (use e.g. 30s, 10m, 2h, 14d)'),
    ("      - dm: true\n        webhook: https://pager.example/x\n",
     'rules/people.yml:6: person "bob": each notify rule is either dm: true or webhook: <url>'),
    ("      - webhook: not-a-url\n", 'rules/people.yml:6: person "bob": webhook: not a valid URL'),
])
def test_bad_rules_are_reported_with_file_and_line(tmp_path, rule, problem):
    people = PEOPLE.replace("  bob:   {slack: U01BOB, github: bob-gh}\n",
                            f"  bob:\n    slack: U01BOB\n    notify:\n{rule}")
    path = write_rules(tmp_path / "r", oncall_yml=ONCALL, permissions_yml=ONCALL_PERMISSIONS, routing_yml=None,
                       people_yml=people)
    _, found = load(read_dir(path), "rules")
    shown = [str(p) for p in found]
    assert problem in shown, shown
