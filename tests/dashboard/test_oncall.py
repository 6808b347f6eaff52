"""The on-call side of an alert on the dashboard: its page shows the escalation runs (where each
stands, every page) and the timeline (the same events as GET /api/alerts/<id>/timeline); rows and
the page have Escalate and Resolve, which run the `escalate`/`resolve` commands as "You are"
(permissions.yml, audit, CSRF) like Ack. Clock pinned; the oncall suite's rules (tests/oncall)."""
from __future__ import annotations

import datetime as dt

import time_machine

from router.core import brain
from tests.actions.conftest import Clock
from tests.dashboard.conftest import named, page, post, text_of
from tests.oncall import conftest as oncall_fixtures
from tests.oncall.test_escalation import FP, at, fire, pages

rules_dir, env, config = oncall_fixtures.rules_dir, oncall_fixtures.env, oncall_fixtures.config
ALERT = brain.alert_id(FP)


def _at(minutes: float):
    return time_machine.travel(dt.datetime.fromtimestamp(at(minutes), dt.timezone.utc), tick=False)


def test_the_alert_page_shows_its_escalation_and_timeline(client, redis, run_jobs):
    fire(client, run_jobs)
    with _at(3):
        named(client, "carol")
        html = page(client.get(f"/alerts/{ALERT}"))
    escalation = text_of(html[html.index('id="escalation"'):html.index('id="timeline"')])
    assert "ops-critical: running, 1 page(s) so far (round 1); next: step 3 (oncall ops/secondary)" in escalation
    assert "wait 10m" in escalation and "notify oncall ops/primary" in escalation
    assert "paged @bob (step 1, round 1)" in escalation
    timeline = html[html.index('id="timeline"'):]
    events = client.get(f"/api/alerts/{ALERT}/timeline").json["events"]
    assert timeline.count("<li class=\"event-") == len(events) == 6          # the API's events, each shown
    shown = text_of(timeline)
    assert "escalation.paged paged @bob" in shown and "(bob)" in shown and "decision rules version" in shown


def test_escalate_and_resolve_forms_run_the_commands_as_you(client, redis, run_jobs):
    fire(client, run_jobs)
    with _at(1):                                     # the session is signed at the pinned time too
        named(client, "carol")
        row = page(client.get("/"))
    row = row[row.index(f'id="alert-{ALERT}"'):]
    row = row[:row.index("</tr>")]
    assert f'action="/alerts/{ALERT}/escalate"' in row and f'action="/alerts/{ALERT}/resolve"' in row

    with _at(3):
        answer = post(client, f"/alerts/{ALERT}/escalate", next=f"/alerts/{ALERT}")
        assert answer.status_code == 302, text_of(page(answer))[:900]
        assert answer.headers["Location"] == f"/alerts/{ALERT}#alert-{ALERT}"
        shown = text_of(page(client.get(answer.headers["Location"])))
    assert f"carol escalated {ALERT} {FP}" in shown
    assert pages(redis)[1] == "@dave still firing after 3m, not acknowledged: CRITICAL db-01/Postgres: down"
    (entry,) = [e for e in brain.audit_entries(redis, 20)[0] if e.get("command") == "escalate"]
    assert (entry["who"], entry["channel"], entry["outcome"]) == ("carol", "api", "ok")

    with _at(4):                                     # carol is not on call: permissions.yml refuses her
        refused = post(client, f"/alerts/{ALERT}/resolve", reason="gone", next="/")
    assert refused.status_code == 403
    assert "resolve is for oncall; carol is not one of them. (permissions.yml#7)" in text_of(page(refused))
    assert brain.load_alert(redis, FP)["status"] == "firing"

    with _at(5):
        named(client, "alice")
        answer = post(client, f"/alerts/{ALERT}/resolve", reason="replaced the disk", next="/")
        assert answer.status_code == 302
        run_jobs()
        shown = text_of(page(client.get("/")))
    assert f"alice resolved {ALERT} {FP}: replaced the disk" in shown
    assert brain.load_alert(redis, FP)["status"] == "resolved"
    (entry,), _ = brain.audit_entries(redis, 10, filters={"event": "alert.resolved"})
    assert (entry["who"], entry["reason"]) == ("alice", "replaced the disk")
    Clock(redis, run_jobs).run_at(at(13))           # the wait after the manual page ends: the run stops
    with _at(14):                                    # resolved: its page is found by fingerprint
        html = page(client.get(f"/alerts/{FP}"))
    assert "ops-critical: resolved after 2 page(s)" in text_of(html)
    assert f'/alerts/{ALERT}/resolve"' not in html and f'/alerts/{ALERT}/escalate"' not in html


def test_the_forms_need_the_csrf_token(client, redis, run_jobs):
    fire(client, run_jobs)
    named(client, "alice")
    for what in ("escalate", "resolve"):
        assert client.post(f"/alerts/{ALERT}/{what}", data={"next": "/"}).status_code == 400
    assert brain.load_alert(redis, FP)["status"] == "firing"
    assert len(pages(redis)) == 1
