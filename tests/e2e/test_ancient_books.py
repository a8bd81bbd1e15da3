"""Journeys of the ancient-book census in a real browser: a registrar registers a book (the
form keeps what was typed after an error), submits it, a reviewer approves it; a reader pages
through a published book in the viewer; the census pages fit a phone."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from library.db import get_database
from tests.ancient_books.factories import make_census, make_published


def _no_horizontal_scroll(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"] + 1, f"page is {width}px wide"


def test_register_submit_and_approve(page: Any, make_page: Callable[..., Any], live_server: Any,
                                     screenshot: Callable[..., Any]) -> None:
    live_server.login_staff(page, "ancient_books")
    page.goto("/ancient-books/new")
    page.fill("input[name=title]", "湘軍志")
    page.fill("input[name=juan]", "十六卷")
    page.fill("input[name='authors-0-dynasty']", "清")
    page.fill("input[name='authors-0-name']", "王闓運")
    page.select_option("select[name='authors-0-role']", "撰")
    page.fill("input[name=edition_text]", "明萬曆間刻本")
    page.wait_for_function("document.getElementById('edition-preview').textContent.includes('1573')")
    assert "1620" in page.inner_text("#edition-preview")
    page.fill("input[name=edition_text]", "清光緒九十年刻本")
    page.wait_for_function("document.getElementById('edition-preview').textContent.includes('没有九十年')")
    page.select_option("select[name=grade_code]", "4")
    page.select_option("select[name=grade_class]", "甲")
    page.check("input[name=damage_types][value=stain]")
    page.click("form.census-form button[type=submit].primary")
    assert "没有九十年" in page.content() and "四级古籍（普本）不分等次" in page.content()
    assert page.input_value("input[name=title]") == "湘軍志"
    assert page.input_value("input[name='authors-0-name']") == "王闓運"
    assert page.is_checked("input[name=damage_types][value=stain]")
    screenshot(page, "census-form-errors")
    page.fill("input[name=edition_text]", "清光緒十二年刻本")
    page.select_option("select[name=grade_class]", "")
    page.click("form.census-form button[type=submit].primary")
    page.wait_for_url("**/ancient-books/r/*")
    number = page.url.rsplit("/", 1)[1]
    assert "1886" in page.content() and "丙戌" in page.content()
    page.get_by_role("button", name="提交审核").click()
    assert "待审核" in page.content()

    reviewer = make_page()
    live_server.login_staff(reviewer, "ancient_books_reviewer")
    reviewer.goto("/ancient-books/review")
    reviewer.get_by_role("link", name=number).click()
    reviewer.fill("textarea[name=comment]", "著录完整")
    reviewer.get_by_role("button", name="审核通过").click()
    reviewer.goto(f"/ancient-books/r/{number}")
    assert "已审核" in reviewer.content() and "著录完整" in reviewer.content()
    screenshot(reviewer, "census-approved")


def test_reader_pages_through_a_published_book(page: Any, live_server: Any, screenshot: Callable[..., Any]) -> None:
    with get_database(live_server.app).transaction() as session:
        number = make_published(session, live_server.app, pages=3).census_no
    page.goto("/guji/")
    page.locator(".published-list a").first.click()
    assert page.locator("#pageinfo").inner_text() == "1 / 3"
    page.click("#next")
    assert page.locator("#pageinfo").inner_text() == "2 / 3"
    assert page.locator("#caption").inner_text() == "第2叶"
    visible = page.locator("#viewer figure img:visible")
    assert visible.count() == 1
    assert visible.evaluate("img => img.complete && img.naturalWidth") == 120
    page.click("#prev")
    assert page.locator("#pageinfo").inner_text() == "1 / 3"
    screenshot(page, f"viewer-{number}")


def test_census_pages_fit_a_phone(phone_page: Any, live_server: Any, screenshot: Callable[..., Any]) -> None:
    with get_database(live_server.app).transaction() as session:
        number = make_census(session, live_server.app).census_no
        published = make_published(session, live_server.app, pages=2).census_no
    live_server.login_staff(phone_page, "ancient_books")
    for url in ("/ancient-books/", f"/ancient-books/r/{number}", f"/ancient-books/r/{published}",
                "/ancient-books/new", "/ancient-books/digitization", "/ancient-books/dashboard",
                "/ancient-books/statistics", f"/iiif/{published}/"):
        phone_page.goto(url)
        _no_horizontal_scroll(phone_page)
    screenshot(phone_page, "census-viewer-phone")
