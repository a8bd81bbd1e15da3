"""Journeys of the foundation in a real browser: staff and reader login, the language switch,
large-text mode, the phone layout, the admin and reader-desk pages. Screenshots go to
/tmp/e2e-shots (see conftest)."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from typing import Any

from library.db import get_database
from library.models import Reader


def _no_horizontal_scroll(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"] + 1, f"page is {width}px wide"


def test_staff_login(page: Any, live_server: Any, screenshot: Callable[..., Any]) -> None:
    page.goto("/staff/login")
    screenshot(page, "staff-login-desktop")
    page.fill("input[name=username]", live_server.staff["admin"][0])
    page.fill("input[name=password]", "wrong password")
    page.click("form button[type=submit].primary")
    assert page.locator(".flash-error").inner_text() == "账号或密码错误"
    assert page.input_value("input[name=username]") == live_server.staff["admin"][0]
    live_server.login_staff(page, "admin")
    assert page.url.endswith("/staff/")
    assert page.locator("h1").inner_text() == "工作台"
    assert page.locator(".mainnav").get_by_role("link", name="系统管理").is_visible()
    screenshot(page, "staff-home-desktop")


def test_circulation_librarian_sees_no_admin_link_and_gets_403(page: Any, live_server: Any) -> None:
    live_server.login_staff(page, "circulation")
    assert page.locator(".mainnav").get_by_role("link", name="系统管理").count() == 0
    response = page.goto("/admin/branches")
    assert response.status == 403
    assert "您没有权限访问此页面" in page.locator("h1").inner_text()


def test_reader_login_and_privacy(page: Any, live_server: Any, screenshot: Callable[..., Any]) -> None:
    page.goto("/")
    screenshot(page, "home-desktop")
    page.click("text=读者登录")
    screenshot(page, "reader-login-desktop")
    live_server.login_reader(page)
    assert page.url.endswith("/me")
    assert "王晓东" in page.locator("main").inner_text()
    keep = page.locator("input[name='privacy-keep_history']")
    assert not keep.is_checked()  # off by default
    keep.check()
    page.click("#privacy button[type=submit]")
    assert page.locator(".flash-success").inner_text() == "隐私设置已保存"
    assert page.locator("input[name='privacy-keep_history']").is_checked()
    screenshot(page, "reader-home-desktop")
    with get_database(live_server.app).Session() as session:
        reader = session.query(Reader).filter_by(card_number=live_server.reader[0]).one()
        assert reader.keep_history and not reader.show_on_leaderboards


def test_language_switch(page: Any, live_server: Any, screenshot: Callable[..., Any]) -> None:
    page.goto("/staff/login")
    assert page.locator("html").get_attribute("lang") == "zh-Hans"
    page.click("#lang-switch")
    page.wait_for_url("**/staff/login")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("h1").inner_text() == "Staff login"
    screenshot(page, "staff-login-en")
    # The choice sticks across pages, also on error pages.
    response = page.goto("/no-such-page")
    assert response.status == 404 and "Page not found" in page.locator("h1").inner_text()
    page.goto("/")
    page.click("#lang-switch")
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "zh-Hans"


def test_large_text_mode(page: Any, live_server: Any, screenshot: Callable[..., Any]) -> None:
    page.goto("/login")
    normal = page.evaluate("parseFloat(getComputedStyle(document.querySelector('h1')).fontSize)")
    page.click("#large-text-toggle")
    page.wait_for_url("**/login")
    assert "large-text" in (page.locator("body").get_attribute("class") or "")
    large = page.evaluate("parseFloat(getComputedStyle(document.querySelector('h1')).fontSize)")
    assert large >= normal * 1.25
    assert page.locator("#large-text-toggle").get_attribute("aria-pressed") == "true"
    screenshot(page, "reader-login-large-text")
    live_server.login_reader(page)  # the setting stays after logging in
    assert "large-text" in (page.locator("body").get_attribute("class") or "")
    page.click("#large-text-toggle")
    page.wait_for_load_state()
    assert "large-text" not in (page.locator("body").get_attribute("class") or "")


def test_phone_viewport_menu(phone_page: Any, live_server: Any, screenshot: Callable[..., Any]) -> None:
    page = phone_page
    page.goto("/")
    toggle = page.locator("label.nav-toggle-label")
    assert toggle.is_visible() and toggle.inner_text().strip() == "☰"
    assert not page.locator(".mainnav").is_visible()  # collapsed
    _no_horizontal_scroll(page)
    screenshot(page, "home-phone")
    toggle.click()
    assert page.locator(".mainnav").is_visible()
    screenshot(page, "home-phone-menu")
    page.locator(".mainnav").get_by_role("link", name="馆员登录").click()
    page.wait_for_url("**/staff/login")
    screenshot(page, "staff-login-phone")
    live_server.login_staff(page, "admin")
    page.locator("label.nav-toggle-label").click()
    page.locator(".mainnav").get_by_role("link", name="系统管理").click()
    page.wait_for_url("**/admin/")
    _no_horizontal_scroll(page)
    screenshot(page, "admin-index-phone")
    for path, name in (("/admin/branches", "admin-branches-phone"), ("/admin/coverage", "admin-coverage-phone"),
                       ("/staff/readers/?q=E2E", "readers-search-phone"), ("/staff/readers/new", "reader-new-phone")):
        page.goto(path)
        _no_horizontal_scroll(page)
        screenshot(page, name)


def test_admin_pages_desktop(page: Any, live_server: Any, screenshot: Callable[..., Any]) -> None:
    live_server.login_staff(page, "admin")
    page.goto("/admin/")
    screenshot(page, "admin-index-desktop")
    page.click("text=分馆与服务点")
    page.wait_for_url("**/admin/branches")
    assert page.locator("table").get_by_text("ZY01-01").is_visible()
    screenshot(page, "admin-branches-desktop")
    page.get_by_role("link", name="汽车路街道分馆").click()
    page.fill("#hours input[name=opens_6]", "")
    page.fill("#hours input[name=closes_6]", "")
    page.click("#hours button[type=submit]")
    assert page.locator(".flash-success").inner_text() == "开放时间已保存"
    page.fill("textarea[name='closed-days']", "2027-10-01..2027-10-03")
    page.fill("input[name='closed-reason']", "国庆节")
    page.click("#closed button[type=submit]")
    assert "已添加 3 个闭馆日" in page.locator(".flash-success").inner_text()
    screenshot(page, "admin-branch-edit-desktop")
    page.goto("/admin/townships")
    page.fill("input[name=code]", "430902100")
    page.fill("input[name=name]", "长春镇")
    page.fill("input[name=population]", "61000")
    page.click("form button.primary")
    page.fill("input[name='village-name']", "兴隆村")
    page.fill("input[name='village-population']", "3100")
    page.click("#villages button[type=submit]:has-text('新增')")
    assert page.locator("#villages input[value='兴隆村']").count() == 1
    screenshot(page, "admin-township-desktop")
    page.goto("/admin/coverage")
    assert "全区尚未达到规划目标" in page.locator("main").inner_text()
    screenshot(page, "admin-coverage-desktop")
    for path, name in (("/admin/staff", "admin-staff-desktop"), ("/admin/reader-categories", "admin-categories-desktop"),
                       ("/admin/audit", "admin-audit-desktop"), ("/admin/holidays", "admin-holidays-desktop")):
        page.goto(path)
        screenshot(page, name)


def test_register_reader_duplicate_card_keeps_the_form(page: Any, live_server: Any,
                                                       screenshot: Callable[..., Any]) -> None:
    live_server.login_staff(page, "circulation")
    page.goto("/staff/readers/new")
    page.fill("input[name=card_number]", live_server.reader[0])  # already taken
    page.fill("input[name=name]", "张一诺")
    page.select_option("select[name=category_code]", "child")
    page.fill("input[name=phone]", "13900000009")
    page.fill("input[name=pin]", "2468")
    page.click("form button.primary")
    error = page.locator(".field.has-error .error")
    assert f"读者证号 {live_server.reader[0]} 已被使用" in error.inner_text()
    assert page.input_value("input[name=name]") == "张一诺"
    assert page.input_value("select[name=category_code]") == "child"
    assert page.input_value("input[name=phone]") == "13900000009"
    screenshot(page, "reader-new-duplicate-desktop")
    page.fill("input[name=card_number]", "E2E0000099")
    page.fill("input[name=pin]", "2468")
    page.click("form button.primary")
    assert "已办理读者证 E2E0000099" in page.locator(".flash-success").inner_text()
    screenshot(page, "reader-detail-desktop")


def test_api_token_on_profile(page: Any, live_server: Any, screenshot: Callable[..., Any]) -> None:
    live_server.login_staff(page, "circulation")
    page.click("#my-account")
    page.fill("input[name='token-name']", "对账脚本")
    page.click("#tokens button.primary")
    token = page.input_value("#new-token")
    assert token.startswith("lib_")
    screenshot(page, "staff-profile-desktop")
    # The token alone (no browser cookies) opens the API.
    request = urllib.request.Request(f"{live_server.url}/api/v1/readers?q=E2E0000001",
                                     headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=20) as response:
        assert response.status == 200
        assert json.load(response)["readers"][0]["name"] == "王晓东"
