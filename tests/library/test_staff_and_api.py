"""Staff administration (accounts, roles with branch scope, deactivation, passwords), reader
categories, the audit log filters, API tokens on the profile page and the readers API."""

from __future__ import annotations

import datetime as dt
from typing import Any

import jsonschema
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from library import audit, services
from library.db import get_database
from library.errors import ValidationFailed
from library.models import ApiToken, AuditEntry, Reader, ReaderCategory, StaffUser
from tests import factories


def _user(app: Flask, username: str) -> StaffUser:
    with get_database(app).Session() as session:
        user = session.scalars(select(StaffUser).where(StaffUser.username == username)).one()
        for role in user.roles:  # load the roles and their branches before the session closes
            role.branch  # noqa: B018
        return user


def test_admin_creates_a_branch_scoped_circulation_librarian(app: Flask, client: FlaskClient,
                                                             staff_login: Any) -> None:
    with get_database(app).transaction() as session:
        zy01 = factories.make_branch(session, code="ZY01")
        zy02 = factories.make_branch(session, code="ZY02")
        ids = (zy01.id, zy02.id)
    staff_login("admin")
    response = client.post("/admin/staff/new", data={
        "username": "liuyang", "display_name": "刘洋", "password": "short", "roles": ["circulation"]})
    assert response.status_code == 422 and 'value="liuyang"' in response.get_data(as_text=True)
    response = client.post("/admin/staff/new", data={
        "username": "liuyang", "display_name": "刘洋", "password": "long-enough-1", "roles": ["circulation"],
        "circulation_branches": [str(ids[0])]})
    assert response.status_code == 302
    user = _user(app, "liuyang")
    assert user.can_act_at("circulation", ids[0]) and not user.can_act_at("circulation", ids[1])
    dup = client.post("/admin/staff/new", data={"username": "liuyang", "password": "long-enough-1",
                                                 "roles": ["cataloguer"]})
    assert dup.status_code == 409 and "用户名 liuyang 已存在" in dup.get_data(as_text=True)
    # Widen the scope to both branches and add the cataloguer role.
    response = client.post(f"/admin/staff/{user.id}", data={
        "display_name": "刘洋", "roles": ["circulation", "cataloguer"],
        "circulation_branches": [str(i) for i in ids]})
    assert response.status_code == 302
    user = _user(app, "liuyang")
    assert user.role_names() == {"circulation", "cataloguer"}
    assert user.branch_ids_for("circulation") == set(ids)
    # The new librarian logs in and reaches the reader desk but not the admin pages.
    other = app.test_client()
    assert other.post("/staff/login", data={"username": "liuyang", "password": "long-enough-1"}).status_code == 302
    assert other.get("/staff/readers/").status_code == 200
    assert other.get("/admin/staff").status_code == 403


def test_deactivate_and_reset_password(app: Flask, client: FlaskClient, staff_login: Any) -> None:
    admin = staff_login("admin")
    with get_database(app).transaction() as session:
        target = factories.make_staff(session, role="cataloguer", username="bianmu")
        target_id = target.id
    other = app.test_client()
    assert other.post("/staff/login", data={"username": "bianmu", "password": factories.STAFF_PASSWORD}).status_code == 302
    assert client.post(f"/admin/staff/{target_id}/active", data={"active": "0"}).status_code == 302
    assert other.get("/staff/").status_code == 302  # the open session ends: sent to the login page
    again = app.test_client().post("/staff/login", data={"username": "bianmu", "password": factories.STAFF_PASSWORD})
    assert again.status_code == 401
    assert client.post(f"/admin/staff/{target_id}/active", data={"active": "1"}).status_code == 302
    assert client.post(f"/admin/staff/{target_id}/password", data={"pw-password": "1234"}).status_code == 422
    assert client.post(f"/admin/staff/{target_id}/password", data={"pw-password": "new-password-9"}).status_code == 302
    assert app.test_client().post("/staff/login", data={"username": "bianmu",
                                                        "password": "new-password-9"}).status_code == 302
    # An admin cannot lock themselves out, nor remove the last admin.
    response = client.post(f"/admin/staff/{admin.id}/active", data={"active": "0"}, follow_redirects=True)
    assert "不能停用自己的账号" in response.get_data(as_text=True)
    response = client.post(f"/admin/staff/{admin.id}", data={"roles": ["cataloguer"]})
    assert response.status_code == 422 and "最后一位系统管理员" in response.get_data(as_text=True)
    assert _user(app, admin.username).role_names() == {"admin"}


def test_last_admin_rules_in_services(app: Flask) -> None:
    with get_database(app).transaction() as session:
        a = factories.make_staff(session, role="admin")
        b = factories.make_staff(session, role="admin")
        services.set_staff_active(session, b, False, staff=a)
        with pytest.raises(ValidationFailed):
            services.set_staff_active(session, a, False)
        with pytest.raises(ValidationFailed):
            services.set_staff_roles(session, a, [])


