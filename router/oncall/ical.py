"""A schedule as an iCalendar feed (RFC 5545): one event per shift per layer, for calendar apps.

The feed covers a window around the moment asked (a week back, `DAYS_AHEAD` ahead) with overrides
applied, so a subscribed calendar shows who is really on call. Each shift's UID is stable
(schedule, layer, start), so a calendar refreshing the feed updates events instead of doubling
them; an override splits a shift into new UIDs, as it should.
"""
from __future__ import annotations

import datetime as dt

import icalendar

from router.oncall.schedule import DAY, Schedule, shifts

DAYS_BACK = 7
DAYS_AHEAD = 90


def _utc(epoch: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch, dt.timezone.utc)


def feed(schedule: Schedule, now: float, days_ahead: int = DAYS_AHEAD) -> bytes:
    cal = icalendar.Calendar()
    cal.add("prodid", "-//Sparky//on call//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", f"On call: {schedule.name}")
    cal.add("x-wr-timezone", schedule.zone.key)
    stamp = _utc(now)
    for layer in schedule.layers:
        for shift in shifts(schedule, layer, now - DAYS_BACK * DAY, now + days_ahead * DAY):
            if not shift.who:      # a restricted layer's gap: no event
                continue
            event = icalendar.Event()
            event.add("uid", f"{schedule.name}-{layer}-{int(shift.start)}@sparky")
            event.add("dtstamp", stamp)
            event.add("dtstart", _utc(shift.start))
            event.add("dtend", _utc(shift.end))
            event.add("summary", f"{schedule.name} {layer}: {shift.who}" + (" (override)" if shift.override else ""))
            event.add("categories", [layer])
            event.add("transp", "TRANSPARENT")    # being on call does not make you busy
            cal.add_component(event)
    return cal.to_ical()
