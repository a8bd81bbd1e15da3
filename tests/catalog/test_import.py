"""Importing files into the database: counts, report lines, matching, holdings, round trip,
batches committed as they go."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import func, select

from catalog.exporter import export_records
from catalog.importer import import_file, report_rows
from catalog.marc import mark_unicode, read_file, record_to_json, to_iso2709
from catalog.models import BibRecord, ImportBatch, Item, RecordHistory, RecordIsbn, SearchOutbox
from library.db import Database, get_database
from tests import factories
from tests.catalog.factories import cnmarc_record, marc21_record
from tests.conftest import SHARED_DATA, shared_file

MARC_DIR = SHARED_DATA / "marc"


def _count(db: Database, model: Any) -> int:
    with db.transaction() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def _marcs(db: Database) -> list[dict[str, Any]]:
    with db.transaction() as session:
        return list(session.scalars(select(BibRecord.marc).order_by(BibRecord.id)))


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Identical except the record length and base address (recomputed on export)."""
    la, lb = a["leader"], b["leader"]
    return bool(la[5:12] + la[17:] == lb[5:12] + lb[17:] and a["fields"] == b["fields"])


@pytest.fixture
def central(db: Database) -> int:
    with db.transaction() as session:
        return factories.make_branch(session, code="ZY", kind="central").id


@pytest.mark.parametrize(("name", "good", "bad"), [
    ("BAD_marc21_pride_with_errors.mrc", 367, 16),
    ("BAD_pymarc_bad_records.mrc", 2, 6),
    ("BAD_too_long_plus_2.mrc", 2, 1),
    ("BAD_marcxml_three_records_second_bad.xml", 2, 1),
])
def test_bad_files_import_good_records_and_report_each_bad_one(db: Database, central: int, name: str,
                                                               good: int, bad: int) -> None:
    summary = import_file(db, shared_file("marc", name), match="none")
    assert (summary.imported, summary.skipped_by_reason["bad_record"]) == (good, bad)
    with db.transaction() as session:
        lines = [ln for ln in report_rows(session, summary.batch_ids) if ln["reason"] == "bad_record"]
    assert len(lines) == bad
    assert all(ln["record_number"] >= 1 and ln["byte_offset"] >= 0 and ln["detail"] for ln in lines)


def test_every_shared_file_imports_and_round_trips(db: Database, central: int, tmp_path: Path,
                                                  make_app: Any) -> None:
    files = sorted(p for p in MARC_DIR.glob("*") if p.suffix != ".tsv") if MARC_DIR.exists() else []
    if not files:
        pytest.skip(f"shared MARC files absent ({MARC_DIR})")
    summaries = {path.name: import_file(db, path, match="none") for path in files}
    pride = summaries["marc21_utf8_pride_383_cjk.mrc"]
    assert (pride.read, pride.imported, pride.skipped) == (383, 383, 0)
    assert _count(db, Item) > 0  # 852/949 holdings with barcodes became copies
    jazz = summaries["marc21_marc8_jazz_1k.mrc"]
    assert (jazz.read, jazz.imported) == (1000, 1000)
    assert summaries["sru12_cnmarcxml_chinese.xml"].imported == 10
    auth = summaries["marc21_utf8_auth_1066.mrc"]
    assert (auth.imported, auth.skipped, dict(auth.skipped_by_reason)) == (0, 1066, {"authority": 1066})
    with db.transaction() as session:
        titles = list(session.scalars(select(BibRecord.title)))
        assert "'94中国发展报告" in titles and "'96 中国发展报告 : 中国的“八五”" in titles
        assert any("Köln" in t for t in titles)
        stored = session.scalar(select(func.count()).select_from(BibRecord)) or 0
        assert (session.scalar(select(func.count()).select_from(SearchOutbox)) or 0) == stored
        lines = report_rows(session, auth.batch_ids)
        assert len(lines) == 1066 and {ln["reason"] for ln in lines} == {"authority"}
        batch = session.get(ImportBatch, pride.batch_ids[0])
        assert batch is not None and batch.status == "done" and batch.read == 383
    before = _marcs(db)
    assert len(before) > 1800
    with db.transaction() as session:
        original_ids = list(session.scalars(select(BibRecord.id).order_by(BibRecord.id)))
    # ISO 2709: export, import into the database again, compare what is stored
    out = tmp_path / "export.mrc"
    with out.open("wb") as fh:
        assert export_records(db, fh, fmt="iso2709", record_ids=original_ids) == len(before)
    with db.transaction() as session:
        first_new = (session.scalar(select(func.max(BibRecord.id))) or 0) + 1
    summary = import_file(db, out, match="none")
    assert (summary.imported, summary.skipped) == (len(before), 0)
    with db.transaction() as session:
        after = list(session.scalars(select(BibRecord.marc).where(BibRecord.id >= first_new).order_by(BibRecord.id)))
    different = [i for i, (a, b) in enumerate(zip(before, after, strict=True)) if not _same(a, b)]
    assert different == [], f"iso2709: records {different[:5]} differ after export and re-import"
    # MARCXML: export and read back (the same reader and storage form the import uses)
    out = tmp_path / "export.xml"
    with out.open("wb") as fh:
        assert export_records(db, fh, fmt="marcxml", record_ids=original_ids) == len(before)
    back = []
    for r in read_file(out):
        assert r.record is not None, r.error
        mark_unicode(r.record, r.flavour)
        back.append(record_to_json(r.record))
    different = [i for i, (a, b) in enumerate(zip(before, back, strict=True)) if not _same(a, b)]
    assert different == [], f"marcxml: records {different[:5]} differ after export and re-import"


