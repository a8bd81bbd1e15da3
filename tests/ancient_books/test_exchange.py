"""Census exchange with Excel: export → import gives the same records; a bad workbook imports
nothing and reports every wrong row; the four-line catalogue layout."""

from __future__ import annotations

import io
from typing import Any

import pytest
from flask import Flask
from openpyxl import Workbook, load_workbook
from sqlalchemy import delete, func, select

from ancient_books import census_prefix_of
from ancient_books.errors import CensusInvalid, ImportFailed
from ancient_books.exchange import HEADINGS, export_catalogue, export_registration, import_registration
from ancient_books.models import CensusRecord
from ancient_books.services import FIELDS, AuthorInput
from library import clock
from tests.ancient_books.factories import make_approved, make_census


def _snapshot(record: CensusRecord) -> dict[str, Any]:
    data = {name: getattr(record, name) for name in FIELDS}
    data["census_no"] = record.census_no
    data["authors"] = [(a.dynasty, a.name, a.role) for a in record.authors]
    for name in ("edition_year_from", "edition_year_to", "edition_ganzhi", "edition_circa", "edition_period"):
        data[name] = getattr(record, name)
    return data


def test_export_then_import_gives_the_same_records(app: Flask, db_session: Any) -> None:
    make_census(db_session, app, title="資治通鑑", juan="二百九十四卷", bu_code="shi", lei_code="shi-02",
                authors=[AuthorInput("宋", "司馬光", "编"), AuthorInput("元", "胡三省", "注")],
                damage_types=["insect", "mould"], damage_share=22, repair_needed=True, damage_level_code="level2",
                seals="“曾在李鹿山處”朱文長方印", series_contents="", extant="存一百卷")
    make_approved(db_session, app, title="楚辭集注", juan="八卷", bu_code="ji", lei_code="ji-01", grade_code="4",
                  grade_class=None, edition_text="明萬曆間刻本", annotations="清人朱筆批校", volume_unit="件",
                  volumes=1, damage_types=[], damage_share=None, damage_level_code="none")
    make_census(db_session, app, title="船山遺書", juan="", bu_code="cong", lei_code="cong-04",
                series_contents="周易內傳六卷；尚書引義六卷", authors=[AuthorInput("", "王夫之", "撰")],
                grade_code="", grade_class="", edition_text="清同治四年金陵節署刻本")
    db_session.flush()
    records = list(db_session.scalars(select(CensusRecord).order_by(CensusRecord.census_no)))
    before = [_snapshot(r) for r in records]
    content = export_registration(db_session, records)
    db_session.execute(delete(CensusRecord))
    db_session.flush()
    db_session.expunge_all()
    report = import_registration(db_session, content, prefix=census_prefix_of(app), staff=None, now=clock.now())
    assert report.ok and len(report.created) == 3
    db_session.flush()
    after = [_snapshot(r) for r in db_session.scalars(select(CensusRecord).order_by(CensusRecord.census_no))]
    assert after == before
    # the counter moved past the imported numbers: the next registration does not collide
    assert make_census(db_session, app).census_no.endswith("-0000004")


def test_a_bad_row_imports_nothing_and_is_reported(app: Flask, db_session: Any) -> None:
    good = make_census(db_session, app)
    db_session.flush()
    content = export_registration(db_session, [good])
    wb = load_workbook(io.BytesIO(content))
    ws = wb.active
    assert ws is not None
    ws.cell(row=2, column=1, value="")  # no number: gets a new one
    ws.append(["430000-0902-9999999", "", "经部", "", "", "", "", "清乾隆九十年刻本"] + [""] * (len(HEADINGS) - 8))
    ws.append(["bad-number", "", "", "", "周易", "", "", "", "", "", "", "", "", "", "丝装"] +
              [""] * (len(HEADINGS) - 15))
    buf = io.BytesIO()
    wb.save(buf)
    count = db_session.scalar(select(func.count()).select_from(CensusRecord))
    with pytest.raises(ImportFailed) as info:
        import_registration(db_session, buf.getvalue(), prefix=census_prefix_of(app), staff=None, now=clock.now())
    report = info.value.report
    assert [r.row for r in report.rows] == [2, 3, 4]
    assert report.rows[0].ok
    assert set(report.rows[1].errors) >= {"title", "edition_text"}
    assert "普查编号" in report.rows[2].errors and "装帧" in report.rows[2].errors
    assert db_session.scalar(select(func.count()).select_from(CensusRecord)) == count


def test_wrong_workbook_is_refused(app: Flask, db_session: Any) -> None:
    with pytest.raises(CensusInvalid):
        import_registration(db_session, b"not a workbook", prefix=census_prefix_of(app), staff=None, now=clock.now())
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["书名", "作者"])
    buf = io.BytesIO()
    wb.save(buf)
    with pytest.raises(CensusInvalid) as info:
        import_registration(db_session, buf.getvalue(), prefix=census_prefix_of(app), staff=None, now=clock.now())
    assert "表头" in info.value.text


def test_catalogue_layout_has_four_lines_per_entry(app: Flask, db_session: Any) -> None:
    record = make_census(db_session, app, title="益陽縣志", juan="二十五卷", call_number="GJ/S0010", volumes=12,
                         edition_text="清同治十三年刻本")
    second = make_census(db_session, app, title="楚辭集注")
    wb = load_workbook(io.BytesIO(export_catalogue([record, second], "资阳区图书馆")))
    ws = wb.active
    assert ws is not None
    lines = [row[0] for row in ws.iter_rows(values_only=True)]
    assert lines[0] == f"{record.census_no}　GJ/S0010"
    assert lines[1] == "益陽縣志二十五卷　（清）姚念楊修；（清）趙裴哲纂"
    assert lines[2] == "清同治十三年刻本"
    assert lines[3] == "12册　资阳区图书馆"
    assert lines[4] is None and lines[5].startswith(second.census_no) and len(lines) == 9


def test_cli_export_and_import(app: Flask, db: Any, runner: Any, tmp_path: Any) -> None:
    with db.transaction() as session:
        make_census(session, app, title="說文解字")
    path = tmp_path / "census.xlsx"
    result = runner.invoke(args=["ancient-books", "export", str(path)])
    assert result.exit_code == 0 and "wrote 1 records" in result.output
    again = runner.invoke(args=["ancient-books", "import", str(path)])
    assert again.exit_code != 0 and "row 2: 普查编号: 系统中已存在" in again.output
    with db.transaction() as session:
        session.execute(delete(CensusRecord))
    ok = runner.invoke(args=["ancient-books", "import", str(path)])
    assert ok.exit_code == 0 and "imported 1 records" in ok.output
    with db.transaction() as session:
        assert session.scalars(select(CensusRecord.title)).one() == "說文解字"
    catalogue = tmp_path / "catalogue.xlsx"
    assert runner.invoke(args=["ancient-books", "export", "--layout", "catalogue", str(catalogue)]).exit_code == 0
    assert catalogue.read_bytes()[:2] == b"PK"
