"""Circulation journeys in a real browser: the keyboard-first counter (scan a card, scan items,
Enter each time), check-in saying what to do next, a reader placing and cancelling a hold."""

from __future__ import annotations

from typing import Any

from library.db import get_database
from library.models import Branch
from tests.circulation.factories import make_item, make_record


def _items(live: Any) -> None:
    from sqlalchemy import select

    with get_database(live.app).transaction() as s:
        zy = s.scalars(select(Branch).where(Branch.code == "ZY")).one()
        zy01 = s.scalars(select(Branch).where(Branch.code == "ZY01")).one()
        rec = make_record(s, title="平凡的世界")
        make_item(s, branch=zy, record=rec, barcode="E2EITEM01")
        make_item(s, branch=zy01, record=make_record(s, title="活着"), barcode="E2EITEM02")
        make_item(s, branch=zy, record=make_record(s, title="围城"), barcode="E2EITEM03")


def test_counter_by_keyboard(live_server: Any, page: Any, screenshot: Any) -> None:
    _items(live_server)
    live_server.login_staff(page, "circulation")
    page.goto("/circulation/")
    # the scanner types the card number and presses Enter into the field that has the focus
    # (wait for autofocus: on a busy machine keys typed before it land nowhere)
    page.wait_for_function("document.activeElement && document.activeElement.id === 'card'")
    page.keyboard.type("E2E0000001")
    page.keyboard.press("Enter")
    page.wait_for_selector("#no-blocks")
    for barcode in ("E2EITEM01", "E2EITEM02"):
        page.wait_for_function("document.activeElement && document.activeElement.id === 'barcode'")
        page.keyboard.type(barcode)  # the barcode field has the focus after every scan
        page.keyboard.press("Enter")
        page.wait_for_selector(f"text={barcode}")
    assert page.locator("#loans-h").inner_text().endswith("（2）")
    screenshot(page, "circulation-counter")
    page.goto("/circulation/checkin")
    page.wait_for_function("document.activeElement && document.activeElement.id === 'barcode'")
    page.keyboard.type("E2EITEM02")  # belongs to ZY01: returned at ZY it goes home
    page.keyboard.press("Enter")
    page.wait_for_selector("#next-step")
    assert "汽车路街道分馆" in page.locator("#next-step").inner_text()
    screenshot(page, "circulation-checkin")


def test_reader_places_and_cancels_a_hold(live_server: Any, page: Any, phone_page: Any, screenshot: Any) -> None:
    _items(live_server)
    from sqlalchemy import select

    from catalog.models import BibRecord

    with get_database(live_server.app).transaction() as s:
        record_id = s.scalars(select(BibRecord.id).where(BibRecord.title == "活着")).one()
    live_server.login_reader(phone_page)
    phone_page.goto(f"/my/holds/place/{record_id}")
    phone_page.select_option("select[name=pickup_branch]", label="资阳区图书馆")
    phone_page.click("form button[type=submit].primary")
    phone_page.wait_for_url("**/my/holds")
    assert "活着" in phone_page.content()
    screenshot(phone_page, "circulation-my-holds-phone")
    phone_page.click("text=取消预约")
    phone_page.wait_for_selector("text=预约已取消")


def test_rules_tester_stats_and_transfers(live_server: Any, page: Any, phone_page: Any, screenshot: Any) -> None:
    _items(live_server)
    live_server.login_staff(page, "admin")
    page.goto("/circulation/rules")
    page.select_option("#reader_category_code", "child")
    page.click("#tester button[type=submit]")
    page.wait_for_selector("#tested-rule")
    assert "*|child|*" in page.locator("#tested-rule").inner_text()
    screenshot(page, "circulation-rules")
    live_server.login_staff(phone_page, "circulation")
    phone_page.goto("/circulation/")
    phone_page.fill("#card", "E2E0000001")
    phone_page.press("#card", "Enter")
    phone_page.fill("#barcode", "E2EITEM02")
    phone_page.press("#barcode", "Enter")
    phone_page.wait_for_selector("text=E2EITEM02")
    screenshot(phone_page, "circulation-counter-phone")
    phone_page.goto("/circulation/checkin")
    phone_page.fill("#barcode", "E2EITEM02")
    phone_page.press("#barcode", "Enter")
    phone_page.wait_for_selector("#next-step")
    phone_page.goto("/circulation/transfers")
    assert "E2EITEM02" in phone_page.locator("main").inner_text()
    screenshot(phone_page, "circulation-transfers-phone")
    page.goto("/circulation/stats")
    assert page.locator("svg.chart").count() == 1
    screenshot(page, "circulation-stats")


def test_circulation_staff_pages_fit_a_phone(live_server: Any, page: Any, phone_page: Any, screenshot: Any) -> None:
    """The counter, the pull list and the statistics on a desktop and on a 390 px phone: nothing wider
    than the screen, no text smaller than 12 px, the chart with its figures."""
    _items(live_server)
    from sqlalchemy import select

    from catalog.models import BibRecord
    from circulation.services import place_hold
    from library import clock

    with get_database(live_server.app).transaction() as s:
        zy, zy01 = (s.scalars(select(Branch).where(Branch.code == code)).one() for code in ("ZY", "ZY01"))
        for title, pickup in (("平凡的世界", zy), ("围城", zy01)):  # copies on ZY's shelf, one sent away
            record_id = s.scalars(select(BibRecord.id).where(BibRecord.title == title)).one()
            place_hold(s, card_number="E2E0000002", record_id=record_id, pickup_branch=pickup, now=clock.now())
    too_small = """() => [...document.querySelectorAll('main *')].filter(e => e.childNodes.length
        && [...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim())
        && e.getBoundingClientRect().width > 0
        && parseFloat(getComputedStyle(e).fontSize) * (e.closest('svg') ? e.closest('svg').getBoundingClientRect().width
           / e.closest('svg').viewBox.baseVal.width : 1) < 12).map(e => e.textContent.trim().slice(0, 30))"""
    overflow = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    for p, suffix in ((page, ""), (phone_page, "-phone")):
        live_server.login_staff(p, "circulation")
        p.goto("/circulation/")
        p.fill("#card", "E2E0000001")
        p.press("#card", "Enter")
        if p is page:  # one loan, lent on the desktop, listed on both
            p.fill("#barcode", "E2EITEM02")
            p.press("#barcode", "Enter")
        p.wait_for_selector("text=E2EITEM02")
        for path, name in (("/circulation/", "counter"), ("/circulation/pull-list", "pull-list"),
                           ("/circulation/stats", "stats")):
            if path != "/circulation/":
                p.goto(path)
            screenshot(p, f"circulation-look-{name}{suffix}")
            assert p.evaluate(overflow) <= 0, (name, suffix)
            assert p.evaluate(too_small) == [], (name, suffix)
            if name == "pull-list":
                assert "平凡的世界" in p.locator("main").inner_text()
            if name != "stats":  # no link of the branch bar broken across two lines (还/书)
                assert p.evaluate("() => [...document.querySelectorAll('.circ-branchbar a')]"
                                  ".filter(a => a.getClientRects().length > 1).length") == 0, (name, suffix)
            if name == "counter" and p is page:  # the loans table keeps its grid: the actions cell fills its row
                assert p.evaluate("() => { const td = document.querySelector('td.actions'); return"
                                  " td.getBoundingClientRect().height === td.parentElement.getBoundingClientRect().height }")
        assert (p.locator("svg.chart-lines desc").text_content() or "").startswith("借出: ")
