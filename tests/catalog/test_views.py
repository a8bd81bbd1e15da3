"""Staff pages: look-up, record page, MARC editor (validation, templates, history), copies,
labels, upload import with progress and report, export."""

from __future__ import annotations

import io
import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from catalog.models import BibRecord, Item, RecordHistory, SearchOutbox
from library.db import Database
from tests import factories
from tests.catalog.factories import make_item, make_record
from tests.conftest import shared_file


def _editor_data(leader: str, rows: list[tuple[str, str, str, str]]) -> dict[str, Any]:
    return {"leader": leader, "tag": [r[0] for r in rows], "ind1": [r[1] for r in rows],
            "ind2": [r[2] for r in rows], "value": [r[3] for r in rows]}


def test_pages_need_a_cataloguer(client: FlaskClient, staff_login: Any) -> None:
    assert client.get("/staff/catalog/").status_code == 302  # to the login page
    staff_login("circulation", branch_code="ZY")
    assert client.get("/staff/catalog/").status_code == 403


def test_lookup_by_title_isbn_and_barcode(client: FlaskClient, staff_login: Any, db: Database) -> None:
    with db.transaction() as session:
        bib = make_record(session, "洞庭湖的故事", isbn="9787503717444")
        make_item(session, record=bib, barcode="ZY0000042")
        make_record(session, "别的书")
    staff_login("cataloguer")
    for q in ("洞庭湖", "7-5037-1744-0", "ZY0000042"):
        page = client.get("/staff/catalog/", query_string={"q": q}).get_data(as_text=True)
        assert "洞庭湖的故事" in page and "别的书" not in page, q


def test_record_page_shows_description_copies_marc_and_history(client: FlaskClient, staff_login: Any,
                                                                db: Database) -> None:
    with db.transaction() as session:
        bib = make_record(session, "乡土中国", isbn="9787108009821", pinyin="xiang tu zhong guo", clc="C912.82")
        branch = factories.make_branch(session, name="长春镇分馆")
        make_item(session, record=bib, branch=branch, barcode="ZY1234567")
        rid = bib.id
    staff_login("cataloguer")
    page = client.get(f"/staff/catalog/records/{rid}").get_data(as_text=True)
    for text in ("乡土中国", "xiang tu zhong guo", "9787108009821", "C912.82", "长春镇分馆", "ZY1234567", "=200" if False
                 else "200", "长篇小说", "新建"):
        assert text in page, text
    assert client.get(f"/staff/catalog/records/{rid}/export.mrc").data[5:9] == b"nam0"
    assert b"<leader>" in client.get(f"/staff/catalog/records/{rid}/export.xml").data


def test_editor_templates_create_and_edit_with_history(client: FlaskClient, staff_login: Any, db: Database,
                                                       app: Flask) -> None:
    staff_login("cataloguer")
    page = client.get("/staff/catalog/records/new?template=cnmarc").get_data(as_text=True)
    assert 'value="200"' in page and "450" in page
    page = client.get("/staff/catalog/records/new?template=marc21").get_data(as_text=True)
    assert 'value="245"' in page
    rows = [("010", "", "", "$a978-7-5404-6672-5$dCNY32.00"),
            ("101", "0", "", "$achi"), ("200", "1", "", "$a活着$Ahuo zhe$f余华著"),
            ("210", "", "", "$a长沙$c湖南文艺出版社$d2012"), ("690", "", "", "$aI247.57$v5"),
            ("", "", "", "")]
    response = client.post("/staff/catalog/records/new", data=_editor_data("00000nam0 2200000   450 ", rows))
    assert response.status_code == 302, response.get_data(as_text=True)
    rid = int(re.search(r"/records/(\d+)", response.headers["Location"]).group(1))  # type: ignore[union-attr]
    with db.transaction() as session:
        bib = session.get(BibRecord, rid)
        assert bib is not None and (bib.title, bib.title_pinyin, bib.isbns) == ("活着", "huo zhe", ["9787540466725"])
        assert bib.flavour == "unimarc" and bib.classification_clc == "I247.57"
        assert bib.control_number == f"ZY{rid:09d}" and bib.marc["fields"][0] == {"001": f"ZY{rid:09d}"}
        rows.insert(0, ("001", "", "", bib.control_number))
    rows[3] = ("200", "1", "", "$a活着$Ahuo zhe$f余华著$g白亚仁译")
    response = client.post(f"/staff/catalog/records/{rid}/edit", data=_editor_data("00000nam0 2200000   450 ", rows))
    assert response.status_code == 302
    with db.transaction() as session:
        history = list(session.scalars(select(RecordHistory).where(RecordHistory.record_id == rid)
                                       .order_by(RecordHistory.id)))
        assert [h.action for h in history] == ["create", "edit"]
        assert history[1].staff_id is not None
        assert {c["op"] for c in history[1].changes} == {"+", "-"}
        assert any("白亚仁译" in c["line"] for c in history[1].changes if c["op"] == "+")
        assert (session.scalar(select(func.count()).select_from(SearchOutbox)
                               .where(SearchOutbox.record_id == rid)) or 0) == 2
    page = client.get(f"/staff/catalog/records/{rid}").get_data(as_text=True)
    assert "白亚仁译" in page and "编辑" in page


