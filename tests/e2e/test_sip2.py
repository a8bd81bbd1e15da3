"""Kiosk accounts in a real browser: an admin adds a kiosk, the list shows it (desktop and
phone), and the new account logs in to a live SIP2 server."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.sip2.factories import RawKiosk, running_server


def test_admin_adds_a_kiosk_that_then_logs_in(page: Any, phone_page: Any, live_server: Any,
                                              screenshot: Callable[..., Any]) -> None:
    live_server.login_staff(page, "admin")
    page.goto("/admin/")
    page.get_by_role("link", name="自助借还机（SIP2）账号").click()
    assert page.locator("h1").inner_text() == "自助借还机（SIP2）账号"
    page.get_by_role("link", name="新增设备账号").click()
    page.fill("input[name=sip_login]", "ZY-SC09")
    page.fill("input[name=password]", "abc")  # too short: the form comes back with what was typed
    page.select_option("select[name=charset]", "gbk")
    page.fill("input[name=description]", "总馆三楼自助借还机")
    page.click("form button[type=submit].primary")
    assert page.input_value("input[name=sip_login]") == "ZY-SC09"
    assert page.input_value("input[name=description]") == "总馆三楼自助借还机"
    assert page.locator(".field.has-error").count() == 1
    screenshot(page, "sip2-kiosk-form-error")
    page.fill("input[name=password]", "kiosk-pass-09")
    page.click("form button[type=submit].primary")
    assert page.url.endswith("/admin/sip2/kiosks")
    assert "ZY-SC09" in page.locator("table").inner_text()
    screenshot(page, "sip2-kiosks-desktop")

    live_server.login_staff(phone_page, "admin")
    phone_page.goto("/admin/sip2/kiosks")
    width = phone_page.evaluate("document.documentElement.scrollWidth")
    assert width <= phone_page.viewport_size["width"] + 1
    screenshot(phone_page, "sip2-kiosks-phone")

    with running_server(live_server.app) as server, RawKiosk(server.port, charset="gbk") as kiosk:
        assert kiosk.login("ZY-SC09", "kiosk-pass-09").fixed["all"] == "1"
