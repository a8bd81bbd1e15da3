"""iCalendar feeds parse with the icalendar package and carry Asia/Shanghai times."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from flask import Flask
from flask.testing import FlaskClient
from icalendar import Calendar

from library import clock
from library.db import get_database
from tests.campaigns.factories import local, make_campaign, make_event
from tests.factories import make_branch

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _setup(app: Flask) -> dict[str, int | str]:
    clock.set_now(local(2026, 4, 1, 9))  # the app fixture unfreezes it
    with get_database(app).transaction() as session:
        branch = make_branch(session, code="ICS1", name="长春镇分馆")
        campaign = make_campaign(session, start=dt.date(2026, 4, 20), end=dt.date(2026, 4, 26), branches=[branch])
        weekly = make_event(session, starts_at=local(2026, 4, 4, 10), rule="FREQ=WEEKLY;COUNT=3", branch=branch,
                            duration=90, title="周六故事会", capacity=10)
        talk = make_event(session, starts_at=local(2026, 4, 23, 14, 30), branch=branch, campaign=campaign,
                          title="世界读书日讲座", capacity=50, description="主讲：本馆馆员")
        draft = make_campaign(session, start=dt.date(2026, 5, 1), end=dt.date(2026, 5, 3), publish=False,
                              name="草稿活动季")
        hidden = make_event(session, starts_at=local(2026, 5, 2, 9), branch=branch, campaign=draft, title="未发布活动")
        return {"weekly": weekly.id, "talk": talk.id, "campaign": campaign.id, "draft": draft.id, "hidden": hidden.id}


def _parse(response: object) -> Calendar:
    assert response.status_code == 200  # type: ignore[attr-defined]
    assert response.mimetype == "text/calendar"  # type: ignore[attr-defined]
    return Calendar.from_ical(response.get_data())  # type: ignore[attr-defined]


def test_event_ics_times_in_shanghai(app: Flask, client: FlaskClient) -> None:
    ids = _setup(app)
    cal = _parse(client.get(f"/events/{ids['talk']}.ics"))
    tz = cal.walk("VTIMEZONE")
    assert [str(t["TZID"]) for t in tz] == ["Asia/Shanghai"]
    (ev,) = cal.walk("VEVENT")
    start, end = ev.decoded("DTSTART"), ev.decoded("DTEND")
    assert ev["DTSTART"].params["TZID"] == "Asia/Shanghai"
    assert start.replace(tzinfo=None) == dt.datetime(2026, 4, 23, 14, 30)
    assert start.utcoffset() == dt.timedelta(hours=8)
    assert start.astimezone(dt.UTC) == dt.datetime(2026, 4, 23, 6, 30, tzinfo=dt.UTC)
    assert end - start == dt.timedelta(minutes=60)
    assert str(ev["SUMMARY"]) == "世界读书日讲座"
    assert "长春镇分馆" in str(ev["LOCATION"]) and str(ev["DESCRIPTION"]) == "主讲：本馆馆员"
    assert str(ev["UID"]).startswith("event-session-")


def test_branch_and_campaign_feeds(app: Flask, client: FlaskClient) -> None:
    ids = _setup(app)
    cal = _parse(client.get("/branches/ICS1/events.ics"))
    starts = sorted(e.decoded("DTSTART").astimezone(SHANGHAI).strftime("%m-%d %H:%M") for e in cal.walk("VEVENT"))
    assert starts == ["04-04 10:00", "04-11 10:00", "04-18 10:00", "04-23 14:30"]  # the draft campaign's is hidden
    camp = _parse(client.get(f"/campaigns/{ids['campaign']}/events.ics"))
    assert [str(e["SUMMARY"]) for e in camp.walk("VEVENT")] == ["世界读书日讲座"]
    assert client.get(f"/campaigns/{ids['draft']}/events.ics").status_code == 404
    assert client.get(f"/events/{ids['hidden']}.ics").status_code == 404
    assert client.get("/branches/NOPE/events.ics").status_code == 404


def test_cancelled_session_is_marked_cancelled(app: Flask, client: FlaskClient) -> None:
    ids = _setup(app)
    from reading_points.campaigns import events

    with get_database(app).transaction() as session:
        event = events.get_event(session, int(ids["weekly"]))
        events.cancel_session(session, event.sessions[1], now=local(2026, 4, 1))
    cal = _parse(client.get(f"/events/{ids['weekly']}.ics"))
    assert [str(e["STATUS"]) for e in cal.walk("VEVENT")] == ["CONFIRMED", "CANCELLED", "CONFIRMED"]
