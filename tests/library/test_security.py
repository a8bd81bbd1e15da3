"""Security checks: CSRF on forms, role gates on the admin pages, login rate limits, safe
``next=`` redirects, error pages in both languages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from library.db import get_database
from library.views import safe_next_url
from tests import factories

ADMIN_PAGES = ["/admin/", "/admin/branches", "/admin/branches/new", "/admin/holidays", "/admin/townships",
               "/admin/coverage", "/admin/staff", "/admin/staff/new", "/admin/reader-categories", "/admin/audit"]


def _csrf_token(html: str) -> str:
    return html.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]


def test_csrf_is_enforced_on_forms_when_enabled(make_app: Callable[..., Flask], app: Flask) -> None:
    secured = make_app(WTF_CSRF_ENABLED=True)
    with get_database(secured).transaction() as session:
        reader = factories.make_reader(session)
        factories.make_staff(session, role="admin", username="boss")
    client = secured.test_client()
    # Without the token the login form is refused and nothing happens.
    refused = client.post("/login", data={"card_number": reader.card_number, "pin": factories.READER_PIN})
    assert refused.status_code == 400
    # With the token from the form the same post succeeds.
    token = _csrf_token(client.get("/login").get_data(as_text=True))
    ok = client.post("/login", data={"card_number": reader.card_number, "pin": factories.READER_PIN,
                                     "csrf_token": token})
    assert ok.status_code == 302
    # A logged-in admin's state-changing form (holiday closing) is refused without the token too.
    admin = secured.test_client()
    admin_token = _csrf_token(admin.get("/staff/login").get_data(as_text=True))
    assert admin.post("/staff/login", data={"username": "boss", "password": factories.STAFF_PASSWORD,
                                            "csrf_token": admin_token}).status_code == 302
    assert admin.post("/admin/holidays", data={"days": "2027-10-01", "reason": "x"}).status_code == 400
    assert admin.post("/logout").status_code == 400  # even logging out needs the token
    page_token = _csrf_token(admin.get("/admin/holidays").get_data(as_text=True))
    assert admin.post("/admin/holidays", data={"days": "2027-10-01", "reason": "x",
                                               "csrf_token": page_token}).status_code == 302


@pytest.mark.parametrize("role", ["circulation", "cataloguer", "organiser", "ancient_books"])
def test_non_admin_staff_get_403_on_every_admin_page(client: FlaskClient, staff_login: Any, role: str) -> None:
    staff_login(role, branch_code="ZY" if role == "circulation" else None)
    for url in ADMIN_PAGES:
        response = client.get(url)
        assert response.status_code == 403, url
        assert "您没有权限访问此页面" in response.get_data(as_text=True)
    assert client.post("/admin/holidays", data={"days": "2027-10-01"}).status_code == 403


def test_readers_and_anonymous_users_cannot_reach_admin_pages(app: Flask, client: FlaskClient,
                                                              reader_login: Any) -> None:
    anonymous = app.test_client().get("/admin/branches")
    assert anonymous.status_code == 302 and "/staff/login" in anonymous.headers["Location"]
    reader_login()
    assert client.get("/admin/branches").status_code == 403


def test_wrong_staff_password_repeated_is_rate_limited(app: Flask, client: FlaskClient) -> None:
    with get_database(app).transaction() as session:
        factories.make_staff(session, role="admin", username="target")
    statuses = [client.post("/staff/login", data={"username": "target", "password": "guess"}).status_code
                for _ in range(6)]
    assert statuses == [401] * 5 + [429]
    blocked = client.post("/staff/login", data={"username": "TARGET", "password": factories.STAFF_PASSWORD})
    assert blocked.status_code == 429  # case does not get around it
    assert "登录失败次数过多" in blocked.get_data(as_text=True)


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "\\\\evil",
                                    "javascript:alert(1)", "/ok\r\nSet-Cookie: x=1", "http:/evil"])
def test_login_next_is_never_an_open_redirect(app: Flask, client: FlaskClient, target: str) -> None:
    assert not safe_next_url(target)
    with get_database(app).transaction() as session:
        reader = factories.make_reader(session)
    response = client.post("/login", query_string={"next": target},
                           data={"card_number": reader.card_number, "pin": factories.READER_PIN})
    assert response.status_code == 302
    assert response.headers["Location"] == "/me"


def test_login_next_to_a_page_of_the_site_is_followed(app: Flask, client: FlaskClient) -> None:
    assert safe_next_url("/staff/readers/?q=%E7%8E%8B")
    with get_database(app).transaction() as session:
        factories.make_staff(session, role="circulation", username="desk", branch_code="ZY")
    response = client.post("/staff/login", data={"username": "desk", "password": factories.STAFF_PASSWORD,
                                                  "next": "/staff/readers/?q=1"})
    assert response.headers["Location"] == "/staff/readers/?q=1"


def test_error_pages_in_both_languages(make_app: Callable[..., Flask], app: Flask, staff_login: Any,
                                       client: FlaskClient) -> None:
    failing = make_app(PROPAGATE_TEST_ERRORS=False)

    @failing.route("/boom")
    def boom() -> str:
        raise RuntimeError("a bug")

    for lang, texts in {"zh_Hans": ("找不到您要的页面", "系统出错了", 'lang="zh-Hans"'),
                        "en": ("Page not found", "Something went wrong", 'lang="en"')}.items():
        c = failing.test_client()
        c.get(f"/lang/{lang}")
        nf = c.get("/no/such/page")
        assert nf.status_code == 404 and texts[0] in nf.get_data(as_text=True) and texts[2] in nf.get_data(as_text=True)
        err = c.get("/boom")
        assert err.status_code == 500 and texts[1] in err.get_data(as_text=True)
        assert "a bug" not in err.get_data(as_text=True)  # no internals shown
    staff_login("cataloguer")
    client.get("/lang/en")
    forbidden = client.get("/admin/")
    assert forbidden.status_code == 403 and "You are not allowed to open this page" in forbidden.get_data(as_text=True)
    client.get("/lang/zh_Hans")
    assert "您没有权限访问此页面" in client.get("/admin/").get_data(as_text=True)
    # The API answers errors in JSON.
    api = client.get("/api/v1/no-such-thing")
    assert api.status_code == 404 and api.get_json()["error"]["code"] == "not_found"


def test_every_post_form_of_the_core_pages_carries_a_csrf_token(make_app: Callable[..., Flask], app: Flask) -> None:
    import re

    secured = make_app(WTF_CSRF_ENABLED=True)
    with get_database(secured).transaction() as session:
        branch = factories.make_branch(session, code="ZY", kind="central")
        reader = factories.make_reader(session, home_branch=branch)
        boss = factories.make_staff(session, role="admin", username="boss")
        from library import services

        t = services.create_township(session, code="1", name="甲镇")
        services.create_village(session, t, name="甲村")
        ids = (branch.id, reader.id, t.id, boss.id)
        card = reader.card_number
    staff = secured.test_client()
    token = _csrf_token(staff.get("/staff/login").get_data(as_text=True))
    staff.post("/staff/login", data={"username": "boss", "password": factories.STAFF_PASSWORD, "csrf_token": token})
    pages = ["/", "/staff/", "/staff/profile", "/staff/readers/", "/staff/readers/new", f"/staff/readers/{ids[1]}",
             f"/staff/readers/{ids[1]}/edit", *ADMIN_PAGES, f"/admin/branches/{ids[0]}", f"/admin/townships/{ids[2]}",
             f"/admin/staff/{ids[3]}"]
    checked = 0
    for url in pages:
        response = staff.get(url)
        assert response.status_code == 200, url
        html = response.get_data(as_text=True)
        for form in re.findall(r"<form[^>]*method=\"post\"[^>]*>.*?</form>", html, flags=re.S):
            assert re.search(r'name="([a-z]+-)?csrf_token"', form), (url, form[:200])
            checked += 1
    reader_client = secured.test_client()
    token = _csrf_token(reader_client.get("/login").get_data(as_text=True))
    assert reader_client.post("/login", data={"card_number": card, "pin": factories.READER_PIN,
                                              "csrf_token": token}).status_code == 302
    reader_forms = re.findall(r"<form[^>]*method=\"post\"[^>]*>.*?</form>",
                              reader_client.get("/me").get_data(as_text=True), flags=re.S)
    assert len(reader_forms) >= 4  # logout, large text, privacy, PIN
    assert all(re.search(r'name="([a-z]+-)?csrf_token"', f) for f in reader_forms)
    assert checked > 30