def test_import_twice_with_match_isbn_creates_no_duplicates(db: Database, central: int) -> None:
    path = shared_file("marc", "marc21_utf8_traject_30_cjk.mrc")
    first = import_file(db, path, match="isbn")
    n = _count(db, BibRecord)
    items = _count(db, Item)
    assert first.imported == n
    second = import_file(db, path, match="isbn")
    assert second.imported == 0 and second.updated == 30
    assert _count(db, BibRecord) == n and _count(db, Item) == items
    with db.transaction() as session:
        assert (session.scalar(select(func.count()).select_from(RecordHistory)
                               .where(RecordHistory.action == "update")) or 0) == 30 + first.updated


def test_match_control_number(db: Database, central: int, tmp_path: Path) -> None:
    path = tmp_path / "two.mrc"
    path.write_bytes(to_iso2709(marc21_record("First", control_number="X1"))
                     + to_iso2709(marc21_record("Second", control_number="X2")))
    import_file(db, path, match="control-number")
    path.write_bytes(to_iso2709(marc21_record("First, revised", control_number="X1")))
    summary = import_file(db, path, match="control-number")
    assert (summary.imported, summary.updated) == (0, 1)
    with db.transaction() as session:
        assert sorted(session.scalars(select(BibRecord.title))) == ["First, revised", "Second"]


def test_same_isbn_twice_in_one_file_updates(db: Database, central: int, tmp_path: Path) -> None:
    path = tmp_path / "dup.mrc"
    path.write_bytes(to_iso2709(cnmarc_record("版本一", isbn="9787503717444"))
                     + to_iso2709(cnmarc_record("版本二", isbn="7-5037-1744-0")))
    summary = import_file(db, path, match="isbn")
    assert (summary.imported, summary.updated) == (1, 1)
    with db.transaction() as session:
        assert list(session.scalars(select(BibRecord.title))) == ["版本二"]
        assert list(session.scalars(select(RecordIsbn.isbn13))) == ["9787503717444"]


def test_holdings_become_copies_at_the_branch(db: Database, central: int, tmp_path: Path) -> None:
    from pymarc import Field, Indicators, Subfield

    rec = cnmarc_record("乡土中国", isbn="9787108009821")
    rec.add_field(Field("905", Indicators(" ", " "), [Subfield("a", "ZY"), Subfield("b", "A0001"),
                                                      Subfield("d", "C912.82"), Subfield("e", "1")]))
    rec.add_field(Field("905", Indicators(" ", " "), [Subfield("a", "ZY"), Subfield("b", "A0002")]))
    path = tmp_path / "h.mrc"
    path.write_bytes(to_iso2709(rec))
    with db.transaction() as session:
        other = factories.make_branch(session, code="ZY07").id
    summary = import_file(db, path, match="isbn", branch_id=other)
    assert summary.items_created == 2
    with db.transaction() as session:
        items = list(session.scalars(select(Item).order_by(Item.barcode)))
        assert [(i.barcode, i.home_branch_id, i.call_number, i.status) for i in items] == [
            ("A0001", other, "C912.82/1", "available"), ("A0002", other, "C912.82/1", "available")]


def test_killed_import_keeps_committed_batches_and_rerun_does_not_duplicate(db: Database, central: int,
                                                                          tmp_path: Path) -> None:
    path = tmp_path / "many.mrc"
    path.write_bytes(b"".join(to_iso2709(cnmarc_record(f"书{i}", isbn=None, control_number=f"K{i}"))
                              for i in range(25)))
    calls = []

    def die_after_two_batches(done: int) -> None:
        calls.append(done)
        if len(calls) == 2:
            raise KeyboardInterrupt  # what Ctrl-C or a kill does mid-file

    with pytest.raises(KeyboardInterrupt):
        import_file(db, path, match="isbn", batch_size=10, progress=die_after_two_batches)
    assert _count(db, BibRecord) == 20  # two committed batches of 10
    summary = import_file(db, path, match="isbn", batch_size=10)
    assert (summary.imported, summary.updated) == (5, 20)
    assert _count(db, BibRecord) == 25


def test_cli_import_report_and_export(app: Flask, runner: FlaskCliRunner, db: Database, central: int,
                                      tmp_path: Path) -> None:
    report = tmp_path / "report.csv"
    path = shared_file("marc", "BAD_pymarc_bad_records.mrc")
    result = runner.invoke(args=["catalog", "import", str(path), "--match", "isbn", "--report", str(report),
                                 "--quiet"])
    assert result.exit_code == 0, result.output
    assert "read: 8" in result.output and "imported: 2" in result.output and "bad_record: 6" in result.output
    with report.open(encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 6 and rows[0]["record_number"] == "2" and rows[0]["byte_offset"] == "127"
    out = tmp_path / "out.xml"
    result = runner.invoke(args=["catalog", "export", "--format", "marcxml", "-o", str(out)])
    assert result.exit_code == 0 and "exported 2 records" in result.output
    result = runner.invoke(args=["catalog", "import", str(path), "--branch", "NOPE"])
    assert result.exit_code != 0 and "NOPE" in result.output
    assert get_database(app) is db
