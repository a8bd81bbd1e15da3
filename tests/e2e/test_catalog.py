"""Cataloguing journeys in a real browser: a cataloguer creates a CNMARC book from the template
in the MARC editor, adds a copy, prints its label, then uploads a MARC file and watches the
import finish with its report; the record page on a phone. Screenshots go to /tmp/e2e-shots."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from library.db import get_database
from tests.catalog.factories import make_item, make_record
from tests.conftest import shared_file


def _no_horizontal_scroll(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"] + 1, f"page is {width}px wide"


def test_cataloguer_creates_a_book_adds_a_copy_and_prints_the_label(
        page: Any, live_server: Any, screenshot: Callable[..., Any]) -> None:
    live_server.login_staff(page, "cataloguer")
    page.goto("/staff/catalog/")
    page.get_by_role("link", name="新建 CNMARC 图书").click()
    rows = page.locator("tr.marc-row")
    tags = [rows.nth(i).locator("input[name=tag]").input_value() for i in range(rows.count())]
    title_row = rows.nth(tags.index("200"))
    title_row.locator("input[name=value]").fill("$a活着$Ahuo zhe$f余华著")
    rows.nth(tags.index("010")).locator("input[name=value]").fill("$a978-7-5404-6672-5$dCNY32.00")
    rows.nth(tags.index("690")).locator("input[name=value]").fill("$aI247.57$v5")
    rows.nth(tags.index("210")).locator("input[name=value]").fill("$a长沙$c湖南文艺出版社$d2012")
    page.get_by_role("button", name="添加字段").click()
    last = page.locator("tr.marc-row").last
    last.locator("input[name=tag]").fill("606")
    last.locator("input[name=ind1]").fill("0")
    last.locator("input[name=value]").fill("$a长篇小说$y中国$z当代")
    screenshot(page, "catalog-editor")
    page.get_by_role("button", name="保存").click()
    page.wait_for_selector("h1:has-text('活着')")
    assert "9787540466725" in page.content() and "I247.57" in page.content()
    page.get_by_role("link", name="添加复本").click()
    page.fill("#barcode", "ZY0099001")
    page.fill("#shelf_location", "成人借阅区")
    page.get_by_role("button", name="保存", exact=True).click()
    page.wait_for_selector("code:has-text('ZY0099001')")
    assert "在架" in page.content() and "新建" in page.content()
    screenshot(page, "catalog-record")
    page.get_by_role("link", name="打印条码标签").click()
    page.wait_for_selector(".label-sheet svg")
    assert page.locator(".label-sheet svg rect").count() > 20
    screenshot(page, "catalog-labels")


def test_upload_import_shows_progress_then_report(page: Any, live_server: Any,
                                                  screenshot: Callable[..., Any]) -> None:
    path = shared_file("marc", "BAD_pymarc_bad_records.mrc")
    live_server.login_staff(page, "cataloguer")
    page.goto("/staff/catalog/import")
    page.set_input_files("#file", str(path))
    page.get_by_role("button", name="开始导入").click()
    page.wait_for_selector("text=下载报告（CSV）", timeout=60_000)
    assert page.locator("#c-read").inner_text() == "8" and page.locator("#c-imported").inner_text() == "2"
    assert page.locator("table.responsive tbody tr").count() == 6
    screenshot(page, "catalog-import-report")


def test_record_page_on_a_phone(phone_page: Any, live_server: Any, screenshot: Callable[..., Any]) -> None:
    with get_database(live_server.app).transaction() as session:
        bib = make_record(session, "中国历史地理简编（修订本）", isbn="9787503717444", pinyin="zhong guo li shi di li jian bian")
        for n in range(3):
            make_item(session, record=bib, barcode=f"ZY00880{n}")
        rid = bib.id
    live_server.login_staff(phone_page, "cataloguer")
    phone_page.goto(f"/staff/catalog/records/{rid}")
    phone_page.wait_for_selector("h1")
    _no_horizontal_scroll(phone_page)
    screenshot(phone_page, "catalog-record-phone")
    phone_page.goto(f"/staff/catalog/records/{rid}/edit")
    _no_horizontal_scroll(phone_page)
    screenshot(phone_page, "catalog-editor-phone")
