"""Reader search journeys in a real browser: search from the home page, narrow by a facet,
open the record page; the same on a phone. Screenshots go to /tmp/e2e-shots."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from catalog import search
from library.db import get_database
from library.models import Branch
from tests.search.factories import cnmarc, make_item, make_record, marc21


def _no_horizontal_scroll(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"] + 1, f"page is {width}px wide"


def _shelf(live_server: Any) -> None:
    from sqlalchemy import select

    with get_database(live_server.app).transaction() as s:
        branches = {b.code: b for b in s.scalars(select(Branch))}
        central, street = branches["ZY"], branches["ZY01"]
        books = [
            cnmarc("論語譯注", pinyin="lun yu yi zhu", authors=("楊伯峻",), publisher="中华书局", year=1980, clc="B222.2",
                   subjects=("儒家",)),
            cnmarc("论语别裁", authors=("南怀瑾",), publisher="复旦大学出版社", year=2002, clc="B222.2", subjects=("儒家",)),
            cnmarc("论语今读", authors=("李泽厚",), publisher="生活·读书·新知三联书店", year=2004, clc="B222.2"),
            cnmarc("孔子与论语", authors=("钱穆",), publisher="九州出版社", year=2011, clc="B222.2"),
            marc21("The Analects of Confucius (Lunyu)", author="Waley, Arthur", year=1989, clc="B222.2"),
        ]
        for i, rec in enumerate(books):
            bib = make_record(s, rec)
            make_item(s, bib, central, call_number=f"B222.2/{i + 1}")
            make_item(s, bib, street, status="on_loan" if i % 2 else "available", call_number=f"B222.2/{i + 1}")
    # load the dictionaries and build the index now, not within the browser's time-out
    search.apply_outbox(live_server.app)


def test_reader_searches_from_the_home_page_and_opens_a_record(
        page: Any, live_server: Any, screenshot: Callable[..., Any]) -> None:
    _shelf(live_server)
    page.goto("/")
    page.fill("input[name=q]", "論語")
    page.keyboard.press("Enter")
    page.wait_for_selector("h1.result-count")
    assert "共找到 4 条记录" in page.inner_text("h1.result-count")  # 论语 and 論語 alike
    assert page.locator("ol.hits li.hit mark").count() >= 4
    screenshot(page, "opac-results")
    page.locator("aside.facets a", has_text="1980s").click()
    page.wait_for_selector("text=共找到 1 条记录")
    page.locator("ol.hits a").first.click()
    page.wait_for_selector("h2#copies-heading")
    assert "汽车路街道分馆" in page.content()
    screenshot(page, "opac-record")


def test_search_on_a_phone(phone_page: Any, live_server: Any, screenshot: Callable[..., Any]) -> None:
    _shelf(live_server)
    phone_page.goto("/opac/search?q=ly")
    phone_page.wait_for_selector("h1.result-count")
    assert "共找到" in phone_page.inner_text("h1.result-count")
    _no_horizontal_scroll(phone_page)
    screenshot(phone_page, "opac-results-phone")
    phone_page.locator("ol.hits a").first.click()
    phone_page.wait_for_selector("h2#copies-heading")
    _no_horizontal_scroll(phone_page)
    screenshot(phone_page, "opac-record-phone")
    phone_page.goto("/opac/advanced")
    _no_horizontal_scroll(phone_page)
    screenshot(phone_page, "opac-advanced-phone")