def test_reader_categories_are_editable(app: Flask, client: FlaskClient, staff_login: Any) -> None:
    staff_login("admin")
    assert "成人读者" in client.get("/admin/reader-categories").get_data(as_text=True)
    assert client.post("/admin/reader-categories", data={"code": "student", "name": "学生读者",
                                                          "name_en": "Student", "sort_order": "6"}).status_code == 302
    assert client.post("/admin/reader-categories", data={"code": "adult", "name": "成年读者",
                                                          "name_en": "Adult", "sort_order": "1"}).status_code == 302
    assert client.post("/admin/reader-categories", data={"code": "学生", "name": "x",
                                                          "sort_order": "1"}).status_code == 422
    with get_database(app).transaction() as session:
        assert session.get(ReaderCategory, "adult").name == "成年读者"  # type: ignore[union-attr]
        factories.make_reader(session, category_code="child")
    client.post("/admin/reader-categories/child/delete")  # in use: refused
    client.post("/admin/reader-categories/student/delete")
    with get_database(app).Session() as session:
        codes = set(session.scalars(select(ReaderCategory.code)))
        assert "child" in codes and "student" not in codes


def test_audit_log_filters(app: Flask, client: FlaskClient, staff_login: Any) -> None:
    admin = staff_login("admin")
    with get_database(app).transaction() as session:
        zy = factories.make_branch(session, code="ZY")
        clerk = factories.make_staff(session, role="circulation", username="clerk")
        base = dt.datetime(2026, 3, 1, 2, 0, tzinfo=dt.UTC)
        audit.record(session, action="reader.register", staff=clerk, branch_id=zy.id, target_id="A1", now=base)
        audit.record(session, action="reader.update", staff=clerk, target_id="A2", now=base + dt.timedelta(days=2))
        audit.record(session, action="branch.update", staff=session.get(StaffUser, admin.id), target_id="A3",
                     now=base + dt.timedelta(days=5))
        zy_id, clerk_id = zy.id, clerk.id

    def targets(**params: Any) -> list[str]:
        html = client.get("/admin/audit", query_string=params).get_data(as_text=True)
        return [t for t in ("A1", "A2", "A3") if f" {t}</td>" in html]

    assert targets() == ["A1", "A2", "A3"]
    assert targets(action="reader.") == ["A1", "A2"]
    assert targets(staff=clerk_id) == ["A1", "A2"]
    assert targets(branch=zy_id) == ["A1"]
    assert targets(**{"from": "2026-03-03"}) == ["A2", "A3"]
    assert targets(**{"from": "2026-03-01", "to": "2026-03-03"}) == ["A1", "A2"]
    assert "日期格式有误" in client.get("/admin/audit", query_string={"from": "March"}).get_data(as_text=True)


def _token(app: Flask, client: FlaskClient, name: str = "脚本") -> str:
    response = client.post("/staff/profile/tokens", data={"token-name": name})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    return html.split('id="new-token"')[0].rsplit('value="', 1)[1].split('"')[0]


def test_api_token_created_on_profile_page_shown_once_and_revoked(app: Flask, client: FlaskClient,
                                                                  staff_login: Any) -> None:
    staff_login("circulation", branch_code="ZY")
    token = _token(app, client)
    assert token.startswith("lib_")
    assert token not in client.get("/staff/profile").get_data(as_text=True)  # shown once only
    with get_database(app).Session() as session:
        row = session.scalars(select(ApiToken)).one()
        assert row.token_hash != token and token not in row.token_hash
        token_id = row.id
    api = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    assert api.get("/api/v1/readers?q=x", headers=headers).status_code == 200
    with get_database(app).Session() as session:
        assert session.get(ApiToken, token_id).last_used_at is not None  # type: ignore[union-attr]
    assert client.post(f"/staff/profile/tokens/{token_id}/revoke").status_code == 302
    assert api.get("/api/v1/readers?q=x", headers=headers).status_code == 401
    # Another user cannot revoke it (nor see it).
    with get_database(app).transaction() as session:
        factories.make_staff(session, role="admin", username="other")
    other = app.test_client()
    other.post("/staff/login", data={"username": "other", "password": factories.STAFF_PASSWORD})
    assert other.post(f"/staff/profile/tokens/{token_id}/revoke").status_code == 404


