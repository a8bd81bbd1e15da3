"""Journeys of the foundation in a real browser: logins, language, large text, phone layout."""

from __future__ import annotations

from typing import Any


def test_staff_login(page: Any, live_server: Any) -> None:
    live_server.login_staff(page, "admin")
    assert page.url.endswith("/staff/")
    assert page.locator("h1").inner_text() == "工作台"
