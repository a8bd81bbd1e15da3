"""Campaign journeys in a real browser: a reader registers for an event on a phone (and lands on
the waitlist when it is full); the organiser checks readers in by scanning cards at the desk."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from library import clock
from library.db import get_database
from library.models import Branch, Reader
from reading_points.campaigns import events
from reading_points.campaigns.models import Registration
from tests.campaigns.factories import make_campaign, make_event


def _no_horizontal_scroll(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"] + 1, f"page is {width}px wide"


def _event(live_server: Any, capacity: int) -> tuple[int, int]:
    starts = clock.now().replace(microsecond=0) + dt.timedelta(days=3)
    with get_database(live_server.app).transaction() as s:
        central = s.scalar(select(Branch).where(Branch.code == "ZY"))
        assert central is not None
        today = clock.local_today()
        campaign = make_campaign(s, start=today - dt.timedelta(days=1), end=today + dt.timedelta(days=10),
                                 branches=[central], name="冬季悦读", now=clock.now())
        event = make_event(s, starts_at=starts, capacity=capacity, branch=central, campaign=campaign,
                           title="亲子绘本共读", now=clock.now())
        return event.id, event.sessions[0].id


def test_reader_registers_on_a_phone(phone_page: Any, live_server: Any, screenshot: Callable[..., Any]) -> None:
    event_id, session_id = _event(live_server, capacity=1)
    with get_database(live_server.app).transaction() as s:
        other = s.scalar(select(Reader).where(Reader.card_number == "E2E0000002"))
        assert other is not None
        events.register(s, session_id=session_id, reader=other, now=clock.now())
    page = phone_page
    live_server.login_reader(page)
    page.goto(f"{live_server.url}/events/")
    page.click("text=亲子绘本共读")
    page.wait_for_url(f"**/events/{event_id}")
    _no_horizontal_scroll(page)
    page.click("button:has-text('加入候补')")
    page.wait_for_selector("text=您在候补名单中")
    screenshot(page, "campaigns-event-phone")
    _no_horizontal_scroll(page)
    page.goto(f"{live_server.url}/events/mine")
    _no_horizontal_scroll(page)
    with get_database(live_server.app).transaction() as s:
        mine = s.scalar(select(Registration).join(Reader).where(Reader.card_number == live_server.reader[0]))
        assert mine is not None and mine.status == "waitlisted"


def test_organiser_checks_in_by_scanning(page: Any, live_server: Any, screenshot: Callable[..., Any]) -> None:
    _, session_id = _event(live_server, capacity=5)
    live_server.login_staff(page, "organiser")
    page.goto(f"{live_server.url}/campaigns/sessions/{session_id}")
    page.fill("#card_number", live_server.reader[0])
    page.press("#card_number", "Enter")
    page.wait_for_selector("tr.reg-registered")
    page.fill("#checkin-card_number", live_server.reader[0])  # the scanner types and presses Enter
    page.press("#checkin-card_number", "Enter")
    page.wait_for_selector("text=已签到")
    screenshot(page, "campaigns-session-desk")
    with get_database(live_server.app).transaction() as s:
        reg = s.scalar(select(Registration).where(Registration.session_id == session_id))
        assert reg is not None and reg.attended_at is not None and reg.source == "counter"
