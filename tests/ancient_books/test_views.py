"""Census pages: who may see what, the record form keeps input on errors, the review flow in the
browser sense (forms posted by the test client), digitization actions, statistics and lists."""

from __future__ import annotations

import io
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from ancient_books.models import CensusPhoto, CensusRecord, CensusTerm
from ancient_books.services import terms
from tests.ancient_books.factories import make_approved, make_census, make_published

FORM = {
    "title": "湘軍志", "juan": "十六卷", "call_number": "GJ/S0013", "bu_code": "shi", "lei_code": "shi-04",
    "authors-0-dynasty": "清", "authors-0-name": "王闓運", "authors-0-role": "撰",
    "edition_text": "清光緒十二年刻本", "edition_type_code": "keben", "layout_hangkuan": "半叶十行行二十一字",
    "layout_bianlan": "四周单边", "layout_banxin": "白口", "layout_yuwei": "单黑鱼尾", "binding_code": "xianzhuang",
    "volumes": "4", "volume_unit": "册", "grade_code": "4", "grade_class": "", "damage_level_code": "level3",
    "damage_types": ["stain", "thread"], "damage_share": "8", "location": "古籍书库乙架", "holding_unit": "资阳区图书馆",
}


def test_pages_need_the_census_roles(app: Flask, client: FlaskClient, staff_login: Any) -> None:
    assert client.get("/ancient-books/").status_code == 302  # to the login page
    staff_login("circulation", branch_code="ZY")
    assert client.get("/ancient-books/").status_code == 403
    assert client.get("/ancient-books/terms").status_code == 403


def test_registrar_pages_render(app: Flask, db: Any, client: FlaskClient, staff_login: Any) -> None:
    with db.transaction() as session:
        record = make_published(session, app, pages=2)
        make_census(session, app, title="資治通鑑")
        number = record.census_no
    staff_login("ancient_books")
    for url in ("/ancient-books/", "/ancient-books/?q=资治通鉴", "/ancient-books/new", f"/ancient-books/r/{number}",
                "/ancient-books/review", "/ancient-books/digitization", "/ancient-books/digitization?step=scanning",
                "/ancient-books/dashboard", "/ancient-books/statistics", "/ancient-books/statistics?scope=all",
                "/ancient-books/import"):
        response = client.get(url)
        assert response.status_code == 200, url
    listing = client.get("/ancient-books/?q=资治通鉴").get_data(as_text=True)
    assert "資治通鑑" in listing and "益陽縣志" not in listing
    dashboard = client.get("/ancient-books/dashboard").get_data(as_text=True)
    assert dashboard.count("<svg") == 4
    with client.get("/ancient-books/export.xlsx?layout=registration") as xlsx:
        assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"
    with client.get("/ancient-books/export.xlsx?layout=catalogue") as xlsx:
        assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"


def test_new_record_form_keeps_input_on_errors(app: Flask, db: Any, client: FlaskClient, staff_login: Any) -> None:
    staff_login("ancient_books")
    bad = dict(FORM, grade_class="甲", edition_text="光緒九十年刻本")
    response = client.post("/ancient-books/new", data=bad)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "四级古籍（普本）不分等次" in page and "没有九十年" in page
    assert 'value="光緒九十年刻本"' in page and 'value="王闓運"' in page and 'value="湘軍志"' in page
    with db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(CensusRecord)) == 0
    response = client.post("/ancient-books/new", data=FORM)
    assert response.status_code == 302
    with db.transaction() as session:
        record = session.scalars(select(CensusRecord)).one()
        assert record.census_no == "430000-0902-0000001" and record.damage_types == ["stain", "thread"]
        assert [(a.dynasty, a.name, a.role) for a in record.authors] == [("清", "王闓運", "撰")]
        assert record.edition_year_from == 1886


