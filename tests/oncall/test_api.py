"""GET /api/oncall and the iCalendar feed: it parses back (icalendar) into the shifts, overrides applied."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import icalendar
import time_machine

from router.core import brain

BERLIN = ZoneInfo("Europe/Berlin")
WEDNESDAY = dt.datetime(2026, 10, 21, 12, 0, tzinfo=BERLIN)     # the week of the autumn change


def test_the_ics_feed_parses_back_into_the_shifts(client, redis, config):
    with time_machine.travel(WEDNESDAY, tick=False):
        brain.add_override(redis, "ops", {"layer": "primary", "who": "carol", "start": WEDNESDAY.timestamp(),
                                          "end": WEDNESDAY.timestamp() + 3600, "by": "alice", "reason": "",
                                          "made": WEDNESDAY.timestamp()}, WEDNESDAY.timestamp())
        answer = client.get("/api/oncall/ops.ics")
    assert answer.status_code == 200 and answer.mimetype == "text/calendar"
    cal = icalendar.Calendar.from_ical(answer.data)
    assert str(cal["x-wr-calname"]) == "On call: ops"
    events = sorted(((e["dtstart"].dt, e["dtend"].dt, str(e["summary"])) for e in cal.walk("VEVENT")))
    primary = [(start.astimezone(BERLIN), end.astimezone(BERLIN), summary)
               for start, end, summary in events if "primary" in summary]
    # around the override: bob's week, carol for an hour, bob again until Monday 09:00 *CET*
    around = [(s.strftime("%a %d %H:%M %Z"), e.strftime("%a %d %H:%M %Z"), what) for s, e, what in primary
              if s.day in (19, 21, 26) and s.month == 10]
    assert around == [
        ("Mon 19 09:00 CEST", "Wed 21 12:00 CEST", "ops primary: bob"),
        ("Wed 21 12:00 CEST", "Wed 21 13:00 CEST", "ops primary: carol (override)"),
        ("Wed 21 13:00 CEST", "Mon 26 09:00 CET", "ops primary: bob"),
        ("Mon 26 09:00 CET", "Mon 02 09:00 CET", "ops primary: alice")]
    uids = [str(e["uid"]) for e in cal.walk("VEVENT")]
    assert len(uids) == len(set(uids))
    assert primary[-1][1] - primary[0][0] >= dt.timedelta(days=96)


def test_an_unknown_schedule_is_a_404_naming_the_known_ones(client, config):
    answer = client.get("/api/oncall/nope.ics")
    assert answer.status_code == 404 and answer.json["schedules"] == ["db", "ops"]


def test_the_list_says_who_now_and_next(client, config):
    with time_machine.travel(WEDNESDAY, tick=False):
        answer = client.get("/api/oncall").json
    ops = answer["schedules"][0]
    assert ops["schedule"] == "ops"
    assert ops["layers"][0] == {"layer": "primary", "who": "bob", "override": False,
                                "until": "2026-10-26T08:00:00.000Z", "next": "alice"}


def test_the_endpoints_are_in_the_openapi_document(client, config):
    paths = client.get("/openapi.json").json["paths"]
    assert paths["/api/oncall/{name}.ics"]["get"]["tags"] == ["oncall"]
    assert "get" in paths["/api/oncall"]
    for path in ("/api/alerts/{ref}/escalation", "/api/alerts/{ref}/timeline"):
        assert paths[path]["get"]["tags"] == ["oncall"]