def test_readers_api_with_a_real_bearer_token(app: Flask, client: FlaskClient, staff_login: Any) -> None:
    with get_database(app).transaction() as session:
        factories.make_branch(session, code="ZY", kind="central")
    staff_login("circulation", branch_code="ZY")
    token = _token(app, client)
    api = app.test_client()  # no session cookie: only the token
    auth = {"Authorization": f"Bearer {token}"}
    body = {"card_number": "ZY2026888001", "name": "赵子涵", "category": "child", "home_branch": "ZY",
            "pin": "1357", "phone": "13700000001", "national_id": "430902201501011234"}
    created = api.post("/api/v1/readers", json=body, headers=auth)
    assert created.status_code == 201, created.get_json()
    data = created.get_json()
    assert data["card_number"] == "ZY2026888001" and data["national_id_last4"] == "1234"
    assert created.headers["Location"].endswith("/api/v1/readers/ZY2026888001")
    dup = api.post("/api/v1/readers", json=body | {"national_id": None}, headers=auth)
    assert dup.status_code == 409 and dup.get_json()["error"]["code"] == "duplicate"
    bad = api.post("/api/v1/readers", json={"card_number": "X", "name": "x", "home_branch": "NOPE", "pin": "1234"},
                   headers=auth)
    assert bad.status_code == 422 and bad.get_json()["error"]["code"] == "validation_failed"
    assert api.post("/api/v1/readers", json={**body, "card_number": "Y", "admin": True},
                    headers=auth).status_code == 422
    assert api.get("/api/v1/readers/ZY2026888001", headers=auth).get_json()["name"] == "赵子涵"
    found = api.get("/api/v1/readers", query_string={"q": "430902201501011234"}, headers=auth).get_json()
    assert [r["card_number"] for r in found["readers"]] == ["ZY2026888001"]
    assert api.get("/api/v1/readers", headers=auth).status_code == 422  # q is required
    assert api.get("/api/v1/readers/NOPE", headers=auth).get_json()["error"]["code"] == "not_found"
    # Without a token or with a wrong one: 401 in JSON.
    anon = api.get("/api/v1/readers?q=赵", headers={"Authorization": "Bearer lib_wrong"})
    assert anon.status_code == 401 and "error" in anon.get_json()
    with get_database(app).Session() as session:
        assert session.scalar(select(func.count()).select_from(Reader)) == 1
        assert session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "reader.register")) == 1
    # The answers match the OpenAPI document.
    doc = app.test_client().get("/api/v1/openapi.json").get_json()
    schema = {"$ref": "#/components/schemas/Reader", "components": doc["components"]}
    jsonschema.validate(data, schema)
    jsonschema.validate(body, {"$ref": "#/components/schemas/ReaderCreate", "components": doc["components"]})


def test_readers_api_roles_and_session_writes(app: Flask, client: FlaskClient, staff_login: Any) -> None:
    with get_database(app).transaction() as session:
        factories.make_branch(session, code="ZY", kind="central")
    staff_login("cataloguer")
    token = _token(app, client)
    api = app.test_client()
    assert api.get("/api/v1/readers?q=x", headers={"Authorization": f"Bearer {token}"}).status_code == 403
    assert client.get("/api/v1/readers?q=x").status_code == 403
    # A session user must send JSON (a cross-site form post is refused).
    librarian = app.test_client()
    with get_database(app).transaction() as session:
        factories.make_staff(session, role="circulation", username="desk", branch_code="ZY")
    librarian.post("/staff/login", data={"username": "desk", "password": factories.STAFF_PASSWORD})
    form_post = librarian.post("/api/v1/readers", data={"card_number": "F1", "name": "x", "home_branch": "ZY",
                                                        "pin": "1234"})
    assert form_post.status_code == 415
    json_post = librarian.post("/api/v1/readers", json={"card_number": "F1", "name": "钱多多", "home_branch": "ZY",
                                                        "pin": "1234"})
    assert json_post.status_code == 201


def test_openapi_document_describes_branches_and_readers(client: FlaskClient) -> None:
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    for path, methods in {"/branches": ["get"], "/branches/{code}": ["get"], "/readers": ["get", "post"],
                          "/readers/{card_number}": ["get"]}.items():
        for method in methods:
            op = doc["paths"][path][method]
            assert op["summary"] and op["operationId"] and "responses" in op
    assert doc["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    # Every $ref points at something that exists.
    import json

    text = json.dumps(doc)
    for ref in {part.split('"')[0] for part in text.split('"$ref": "#/')[1:]}:
        node: Any = doc
        for key in ref.split("/"):
            node = node[key]
        assert node


def test_api_token_cli(app: Flask, runner: Any) -> None:
    with get_database(app).transaction() as session:
        factories.make_staff(session, role="circulation", username="script", branch_code="ZY")
    result = runner.invoke(args=["user", "token", "script", "--name", "夜间对账"])
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    assert app.test_client().get("/api/v1/readers?q=x", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert runner.invoke(args=["user", "token", "ghost"]).exit_code != 0


def test_user_create_cli(app: Flask, runner: Any) -> None:
    with get_database(app).transaction() as session:
        factories.make_branch(session, code="ZY01")
    result = runner.invoke(args=["user", "create", "fenguan", "--password", "branch-pass-1", "--name", "分馆馆员",
                                 "--role", "circulation:ZY01", "--role", "ancient_books_reviewer"])
    assert result.exit_code == 0, result.output
    user = _user(app, "fenguan")
    assert user.role_names() == {"circulation", "ancient_books_reviewer"} and user.display_name == "分馆馆员"
    assert [r.branch.code for r in user.roles if r.role == "circulation"] == ["ZY01"]  # type: ignore[union-attr]
    bad = runner.invoke(args=["user", "create", "x", "--password", "long-enough-1", "--role", "circulation:NOPE"])
    assert bad.exit_code != 0 and "NOPE" in bad.output
    short = runner.invoke(args=["user", "create", "y", "--password", "short", "--role", "admin"])
    assert short.exit_code != 0 and "8" in short.output
