"""Counter, check-in, transfers, rules, statistics and reader self-service pages; the JSON API."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from circulation.models import BlockOverride, CirculationEvent, CirculationRule, Hold, Loan
from library import clock
from library.db import get_database
from library.models import AuditEntry
from tests.circulation.factories import local_noon, make_item, make_record
from tests.factories import make_branch, make_reader

TODAY = dt.date(2026, 11, 3)


def _setup(app: Flask, **reader_kw: Any) -> dict[str, Any]:
    with get_database(app).transaction() as s:
        a = make_branch(s, code="CA")
        b = make_branch(s, code="CB")
        record = make_record(s, title="平凡的世界")
        item = make_item(s, branch=a, record=record, barcode="I0001")
        item2 = make_item(s, branch=a, barcode="I0002")
        reader = make_reader(s, home_branch=a, card_number="R0001", **reader_kw)
        return {"a": a.id, "b": b.id, "record": record.id, "item": item.id, "item2": item2.id, "reader": reader.id}


def test_counter_checkout_renew_and_checkin(app: Flask, client: FlaskClient, staff_login: Any) -> None:
    clock.set_now(local_noon(TODAY))
    ids = _setup(app)
    staff_login("circulation", branch_code="CA")
    page = client.get("/circulation/?card=R0001")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'id="barcode"' in html and "autofocus" in html and "可以借书" in html
    r = client.post("/circulation/checkout", data={"card": "R0001", "barcode": "I0001"})
    assert r.status_code == 302
    again = client.post("/circulation/checkout", data={"card": "R0001", "barcode": "I0001"})
    assert again.status_code == 409 and "I0001" in again.get_data(as_text=True)
    assert 'value="I0001"' in again.get_data(as_text=True)  # what was typed is kept
    r = client.post("/circulation/renew", data={"card": "R0001", "barcode": "I0001"})
    assert r.status_code == 302
    r = client.post("/circulation/checkin", data={"barcode": "I0001"})
    assert r.status_code == 302
    page = client.get("/circulation/checkin").get_data(as_text=True)
    assert 'id="next-step"' in page and "上架" in page
    with get_database(app).transaction() as s:
        loan = s.scalars(select(Loan)).one()
        assert loan.state == "returned" and loan.renewals == 1
        assert s.scalar(select(func.count()).select_from(CirculationEvent).where(CirculationEvent.kind == "visit")) == 1
    assert ids


def test_checkin_elsewhere_says_send_home_with_slip(app: Flask, client: FlaskClient, staff_login: Any) -> None:
    clock.set_now(local_noon(TODAY))
    _setup(app)
    staff_login("circulation", branch_code="CA")
    client.post("/circulation/checkout", data={"card": "R0001", "barcode": "I0001"})
    staff_login("circulation", branch_code="CB")
    client.post("/circulation/checkin", data={"barcode": "I0001"})
    page = client.get("/circulation/checkin").get_data(as_text=True)
    with get_database(app).transaction() as s:
        from library.models import Branch

        home_name = s.scalars(select(Branch.name).where(Branch.code == "CA")).one()
    next_step = page[page.index('id="next-step"'):]
    assert f"送往 {home_name}" in next_step[:400] or f"送往{home_name}" in next_step[:400]
    slip = client.get("/circulation/slip/I0001").get_data(as_text=True)
    assert "调拨单" in slip
    transfers = client.get("/circulation/transfers").get_data(as_text=True)
    assert "I0001" in transfers and "待发出" in transfers


def test_blocked_reader_needs_override_reason(app: Flask, client: FlaskClient, staff_login: Any) -> None:
    clock.set_now(local_noon(TODAY))
    _setup(app, card_expires_on=TODAY - dt.timedelta(days=2))
    staff_login("circulation", branch_code="CA")
    r = client.post("/circulation/checkout", data={"card": "R0001", "barcode": "I0001"})
    assert r.status_code == 409 and "override_reason" in r.get_data(as_text=True)
    r = client.post("/circulation/checkout", data={"card": "R0001", "barcode": "I0001", "override_reason": "续证中"})
    assert r.status_code == 302
    with get_database(app).transaction() as s:
        assert s.scalars(select(BlockOverride)).one().reason == "续证中"
        assert s.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "circulation.block_override")) == 1


def test_counter_is_branch_scoped(app: Flask, client: FlaskClient, staff_login: Any) -> None:
    ids = _setup(app)
    staff_login("circulation", branch_code="CA")
    r = client.post("/circulation/branch", data={"branch_id": ids["b"]})
    assert r.status_code == 403


def test_rules_matrix_and_tester(app: Flask, client: FlaskClient, staff_login: Any) -> None:
    ids = _setup(app)
    staff_login("admin")
    page = client.get(f"/circulation/rules?test=1&branch_id={ids['b']}&reader_category_code=child&item_type_code=")
    assert page.status_code == 200 and "*|child|*" in page.get_data(as_text=True)
    form = {"branch_id": ids["b"], "reader_category_code": "child", "item_type_code": "", "loan_days": 21,
            "renewals": 2, "max_items": 4, "max_holds": 2, "grace_days": 1, "consequence": "fine",
            "fine_per_day": "0.20", "fine_cap": "10", "suspension_factor": "1", "max_suspension_days": 30,
            "hold_shelf_days": 5, "charge_limit": "10", "note": "分馆少儿"}
    assert client.post("/circulation/rules", data=form).status_code == 302
    dup = client.post("/circulation/rules", data=form)
    assert dup.status_code == 409 and 'value="分馆少儿"' in dup.get_data(as_text=True)
    bad = client.post("/circulation/rules", data={**form, "loan_days": 0})
    assert bad.status_code == 422
    page = client.get(f"/circulation/rules?test=1&branch_id={ids['b']}&reader_category_code=child&item_type_code=")
    assert f"{ids['b']}|child|*" in page.get_data(as_text=True)
    with get_database(app).transaction() as s:
        assert s.scalar(select(CirculationRule).where(CirculationRule.note == "分馆少儿")) is not None


def test_stats_page_and_csv(app: Flask, client: FlaskClient, staff_login: Any) -> None:
    clock.set_now(local_noon(TODAY))
    _setup(app)
    staff_login("circulation", branch_code="CA")
    client.get("/circulation/?card=R0001")
    client.post("/circulation/checkout", data={"card": "R0001", "barcode": "I0001"})
    page = client.get("/circulation/stats")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and html.count('<svg class="chart chart-lines"') == 1
    desc = html.split("<desc>", 1)[1].split("</desc>", 1)[0]
    loans, returns, visits = desc.split("; ")
    assert loans.startswith("借出: ") and f"{TODAY.isoformat()} 1" in loans  # today's checkout
    assert returns.startswith("归还: ") and f"{TODAY.isoformat()} 0" in returns
    assert visits.startswith("到馆: ") and visits.endswith(f"{TODAY.isoformat()} 1")  # the last day of the range
    assert loans.count(", ") == 29  # thirty days by default, zeros included
    assert 'font-size="9"' not in html and 'font-size="10"' not in html
    csv = client.get(f"/circulation/stats.csv?start={TODAY}&end={TODAY}").get_data(as_text=True)
    lines = csv.strip().splitlines()
    assert lines[0].lstrip("\ufeff").startswith("day,branch_code")
    assert lines[1].split(",")[:4] == [TODAY.isoformat(), "CA", lines[1].split(",")[2], "1"]
    assert lines[1].split(",")[-1] == "1"  # one visit


def test_reader_self_service(app: Flask, client: FlaskClient, reader_login: Any) -> None:
    clock.set_now(local_noon(TODAY))
    ids = _setup(app)
    with get_database(app).transaction() as s:
        from circulation.services import checkout
        from library.models import Branch

        other = make_reader(s)
        checkout(s, item_barcode="I0001", card_number=other.card_number, branch=s.get_one(Branch, ids["a"]),
                 now=clock.now())
        a_id = ids["a"]
    reader = reader_login(keep_history=False)
    page = client.get(f"/my/holds/place/{ids['record']}")
    assert page.status_code == 200
    r = client.post(f"/my/holds/place/{ids['record']}", data={"pickup_branch": a_id})
    assert r.status_code == 302
    holds = client.get("/my/holds").get_data(as_text=True)
    assert "平凡的世界" in holds and "第 1 位" in holds
    assert client.post(f"/my/holds/place/{ids['record']}", data={"pickup_branch": a_id}).status_code == 409
    with get_database(app).transaction() as s:
        hold = s.scalars(select(Hold)).one()
        assert hold.reader_id == reader.id
        hold_id = hold.id
    assert client.post(f"/my/holds/{hold_id}/cancel").status_code == 302
    assert "您没有开启" in client.get("/my/history").get_data(as_text=True)
    assert client.get("/my/loans").status_code == 200


def test_reader_cannot_renew_someone_elses_loan(app: Flask, client: FlaskClient, reader_login: Any) -> None:
    clock.set_now(local_noon(TODAY))
    ids = _setup(app)
    with get_database(app).transaction() as s:
        from circulation.services import checkout
        from library.models import Branch

        loan = checkout(s, item_barcode="I0001", card_number="R0001", branch=s.get_one(Branch, ids["a"]),
                        now=clock.now())
        loan_id = loan.id
    reader_login()
    assert client.post(f"/my/loans/{loan_id}/renew").status_code == 404


def test_api_loans_returns_renewals_holds(app: Flask, client: FlaskClient, staff_login: Any) -> None:
    clock.set_now(local_noon(TODAY))
    ids = _setup(app)
    staff_login("circulation", branch_code="CA")
    r = client.post("/api/v1/loans", json={"item_barcode": "I0001", "card_number": "R0001", "branch": "CA"})
    assert r.status_code == 201 and r.json["state"] == "on_loan" and r.json["due_on"]
    r = client.post("/api/v1/loans", json={"item_barcode": "I0001", "card_number": "R0001", "branch": "CA"})
    assert r.status_code == 409 and r.json["error"]["code"] == "item_already_on_loan" and r.json["error"]["message"]
    r = client.post("/api/v1/loans", json={"item_barcode": "I0002", "card_number": "R0001", "branch": "CB"})
    assert r.status_code == 403
    r = client.post("/api/v1/loans", json={"item_barcode": "I0002"})
    assert r.status_code == 422
    r = client.post("/api/v1/renewals", json={"item_barcode": "I0001"})
    assert r.status_code == 200 and r.json["renewals"] == 1
    with get_database(app).transaction() as s:
        other = make_reader(s)
        card = other.card_number
    r = client.post("/api/v1/holds", json={"card_number": card, "pickup_branch": "CA", "record_id": ids["record"]})
    assert r.status_code == 201 and r.json["state"] == "waiting"
    r = client.post("/api/v1/returns", json={"item_barcode": "I0001", "branch": "CA"})
    assert r.status_code == 200 and r.json["action"] == "hold_shelf" and r.json["loan"]["state"] == "returned"
    r = client.post("/api/v1/returns", json={"item_barcode": "NOPE", "branch": "CA"})
    assert r.status_code == 404 and r.json["error"]["code"] == "item_not_found"
    hold_id = client.post("/api/v1/holds", json={"card_number": "R0001", "pickup_branch": "CA",
                                                           "record_id": ids["record"]}).json["id"]
    r = client.delete(f"/api/v1/holds/{hold_id}", json={})  # a cookie session writes JSON only
    assert r.status_code == 200 and r.json["state"] == "cancelled" and r.json["id"] == hold_id
    r = client.delete(f"/api/v1/holds/{hold_id}", json={})  # a cookie session writes JSON only
    assert r.status_code == 409 and r.json["error"]["code"]
    doc = client.get("/api/v1/openapi.json").json
    assert {"/loans", "/returns", "/renewals", "/holds"} <= set(doc["paths"])


def test_api_needs_login(client: FlaskClient, app: Flask) -> None:
    r = client.post("/api/v1/loans", json={"item_barcode": "I0001", "card_number": "R0001", "branch": "CA"})
    assert r.status_code == 401
