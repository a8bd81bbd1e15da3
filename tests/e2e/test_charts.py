"""The charts of library/charts.py on a phone, on the census, points and campaign pages: each
chart inside the screen, its text drawn at a readable size, the page without sideways scrolling.
Screenshots go to /tmp/e2e-shots."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from library.db import get_database
from library.models import Reader
from tests.ancient_books.factories import make_published
from tests.points.factories import bulk_history

# The smallest text a chart may draw on a 390 px phone (its 14 px axis figures, scaled down).
MIN_TEXT_PX = 11

SIZES = """() => [...document.querySelectorAll('svg.chart')].map(svg => {
  const box = svg.getBoundingClientRect();
  const scale = box.width / svg.viewBox.baseVal.width;
  const sizes = [...svg.querySelectorAll('text')].map(t => parseFloat(getComputedStyle(t).fontSize) * scale);
  return {left: box.left, right: box.right, smallest: Math.min(...sizes)};
})"""


def _charts_fit(page: Any, expected: int) -> None:
    charts = page.evaluate(SIZES)
    width = page.viewport_size["width"]
    assert len(charts) == expected
    for chart in charts:
        assert chart["left"] >= 0 and chart["right"] <= width, chart
        assert chart["smallest"] >= MIN_TEXT_PX, chart
    assert page.evaluate("document.documentElement.scrollWidth") <= width + 1


def test_charts_fit_a_phone(phone_page: Any, make_page: Callable[..., Any], live_server: Any,
                            screenshot: Callable[..., Any]) -> None:
    with get_database(live_server.app).transaction() as s:
        make_published(s, live_server.app, pages=2)
        reader = s.scalar(select(Reader).where(Reader.card_number == live_server.reader[0]))
        assert reader is not None
        bulk_history(s, reader.id, 120, start=dt.datetime(2025, 12, 1, 2, tzinfo=dt.UTC))
    live_server.login_staff(phone_page, "admin")
    for url, charts, name in (("/ancient-books/dashboard", 4, "charts-census-dashboard-phone"),
                              ("/ancient-books/statistics", 5, "charts-census-statistics-phone"),
                              ("/staff/points/reports", 1, "charts-points-reports-phone"),
                              ("/campaigns/stats", 1, "charts-campaign-stats-phone")):
        phone_page.goto(url)
        _charts_fit(phone_page, charts)
        screenshot(phone_page, name)
    reader_page = make_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    live_server.login_reader(reader_page)
    reader_page.goto("/points/")
    _charts_fit(reader_page, 1)
    assert reader_page.get_by_role("img", name="近 12 个月积分走势").count() == 1
    screenshot(reader_page, "charts-my-points-phone")
