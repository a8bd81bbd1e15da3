"""Points journeys in a real browser: a reader sees their points and redeems a reward on a
phone; the counter hands it out; an admin adjusts a balance with a reason. Screenshots go to
/tmp/e2e-shots."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from library.db import get_database
from library.models import Branch, Reader
from reading_points.points import ledger, services
from tests.points.factories import bulk_history, make_reward


def _no_horizontal_scroll(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"] + 1, f"page is {width}px wide"


def _setup(live_server: Any) -> tuple[int, int]:
    with get_database(live_server.app).transaction() as s:
        reader = s.scalar(select(Reader).where(Reader.card_number == live_server.reader[0]))
        central = s.scalar(select(Branch).where(Branch.code == "ZY"))
        assert reader is not None and central is not None
        reader.home_branch_id = central.id
        bulk_history(s, reader.id, 300, start=dt.datetime(2025, 12, 1, 2, tzinfo=dt.UTC))
        services.penalise(s, reader_id=reader.id, kind="overdue", idempotency_key="e2e:overdue", reason="逾期归还 3 天",
                          now=dt.datetime(2026, 3, 2, 2, tzinfo=dt.UTC), points=3, source="loan:e2e")
        make_reward(s, name="图书馆纪念帆布袋", cost=60, stock={central.id: 5}, limit_per_reader=2)
        make_reward(s, name="借阅册数 +5（30 天）", cost=80, kind="extra_loans", extra_loans=5)
        make_reward(s, name="儿童绘本（任选一册）", cost=1500, stock={central.id: 2})
        return reader.id, central.id


def test_reader_redeems_on_a_phone_and_the_counter_hands_it_out(
        phone_page: Any, page: Any, live_server: Any, screenshot: Callable[..., Any]) -> None:
    reader_id, _ = _setup(live_server)
    live_server.login_reader(phone_page)
    phone_page.goto("/points/")
    assert phone_page.locator("#balance").inner_text() == "297"
    assert phone_page.locator("svg.chart").count() == 1
    _no_horizontal_scroll(phone_page)
    screenshot(phone_page, "points-my-points-phone")
    card = phone_page.locator("li.reward", has_text="图书馆纪念帆布袋")
    card.get_by_role("button", name="兑换").click()
    assert "兑换成功" in phone_page.locator(".flash-success").inner_text()
    assert phone_page.locator("#balance").inner_text() == "237"
    assert phone_page.locator("#held").inner_text() == "60"

    live_server.login_staff(page, "circulation")
    page.goto("/staff/points/")
    screenshot(page, "points-staff-index-desktop")
    page.locator("#to-hand-out").get_by_role("button", name="确认发放").click()
    assert page.locator(".flash-success").inner_text() == "已发放"
    with get_database(live_server.app).transaction() as s:
        account = ledger.account_for(s, reader_id)
        assert account is not None and (account.balance, account.held) == (237, 0)


def test_admin_adjusts_with_a_reason_and_sees_reports(page: Any, live_server: Any,
                                                      screenshot: Callable[..., Any]) -> None:
    _setup(live_server)
    live_server.login_staff(page, "admin")
    page.goto("/staff/points/")
    page.fill("#card", live_server.reader[0])
    page.keyboard.press("Enter")
    page.fill("input[name=points]", "20")
    page.click("form.adjust-form button[type=submit]")
    assert page.locator(".has-error").count() >= 1  # the reason is required; the number stays
    assert page.input_value("input[name=points]") == "20"
    page.fill("input[name=reason]", "志愿服务补录")
    page.click("form.adjust-form button[type=submit]")
    assert page.locator("#balance").inner_text() == "317"
    screenshot(page, "points-staff-ledger-desktop")
    page.goto("/staff/points/reports?month=2025-12")
    assert page.locator("svg.chart").count() == 1
    screenshot(page, "points-reports-desktop")
    page.goto("/staff/points/rules")
    screenshot(page, "points-rules-desktop")