def test_editor_validation_keeps_what_was_typed(client: FlaskClient, staff_login: Any, db: Database) -> None:
    staff_login("cataloguer")
    rows = [("24", "1", "0", "$aNo title tag"), ("650", "X", "0", "$aSubject"), ("500", "", "", "no dollar")]
    response = client.post("/staff/catalog/records/new", data=_editor_data("short leader", rows))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "short leader" in page and "no dollar" in page and "24" in page
    assert "24 个字符" in page
    rows = [("245", "1", "0", "$a"), ("650", "X", "0", "$aSubject")]
    response = client.post("/staff/catalog/records/new", data=_editor_data("00000nam a2200000 i 4500", rows))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "必须有题名字段 245" in page and "指示符 1 必须是" in page
    with db.transaction() as session:
        assert (session.scalar(select(func.count()).select_from(BibRecord)) or 0) == 0


def test_copies_add_edit_move_withdraw(client: FlaskClient, staff_login: Any, db: Database) -> None:
    with db.transaction() as session:
        bib = make_record(session, "平凡的世界")
        a = factories.make_branch(session, code="ZY", kind="central")
        b = factories.make_branch(session, code="ZY03")
        rid, a_id, b_id = bib.id, a.id, b.id
    staff_login("cataloguer")
    data = {"barcode": "ZY7654321", "branch_id": a_id, "item_type_code": "book", "call_number": "I247.57/12",
            "shelf_location": "成人借阅区", "price": "39.80", "notes": ""}
    assert client.post(f"/staff/catalog/records/{rid}/items/new", data=data).status_code == 302
    response = client.post(f"/staff/catalog/records/{rid}/items/new", data=data)
    assert response.status_code == 409 and "ZY7654321" in response.get_data(as_text=True)  # duplicate barcode
    with db.transaction() as session:
        item = session.scalar(select(Item).where(Item.barcode == "ZY7654321"))
        assert item is not None and item.home_branch_id == a_id and str(item.price) == "39.80"
        item_id = item.id
    edit = {"item_type_code": "children", "call_number": "I287/3", "shelf_location": "少儿借阅区", "price": "",
            "status": "in_repair", "notes": "书脊开裂"}
    assert client.post(f"/staff/catalog/items/{item_id}/edit", data=edit).status_code == 302
    assert client.post(f"/staff/catalog/items/{item_id}/move", data={"branch_id": b_id}).status_code == 302
    assert client.post(f"/staff/catalog/items/{item_id}/withdraw", data={"reason": ""}).status_code == 302
    with db.transaction() as session:
        item = session.get(Item, item_id)
        assert item is not None and (item.status, item.home_branch_id, item.current_branch_id,
                                     item.item_type_code) == ("in_repair", b_id, b_id, "children")
    assert client.post(f"/staff/catalog/items/{item_id}/withdraw", data={"reason": "破损"}).status_code == 302
    with db.transaction() as session:
        item = session.get(Item, item_id)
        assert item is not None and item.status == "withdrawn" and "破损" in item.notes
        assert (session.scalar(select(func.count()).select_from(SearchOutbox)
                               .where(SearchOutbox.record_id == rid)) or 0) >= 5


