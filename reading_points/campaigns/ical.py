"""iCalendar (RFC 5545) feeds of events: per branch, per campaign and per event. Times are
written with TZID=Asia/Shanghai and the calendar carries the matching VTIMEZONE."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from icalendar import Calendar
from icalendar import Event as VEvent

from library import clock
from reading_points.campaigns.models import EventSession

PRODID = "-//Ziyang District Library//Reading campaigns//ZH"


def calendar_for(sessions: Iterable[EventSession], *, name: str, host: str, now: dt.datetime) -> bytes:
    """A VCALENDAR with one VEVENT per session (cancelled sessions carry STATUS:CANCELLED)."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", str(clock.DEFAULT_TZ))
    for s in sessions:
        event = s.event
        ve = VEvent()
        ve.add("uid", f"event-session-{s.id}@{host}")
        ve.add("dtstamp", now.astimezone(dt.UTC))
        ve.add("dtstart", clock.to_local(s.starts_at))
        ve.add("dtend", clock.to_local(s.ends_at))
        ve.add("summary", event.title)
        if event.description:
            ve.add("description", event.description)
        ve.add("location", " ".join(p for p in (event.branch.name, event.room, event.branch.address) if p))
        ve.add("categories", [event.audience])
        ve.add("status", "CANCELLED" if s.status == "cancelled" or event.status == "cancelled" else "CONFIRMED")
        cal.add_component(ve)
    cal.add_missing_timezones()
    return cal.to_ical()
