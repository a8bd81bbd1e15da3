"""Readers at the desk (register, find, edit, lost card, replacement, PIN) and on their own page
(privacy choices, PIN change)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from library import services
from library.db import get_database
from library.errors import DuplicateNationalId, InvalidNationalId
from library.models import AuditEntry, Reader
from tests import factories

NATIONAL_ID = "43090219800101123X"


def _form(branch_id: int, **overrides: str) -> dict[str, Any]:
    data = {"card_number": "ZY2026999001", "name": "李春梅", "category_code": "senior",
            "home_branch_id": str(branch_id), "phone": "13907370001", "email": "",
            "card_expires_on": "2029-11-30", "national_id": "", "pin": "246810", "notes": "老年大学学员"}
    data.update(overrides)
    return data


@pytest.fixture
def branch_id(app: Flask) -> int:
    with get_database(app).transaction() as session:
        return factories.make_branch(session, code="ZY", kind="central").id


def _readers(app: Flask) -> int:
    with get_database(app).Session() as session:
        return session.scalar(select(func.count()).select_from(Reader)) or 0


def test_register_a_reader(app: Flask, client: FlaskClient, staff_login: Any, branch_id: int) -> None:
    staff_login("circulation", branch_code="ZY")
    form = client.get("/staff/readers/new").get_data(as_text=True)
    assert 'name="card_number"' in form and 'name="national_id"' in form
    response = client.post("/staff/readers/new", data=_form(branch_id, national_id=NATIONAL_ID.lower()))
    assert response.status_code == 302, response.get_data(as_text=True)
    with get_database(app).Session() as session:
        r = session.scalars(select(Reader)).one()
        assert (r.card_number, r.name, r.category_code, r.status, r.notes) == (
            "ZY2026999001", "李春梅", "senior", "active", "老年大学学员")
        assert r.keep_history is False and r.show_on_leaderboards is False  # privacy: off by default
        assert r.national_id_last4 == "123X" and r.national_id_hash and NATIONAL_ID not in r.national_id_hash
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "reader.register")).one()
        assert entry.branch is not None and entry.branch.code == "ZY"  # recorded at the librarian's branch
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "李春梅" in html and "尾号 123X" in html and NATIONAL_ID not in html


def test_duplicate_card_number_is_refused_on_the_form_keeping_what_was_typed(
    app: Flask, client: FlaskClient, staff_login: Any, branch_id: int
) -> None:
    with get_database(app).transaction() as session:
        factories.make_reader(session, card_number="ZY2026999001", name="王已有")
    before = _readers(app)
    staff_login("circulation", branch_code="ZY")
    response = client.post("/staff/readers/new", data=_form(branch_id, national_id=NATIONAL_ID))
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    # The error sits on the card number field ...
    assert '<div class="field has-error">' in html
    card_field = html.split('name="card_number"')[1].split("</div>")[0]
    assert "读者证号 ZY2026999001 已被使用" in card_field
    # ... and everything typed is still there (except the PIN, which browsers never refill).
    for typed in ('value="ZY2026999001"', 'value="李春梅"', 'value="13907370001"', 'value="2029-11-30"',
                  f'value="{NATIONAL_ID}"', "老年大学学员"):
        assert typed in html, typed
    assert '<option selected value="senior">' in html or 'value="senior" selected' in html
    assert _readers(app) == before  # nothing saved
    with get_database(app).Session() as session:
        assert session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "reader.register")) == 0


def test_a_replaced_card_number_cannot_be_given_again(app: Flask, client: FlaskClient, staff_login: Any,
                                                      branch_id: int) -> None:
    with get_database(app).transaction() as session:
        reader = factories.make_reader(session, card_number="OLD0001")
        services.replace_card(session, reader, new_card_number="NEW0001")
    staff_login("circulation", branch_code="ZY")
    response = client.post("/staff/readers/new", data=_form(branch_id, card_number="OLD0001"))
    assert response.status_code == 409 and "OLD0001 已被使用" in response.get_data(as_text=True)


def test_duplicate_or_malformed_national_id(app: Flask, client: FlaskClient, staff_login: Any,
                                             branch_id: int) -> None:
    staff_login("circulation", branch_code="ZY")
    assert client.post("/staff/readers/new", data=_form(branch_id, national_id=NATIONAL_ID)).status_code == 302
    response = client.post("/staff/readers/new", data=_form(branch_id, card_number="ZY2", national_id=NATIONAL_ID))
    assert response.status_code == 409
    nid_field = response.get_data(as_text=True).split('name="national_id"')[1].split("</div>")[0]
    assert "该身份证号已办理过读者证" in nid_field
    response = client.post("/staff/readers/new", data=_form(branch_id, card_number="ZY3",
                                                            national_id="43090219800101123"))  # 17 chars
    assert response.status_code == 422
    assert _readers(app) == 1
    with get_database(app).transaction() as session:
        home = factories.make_branch(session)
        with pytest.raises(InvalidNationalId):
            services.create_reader(session, card_number="X1", name="甲", category_code="adult", home_branch=home,
                                   pin="1234", card_expires_on=dt.date(2030, 1, 1), national_id="12345X",
                                   secret_key="k")
        with pytest.raises(DuplicateNationalId):
            services.create_reader(session, card_number="X2", name="乙", category_code="adult", home_branch=home,
                                   pin="1234", card_expires_on=dt.date(2030, 1, 1), national_id=NATIONAL_ID,
                                   secret_key=app.config["SECRET_KEY"])


def test_find_readers_by_card_name_phone_and_national_id(app: Flask, client: FlaskClient, staff_login: Any) -> None:
    with get_database(app).transaction() as session:
        home = factories.make_branch(session, code="ZY")
        services.create_reader(session, card_number="ZY100", name="周晓燕", category_code="adult", home_branch=home,
                               pin="1234", card_expires_on=dt.date(2030, 1, 1), phone="13800000007",
                               national_id=NATIONAL_ID, secret_key=app.config["SECRET_KEY"], fast_hash=True)
        factories.make_reader(session, name="周建华", phone="13800000008")
        other = factories.make_reader(session, name="李明", card_number="ZY200")
        services.replace_card(session, other, new_card_number="ZY201")
    staff_login("circulation", branch_code="ZY")

    def names(q: str) -> list[str]:
        html = client.get("/staff/readers/", query_string={"q": q}).get_data(as_text=True)
        return [n for n in ("周晓燕", "周建华", "李明") if n in html]

    assert names("ZY100") == ["周晓燕"]
    assert names("周") == ["周晓燕", "周建华"]
    assert names("13800000008") == ["周建华"]
    assert names(NATIONAL_ID.lower()) == ["周晓燕"]  # the full ID number, through its keyed hash
    assert names("123X") == []  # the last four alone find nothing
    assert names("ZY200") == ["李明"]  # a replaced card still leads staff to its reader
    assert names("nobody") == []


def test_edit_a_reader(app: Flask, client: FlaskClient, staff_login: Any, branch_id: int) -> None:
    with get_database(app).transaction() as session:
        reader = factories.make_reader(session, name="旧名字")
        reader_id, card = reader.id, reader.card_number
    staff_login("circulation", branch_code="ZY")
    page = client.get(f"/staff/readers/{reader_id}/edit").get_data(as_text=True)
    assert "旧名字" in page
    data = _form(branch_id, name="新名字", card_number="HACKED", pin="", national_id=NATIONAL_ID,
                 category_code="child") | {"status": "blocked"}
    assert client.post(f"/staff/readers/{reader_id}/edit", data=data).status_code == 302
    with get_database(app).Session() as session:
        r = session.get(Reader, reader_id)
        assert r is not None
        assert (r.name, r.category_code, r.home_branch_id, r.status, r.card_number) == (
            "新名字", "child", branch_id, "blocked", card)  # the card number is not editable here
        assert r.national_id_last4 == "123X"
        assert services.find_reader_by_national_id(session, app.config["SECRET_KEY"], NATIONAL_ID) == r


def test_report_lost_then_replace_card(app: Flask, client: FlaskClient, staff_login: Any) -> None:
    with get_database(app).transaction() as session:
        reader = factories.make_reader(session, card_number="ZY300", name="陈静")
        reader_id = reader.id
    reader_client = app.test_client()
    assert reader_client.post("/login", data={"card_number": "ZY300", "pin": factories.READER_PIN}).status_code == 302
    staff_login("circulation", branch_code="ZY")
    assert client.post(f"/staff/readers/{reader_id}/lost").status_code == 302
    with get_database(app).Session() as session:
        assert session.get(Reader, reader_id).status == "lost_card"  # type: ignore[union-attr]
    # A card reported lost cannot be used to log in, even with the right PIN.
    lost = app.test_client().post("/login", data={"card_number": "ZY300", "pin": factories.READER_PIN})
    assert lost.status_code == 403
    taken = client.post(f"/staff/readers/{reader_id}/replace", data={"replace-new_card_number": "ZY300"})
    assert taken.status_code == 409
    response = client.post(f"/staff/readers/{reader_id}/replace", data={"replace-new_card_number": "ZY301"})
    assert response.status_code == 302
    with get_database(app).Session() as session:
        r = session.get(Reader, reader_id)
        assert r is not None and (r.card_number, r.status, r.name, r.id) == ("ZY301", "active", "陈静", reader_id)
    old = app.test_client().post("/login", data={"card_number": "ZY300", "pin": factories.READER_PIN})
    assert old.status_code == 403 and "已挂失或已被替换" in old.get_data(as_text=True)
    new = app.test_client().post("/login", data={"card_number": "ZY301", "pin": factories.READER_PIN})
    assert new.status_code == 302
    # A generated number when none is typed.
    assert client.post(f"/staff/readers/{reader_id}/replace", data={"replace-new_card_number": ""}).status_code == 302
    with get_database(app).Session() as session:
        r = session.get(Reader, reader_id)
        assert r is not None and r.card_number.startswith("R") and len(r.card_number) == 11


def test_staff_reset_a_pin(app: Flask, client: FlaskClient, staff_login: Any) -> None:
    with get_database(app).transaction() as session:
        reader = factories.make_reader(session)
        reader_id, card = reader.id, reader.card_number
    staff_login("circulation", branch_code="ZY")
    assert client.post(f"/staff/readers/{reader_id}/pin", data={"pin-pin": "12ab"}).status_code == 422
    assert client.post(f"/staff/readers/{reader_id}/pin", data={"pin-pin": "975310"}).status_code == 302
    assert app.test_client().post("/login", data={"card_number": card, "pin": "975310"}).status_code == 302
    assert app.test_client().post("/login", data={"card_number": card, "pin": factories.READER_PIN}).status_code == 401


def test_only_circulation_staff_and_admins_reach_the_reader_desk(app: Flask, client: FlaskClient,
                                                                  staff_login: Any) -> None:
    staff_login("cataloguer")
    assert client.get("/staff/readers/").status_code == 403
    assert client.get("/staff/readers/new").status_code == 403
    anonymous = app.test_client().get("/staff/readers/")
    assert anonymous.status_code == 302 and "/staff/login" in anonymous.headers["Location"]


def test_reader_privacy_choices(app: Flask, client: FlaskClient, reader_login: Any) -> None:
    reader = reader_login()
    page = client.get("/me").get_data(as_text=True)
    assert 'name="privacy-keep_history"' in page and "checked" not in page.split('id="privacy"')[1].split("</form>")[0]
    assert client.post("/me/privacy", data={"privacy-keep_history": "y"}).status_code == 302
    with get_database(app).Session() as session:
        r = session.get(Reader, reader.id)
        assert r is not None and (r.keep_history, r.show_on_leaderboards) == (True, False)
    assert client.post("/me/privacy", data={"privacy-show_on_leaderboards": "y"}).status_code == 302
    with get_database(app).Session() as session:
        r = session.get(Reader, reader.id)
        assert r is not None and (r.keep_history, r.show_on_leaderboards) == (False, True)


def test_reader_changes_own_pin(app: Flask, client: FlaskClient, reader_login: Any) -> None:
    reader = reader_login()
    wrong = client.post("/me/pin", data={"pin-current_pin": "000000", "pin-new_pin": "2468",
                                         "pin-confirm_pin": "2468"})
    assert wrong.status_code == 422 and "当前密码不正确" in wrong.get_data(as_text=True)
    mismatch = client.post("/me/pin", data={"pin-current_pin": factories.READER_PIN, "pin-new_pin": "2468",
                                            "pin-confirm_pin": "2469"})
    assert mismatch.status_code == 422 and "两次输入的密码不一致" in mismatch.get_data(as_text=True)
    ok = client.post("/me/pin", data={"pin-current_pin": factories.READER_PIN, "pin-new_pin": "2468",
                                      "pin-confirm_pin": "2468"})
    assert ok.status_code == 302
    assert app.test_client().post("/login", data={"card_number": reader.card_number, "pin": "2468"}).status_code == 302


def test_staff_cannot_use_reader_pages(app: Flask, client: FlaskClient, staff_login: Any) -> None:
    staff_login("circulation", branch_code="ZY")
    assert client.post("/me/privacy", data={"privacy-keep_history": "y"}).status_code == 302  # to reader login
    assert "/login" in client.get("/me").headers["Location"]