def test_cannot_move_or_withdraw_a_copy_on_loan(client: FlaskClient, staff_login: Any, db: Database) -> None:
    with db.transaction() as session:
        item = make_item(session, status="on_loan")
        other = factories.make_branch(session)
        item_id, other_id = item.id, other.id
    staff_login("cataloguer")
    assert client.post(f"/staff/catalog/items/{item_id}/move", data={"branch_id": other_id}).status_code == 409
    assert client.post(f"/staff/catalog/items/{item_id}/withdraw", data={"reason": "x"}).status_code == 409


def test_labels_svg_and_sheet(client: FlaskClient, staff_login: Any, db: Database) -> None:
    with db.transaction() as session:
        item = make_item(session, barcode="ZY0000007")
        rid = item.record_id
    staff_login("cataloguer")
    svg = client.get("/staff/catalog/items/ZY0000007/label.svg")
    assert svg.mimetype == "image/svg+xml" and svg.data.count(b"<rect") > 20 and b"ZY0000007" in svg.data
    sheet = client.get("/staff/catalog/labels", query_string={"record_id": rid}).get_data(as_text=True)
    assert sheet.count("<svg") == 1 and "ZY0000007" in sheet


def test_upload_import_progress_and_report(client: FlaskClient, staff_login: Any, db: Database, app: Flask) -> None:
    with db.transaction() as session:
        branch_id = factories.make_branch(session, code="ZY", kind="central").id
    staff_login("cataloguer")
    data = shared_file("marc", "BAD_pymarc_bad_records.mrc").read_bytes()
    response = client.post("/staff/catalog/import", data={
        "file": (io.BytesIO(data), "bad.mrc"), "branch_id": branch_id, "match": "isbn"},
        content_type="multipart/form-data")
    assert response.status_code == 302
    batch_id = int(response.headers["Location"].rstrip("/").split("/")[-1])
    app.extensions["catalog.import_threads"][batch_id].join(timeout=60)
    status = client.get(f"/staff/catalog/import/{batch_id}/status.json").get_json()
    assert (status["status"], status["read"], status["imported"], status["skipped"]) == ("done", 8, 2, 6)
    page = client.get(f"/staff/catalog/import/{batch_id}").get_data(as_text=True)
    assert "坏记录" in page and "127" in page
    csv_text = client.get(f"/staff/catalog/import/{batch_id}/report.csv").get_data(as_text=True)
    assert len(csv_text.strip().splitlines()) == 7 and "record_number" in csv_text
    assert b"<collection" in client.get("/staff/catalog/export", query_string={"format": "marcxml"}).data


def test_delete_record_only_without_live_copies(client: FlaskClient, staff_login: Any, db: Database) -> None:
    with db.transaction() as session:
        item = make_item(session)
        rid, item_id = item.record_id, item.id
    staff_login("cataloguer")
    assert client.post(f"/staff/catalog/records/{rid}/delete").status_code == 409
    assert client.post(f"/staff/catalog/items/{item_id}/withdraw", data={"reason": "丢失赔偿"}).status_code == 302
    assert client.post(f"/staff/catalog/records/{rid}/delete").status_code == 302
    with db.transaction() as session:
        bib = session.get(BibRecord, rid)
        assert bib is not None and bib.deleted_at is not None
        ops = list(session.scalars(select(SearchOutbox.op).where(SearchOutbox.record_id == rid)
                                   .order_by(SearchOutbox.id)))
        assert ops[-1] == "delete"
    assert "已于" in client.get(f"/staff/catalog/records/{rid}").get_data(as_text=True)
    assert client.get(f"/staff/catalog/records/{rid}/edit").status_code == 404