def test_submit_review_return_and_approve(app: Flask, db: Any, client: FlaskClient, staff_login: Any) -> None:
    staff_login("ancient_books", username="registrar1")
    client.post("/ancient-books/new", data=FORM)
    with db.transaction() as session:
        number = session.scalars(select(CensusRecord.census_no)).one()
    form_page = client.get(f"/ancient-books/r/{number}/edit").get_data(as_text=True)
    assert 'value="王闓運"' in form_page and 'value="湘軍志"' in form_page and 'value="清光緒十二年刻本"' in form_page
    import re

    assert re.search(r'<input[^>]*checked[^>]*value="stain"|<input[^>]*value="stain"[^>]*checked', form_page)
    assert not re.search(r'<input[^>]*checked[^>]*value="mould"|<input[^>]*value="mould"[^>]*checked', form_page)
    edit = client.post(f"/ancient-books/r/{number}/edit", data=dict(FORM, juan="十六卷首一卷"))
    assert edit.status_code == 302
    assert client.post(f"/ancient-books/r/{number}/submit", data={}).status_code == 302
    assert client.post(f"/ancient-books/r/{number}/approve", data={}).status_code == 403  # registrar cannot review
    client.post("/logout")
    staff_login("ancient_books_reviewer", username="reviewer1")
    queue = client.get("/ancient-books/review").get_data(as_text=True)
    assert number in queue
    assert client.post(f"/ancient-books/r/{number}/return", data={"comment": "请补钤印"}).status_code == 302
    assert client.get(f"/ancient-books/r/{number}/edit").status_code == 403  # reviewers do not edit
    client.post("/logout")
    staff_login("ancient_books", username="registrar2")
    detail = client.get(f"/ancient-books/r/{number}").get_data(as_text=True)
    assert "请补钤印" in detail
    client.post(f"/ancient-books/r/{number}/submit", data={})
    client.post("/logout")
    staff_login("ancient_books_reviewer", username="reviewer2")
    client.post(f"/ancient-books/r/{number}/approve", data={"comment": "同意"})
    detail = client.get(f"/ancient-books/r/{number}").get_data(as_text=True)
    assert "十六卷首一卷" in detail and "registrar1" in detail and "reviewer1" in detail
    with db.transaction() as session:
        assert session.scalars(select(CensusRecord.status)).one() == "approved"


