"""Organiser and reader pages: forms keep input on errors, counter registration, check-in by
card, OPAC registration and cancellation, calendar, dashboard with charts and CSV, statistics."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from library import clock
from library.db import get_database
from library.models import Township
from reading_points.campaigns import events
from reading_points.campaigns.models import Campaign, Event, Registration
from tests.campaigns.factories import local, make_campaign, make_event
from tests.factories import make_branch, make_reader

NOW = local(2026, 4, 10, 9)


def test_campaign_form_keeps_input_and_creates(app: Flask, client: FlaskClient, staff_login: Any) -> None:
    staff_login("organiser")
    with get_database(app).transaction() as session:
        branch_id = make_branch(session, name="迎风桥镇分馆").id
    bad = client.post("/campaigns/new", data={
        "name": "世界读书日 2026", "kind": "world_book_day", "start_date": "2026-04-26", "end_date": "2026-04-20",
        "multiplier": "2", "challenge_bonus": "0", "challenge_mode": "either", "branch_ids": [str(branch_id)]})
    assert bad.status_code == 422
    html = bad.get_data(as_text=True)
    assert "世界读书日 2026" in html and "结束日期早于开始日期" in html
    with get_database(app).transaction() as session:
        assert session.scalar(select(Campaign)) is None
    ok = client.post("/campaigns/new", data={
        "name": "世界读书日 2026", "kind": "world_book_day", "start_date": "2026-04-20", "end_date": "2026-04-26",
        "multiplier": "2", "challenge_bonus": "10", "challenge_books": "2", "challenge_mode": "log",
        "branch_ids": [str(branch_id)], "description": "全民阅读"})
    assert ok.status_code == 302
    with get_database(app).transaction() as session:
        c = session.scalar(select(Campaign))
        assert c is not None and c.status == "draft" and [b.id for b in c.branches] == [branch_id]
        cid = c.id
    assert client.post(f"/campaigns/{cid}/publish").status_code == 302
    with get_database(app).transaction() as session:
        assert session.get(Campaign, cid).status != "draft"  # type: ignore[union-attr]
    page = client.get(f"/campaigns/{cid}")
    assert page.status_code == 200 and "<svg" in page.get_data(as_text=True)


def test_poster_upload_and_public_page(app: Flask, client: FlaskClient, staff_login: Any) -> None:
    staff_login("organiser")
    png = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4"
           b"\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")
    response = client.post("/campaigns/new", content_type="multipart/form-data", data={
        "name": "暑期阅读", "kind": "summer_reading", "start_date": "2026-07-01", "end_date": "2026-08-31",
        "multiplier": "1.5", "challenge_bonus": "0", "challenge_mode": "either",
        "poster": (io.BytesIO(png), "poster.png")})
    assert response.status_code == 302
    with get_database(app).transaction() as session:
        c = session.scalar(select(Campaign))
        assert c is not None and c.poster_filename and c.poster_filename.endswith(".png")
        cid = c.id
    client.post(f"/campaigns/{cid}/publish")
    poster = client.get(f"/events/campaigns/{cid}/poster")
    assert poster.status_code == 200 and poster.data == png
    poster.close()
    assert "暑期阅读" in client.get(f"/events/campaigns/{cid}").get_data(as_text=True)
    bad = client.post("/campaigns/new", content_type="multipart/form-data", data={
        "name": "坏海报", "kind": "custom", "start_date": "2026-07-01", "end_date": "2026-08-31",
        "multiplier": "1", "challenge_bonus": "0", "challenge_mode": "either",
        "poster": (io.BytesIO(b"#!/bin/sh"), "poster.sh")})
    assert bad.status_code == 422


def test_event_form_and_session_counter(app: Flask, client: FlaskClient, staff_login: Any) -> None:
    clock.set_now(NOW)
    staff_login("organiser")
    with get_database(app).transaction() as session:
        branch_id = make_branch(session).id
        readers = [make_reader(session) for _ in range(3)]
        cards = [r.card_number for r in readers]
    form = {"title": "亲子绘本共读", "campaign_id": "0", "branch_id": str(branch_id), "room": "少儿阅览室",
            "audience": "families", "capacity": "2", "starts_at": "2026-04-18T10:00", "duration_minutes": "60",
            "recurrence": "custom", "custom_rule": "FREQ=WEEKLY", "registration_closes_hours": "0"}
    bad = client.post("/campaigns/events/new", data=form)
    assert bad.status_code == 422 and "亲子绘本共读" in bad.get_data(as_text=True)
    form["custom_rule"] = "FREQ=WEEKLY;COUNT=2"
    assert client.post("/campaigns/events/new", data=form).status_code == 302
    with get_database(app).transaction() as session:
        event = session.scalar(select(Event))
        assert event is not None and len(event.sessions) == 2
        assert clock.to_local(event.sessions[0].starts_at).hour == 10
        sid = event.sessions[0].id
    for card in cards:
        assert client.post(f"/campaigns/sessions/{sid}/register", data={"card_number": card}).status_code == 302
    page = client.get(f"/campaigns/sessions/{sid}").get_data(as_text=True)
    assert page.count("reg-registered") == 2 and page.count("reg-waitlisted") == 1
    clock.set_now(local(2026, 4, 18, 10, 2))
    client.post(f"/campaigns/sessions/{sid}/check-in", data={"checkin-card_number": cards[0]})
    with get_database(app).transaction() as session:
        regs = session.scalars(select(Registration).order_by(Registration.id)).all()
        assert [r.source for r in regs] == ["counter"] * 3
        assert regs[0].attended_at is not None and regs[1].attended_at is None


def test_reader_registers_cancels_and_sees_waitlist(app: Flask, client: FlaskClient, reader_login: Any) -> None:
    clock.set_now(NOW)
    with get_database(app).transaction() as session:
        event = make_event(session, starts_at=local(2026, 4, 23, 14, 30), capacity=1, now=NOW)
        sid, eid = event.sessions[0].id, event.id
        other = make_reader(session)
        events.register(session, session_id=sid, reader=other, now=NOW)
    reader = reader_login()
    listing = client.get("/events/")
    assert listing.status_code == 200 and "绘本故事会" in listing.get_data(as_text=True)
    assert client.post(f"/events/sessions/{sid}/register").status_code == 302
    page = client.get(f"/events/{eid}").get_data(as_text=True)
    assert "您在候补名单中" in page
    with get_database(app).transaction() as session:
        mine = session.scalar(select(Registration).where(Registration.reader_id == reader.id))
        assert mine is not None and mine.status == "waitlisted"
        theirs = session.scalar(select(Registration).where(Registration.reader_id == other.id))
        assert theirs is not None
        reg_id, their_id = mine.id, theirs.id
    assert client.post(f"/events/registrations/{their_id}/cancel").status_code == 302  # not the reader's own
    with get_database(app).transaction() as session:
        assert session.get(Registration, their_id).status == "registered"  # type: ignore[union-attr]
    assert "我的报名" in client.get("/events/mine").get_data(as_text=True)
    client.post(f"/events/registrations/{reg_id}/cancel")
    with get_database(app).transaction() as session:
        assert session.get(Registration, reg_id).status == "cancelled"  # type: ignore[union-attr]


def test_reader_logs_books_for_challenge(app: Flask, client: FlaskClient, reader_login: Any) -> None:
    clock.set_now(local(2026, 7, 5, 10))
    reader = reader_login()
    with get_database(app).transaction() as session:
        c = make_campaign(session, start=dt.date(2026, 7, 1), end=dt.date(2026, 8, 31), multiplier="1",
                          challenge_books=1, challenge_mode="log", challenge_badge="小书虫", challenge_bonus=5)
        cid = c.id
    assert "阅读挑战" in client.get("/events/mine").get_data(as_text=True)
    client.post(f"/events/campaigns/{cid}/log", data={"title": "小王子", "author": "圣埃克苏佩里"})
    page = client.get("/events/mine").get_data(as_text=True)
    assert "小书虫" in page
    from reading_points.campaigns.models import ChallengeCompletion

    with get_database(app).transaction() as session:
        assert session.scalar(select(ChallengeCompletion.reader_id)) == reader.id


def test_calendar_dashboard_csv_and_stats(app: Flask, client: FlaskClient, staff_login: Any) -> None:
    clock.set_now(local(2026, 5, 10, 9))
    staff_login("admin")
    with get_database(app).transaction() as session:
        township = Township(code="T001", name="长春镇", kind="township", population=40000)
        session.add(township)
        session.flush()
        branch = make_branch(session, name="长春镇分馆", township_id=township.id)
        campaign = make_campaign(session, start=dt.date(2026, 4, 20), end=dt.date(2026, 4, 26), branches=[branch])
        make_event(session, starts_at=local(2026, 4, 23, 14, 30), branch=branch, campaign=campaign, title="读书日讲座")
        make_event(session, starts_at=local(2025, 4, 23, 14, 30), branch=branch, title="去年讲座")
        make_event(session, starts_at=local(2026, 5, 3, 10), branch=branch, title="五月故事会")
        cid, tid = campaign.id, township.id
    cal = client.get("/campaigns/calendar?month=2026-04").get_data(as_text=True)
    assert "读书日讲座" in cal and "五月故事会" not in cal
    assert client.get("/campaigns/calendar?month=bad").status_code == 200
    board = client.get(f"/campaigns/{cid}/dashboard.csv")
    assert board.status_code == 200 and board.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(board.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[1][:3] == ["sessions", "registrations", "waitlisted"] and rows[2][0] == "1"
    stats_page = client.get("/campaigns/stats?year=2026").get_data(as_text=True)
    assert "长春镇" in stats_page and "<svg" in stats_page
    stats_csv = client.get("/campaigns/stats.csv?year=2026").get_data(as_text=True).lstrip("\ufeff")
    township_row = next(r for r in csv.reader(io.StringIO(stats_csv)) if r[:2] == ["township", "T001"])
    # 2 sessions in 2026 and 1 in 2025 for 40,000 residents: 0.5 and 0.25 per 10,000, +100 %.
    assert township_row[3:] == ["40000", "1", "2", "0.250", "0.500", "1.000", "1"]
    assert client.post("/campaigns/stats/population", data={f"population-{tid}": "50000", "year": "2026"}) \
        .status_code == 302
    with get_database(app).transaction() as session:
        assert session.get(Township, tid).population == 50000  # type: ignore[union-attr]
    client.post("/campaigns/stats/population", data={f"population-{tid}": "-3", "year": "2026"})
    with get_database(app).transaction() as session:
        assert session.get(Township, tid).population == 50000  # type: ignore[union-attr]


def test_settings_and_plan_pages(app: Flask, client: FlaskClient, staff_login: Any) -> None:
    staff_login("organiser")
    page = client.get("/campaigns/settings")
    assert page.status_code == 200
    data = {"world_book_day_days_before": "3", "world_book_day_days_after": "3", "world_book_day_multiplier": "2",
            "service_week_multiplier": "1.5", "reading_month": "11", "reading_month_multiplier": "1.5",
            "summer_start_month": "8", "summer_end_month": "7", "summer_multiplier": "1.5",
            "summer_challenge_books": "10", "summer_challenge_bonus": "50", "reminder_lead_hours": "48",
            "no_show_penalty": "y", "attendance_points": "y", "refuse_blocked_readers": "y"}
    assert client.post("/campaigns/settings", data=data).status_code == 422
    data["summer_start_month"] = "7"
    data["summer_end_month"] = "8"
    assert client.post("/campaigns/settings", data=data).status_code == 302
    from reading_points.campaigns.services import get_settings

    with get_database(app).transaction() as session:
        assert get_settings(session).reminder_lead_hours == 48
    assert client.post("/campaigns/plan", data={"year": "2027"}).status_code == 302
    assert "2027 年世界读书日" in client.get("/campaigns/?year=2027").get_data(as_text=True)


def test_pages_need_roles(client: FlaskClient, staff_login: Any) -> None:
    assert client.get("/campaigns/").status_code in (302, 401)
    staff_login("cataloguer")
    assert client.get("/campaigns/").status_code == 403
    assert client.get("/campaigns/events").status_code == 403


def test_home_page_lists_upcoming_events(app: Flask, client: FlaskClient) -> None:
    clock.set_now(NOW)
    with get_database(app).transaction() as session:
        make_event(session, starts_at=local(2026, 4, 23, 14, 30), title="读书日讲座", now=NOW)
        draft = make_campaign(session, start=dt.date(2026, 4, 20), end=dt.date(2026, 4, 26), publish=False)
        make_event(session, starts_at=local(2026, 4, 24, 9), title="草稿活动", campaign=draft, now=NOW)
    html = client.get("/").get_data(as_text=True)
    assert "读书日讲座" in html and "草稿活动" not in html