def test_digitization_actions_from_the_board(app: Flask, db: Any, client: FlaskClient, staff_login: Any) -> None:
    with db.transaction() as session:
        number = make_approved(session, app, volumes=2).census_no
    staff_login("ancient_books")
    assert client.post(f"/ancient-books/digitization/start/{number}", data={}).status_code == 302
    with db.transaction() as session:
        from ancient_books.models import DigitizationStep

        step_id = session.scalar(select(DigitizationStep.id).where(DigitizationStep.step == "condition",
                                                                   DigitizationStep.volume_no == 1))
    response = client.post(f"/ancient-books/digitization/step/{step_id}",
                           data={"action": "finish", "outcome": "no_repair", "all_volumes": "1",
                                 "back": "/ancient-books/digitization"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/ancient-books/digitization")
    with db.transaction() as session:
        states = session.execute(select(DigitizationStep.volume_no, DigitizationStep.state)
                                 .where(DigitizationStep.step == "scanning")).all()
        assert sorted(states) == [(1, "open"), (2, "open")]
    board = client.get("/ancient-books/digitization?step=scanning").get_data(as_text=True)
    assert number in board


def test_photo_upload(app: Flask, db: Any, client: FlaskClient, staff_login: Any) -> None:
    from ancient_books.images import page_image

    with db.transaction() as session:
        number = make_census(session, app).census_no
    staff_login("ancient_books")
    data = {"photo": (io.BytesIO(page_image(40, 60)), "shuying.png", "image/png"), "caption": "卷端"}
    response = client.post(f"/ancient-books/r/{number}/photos", data=data, content_type="multipart/form-data")
    assert response.status_code == 302
    with db.transaction() as session:
        photo = session.scalars(select(CensusPhoto)).one()
        photo_id = photo.id
    with client.get(f"/ancient-books/r/{number}/photos/{photo_id}") as shown:
        assert shown.status_code == 200 and shown.mimetype == "image/png"
    bad = {"photo": (io.BytesIO(b"MZ"), "virus.exe", "application/octet-stream")}
    client.post(f"/ancient-books/r/{number}/photos", data=bad, content_type="multipart/form-data")
    with db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(CensusPhoto)) == 1


def test_admin_edits_controlled_lists(app: Flask, db: Any, client: FlaskClient, staff_login: Any) -> None:
    staff_login("admin")
    assert client.get("/ancient-books/terms?kind=damage_type").status_code == 200
    response = client.post("/ancient-books/terms", data={"kind": "binding", "code": "xuanfengzhuang",
                                                         "label": "旋风装", "sort_order": "99", "active": "y"})
    assert response.status_code == 302
    bad = client.post("/ancient-books/terms", data={"kind": "lei", "code": "x-01", "label": "某类",
                                                    "parent_code": "nosuch", "sort_order": "1"})
    assert bad.status_code == 422
    with db.transaction() as session:
        assert "旋风装" in [t.label for t in terms(session, "binding")]
        assert session.scalar(select(CensusTerm).where(CensusTerm.code == "x-01")) is None
    with db.transaction() as session:
        term_id = session.scalar(select(CensusTerm.id).where(CensusTerm.code == "xuanfengzhuang"))
    edit_page = client.get(f"/ancient-books/terms?kind=binding&edit={term_id}").get_data(as_text=True)
    assert 'value="旋风装"' in edit_page
    client.post("/ancient-books/terms", data={"kind": "binding", "code": "xuanfengzhuang", "label": "旋风装",
                                              "sort_order": "99"})  # active unchecked: retired
    with db.transaction() as session:
        assert "旋风装" not in [t.label for t in terms(session, "binding")]
        assert "旋风装" in [t.label for t in terms(session, "binding", active_only=False)]
    assert "古籍普查规范表" in client.get("/admin/").get_data(as_text=True)


def test_import_page_reports_rows(app: Flask, db: Any, client: FlaskClient, staff_login: Any) -> None:
    from ancient_books.exchange import export_registration

    with db.transaction() as session:
        record = make_census(session, app)
        content = export_registration(session, [record])
    staff_login("ancient_books")
    response = client.post("/ancient-books/import", data={"file": (io.BytesIO(content), "census.xlsx")},
                           content_type="multipart/form-data")
    assert response.status_code == 422  # the number already exists: nothing imported
    assert "系统中已存在" in response.get_data(as_text=True)


def test_list_pages_through_many_records(app: Flask, db: Any, client: FlaskClient, staff_login: Any) -> None:
    with db.transaction() as session:
        for _ in range(31):
            make_census(session, app)
    staff_login("ancient_books")
    first = client.get("/ancient-books/").get_data(as_text=True)
    assert 'rel="next"' in first and "430000-0902-0000030" in first and "430000-0902-0000031" not in first
    second = client.get("/ancient-books/?page=2").get_data(as_text=True)
    assert "430000-0902-0000031" in second and 'rel="prev"' in second


def test_step_can_be_assigned_to_another_registrar(app: Flask, db: Any, client: FlaskClient,
                                                   staff_login: Any) -> None:
    from ancient_books.digitization import finish_step, start_digitization, volume_steps
    from ancient_books.models import DigitizationStep
    from library import clock
    from tests import factories as core

    with db.transaction() as session:
        record = make_approved(session, app, volumes=1)
        start_digitization(session, record, staff=None, now=clock.now())
        finish_step(session, volume_steps(session, record.id, 1)["condition"], staff=core.make_staff(session),
                    now=clock.now(), outcome="no_repair")
        colleague = core.make_staff(session, role="ancient_books", username="scanner1")
        circ = core.make_staff(session, role="circulation", username="counter9")
        scan_id = volume_steps(session, record.id, 1)["scanning"].id
        colleague_id, circ_id, number = colleague.id, circ.id, record.census_no
    staff_login("ancient_books")
    assert "scanner1" in client.get(f"/ancient-books/r/{number}").get_data(as_text=True)
    client.post(f"/ancient-books/digitization/step/{scan_id}", data={"action": "start", "assignee_id": str(circ_id)})
    with db.transaction() as session:
        assert session.get(DigitizationStep, scan_id).state == "open"  # a circulation librarian cannot be assigned
    client.post(f"/ancient-books/digitization/step/{scan_id}",
                data={"action": "start", "assignee_id": str(colleague_id)})
    with db.transaction() as session:
        step = session.get(DigitizationStep, scan_id)
        assert step.state == "in_progress" and step.assignee_id == colleague_id
