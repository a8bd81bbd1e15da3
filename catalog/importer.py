"""Importing MARC files: every readable record is kept, every bad one reported with its position
and reason, and the work is committed in batches (a killed import loses nothing already
committed; a re-run with ``match`` set updates instead of duplicating).

Every committed batch also renews the import's heartbeat. An import whose process died stops
renewing it and becomes "interrupted" (shown at once, marked in the database by the
``catalog.interrupted_imports`` job). Resuming it (``claim_resume`` then ``run_batch(...,
resume=True)``) skips the records already committed (the count ``read`` is committed with
them, in the same transaction) and carries on: nothing is imported twice, whatever ``match``,
whereas a re-run of the whole file duplicates the records without an ISBN or control number
(and every record with ``match="none"``).

New records go in with bulk inserts (one statement per table per batch); records that match an
existing one (ISBN-13 or control number 001 + 003) are updated through ``save_record``. Holdings
fields (852/949/952, CNMARC 905) with a barcode become copies at the import branch.
"""

from __future__ import annotations

import csv
import datetime as dt
import gc
import json
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.orm import Session

from catalog.errors import ImportNotResumable, ImportSuperseded
from catalog.extract import Holding, extract, holdings, index
from catalog.marc import ReadResult, mark_unicode, read_bytes, record_to_json_text
from catalog.models import (
    BibRecord,
    ImportBatch,
    ImportReportLine,
    Item,
    RecordIsbn,
    SearchOutbox,
)
from catalog.services import _price, save_record
from library import clock
from library.db import Database, UTCDateTime
from library.models import Branch

MATCH_MODES = ("isbn", "control-number", "none")
REPORT_COLUMNS = ["file", "record_number", "byte_offset", "outcome", "reason", "detail", "record_id", "title"]
_IN_CHUNK = 400  # bound parameters per IN (...) query


@dataclass
class ImportSummary:
    read: int = 0
    imported: int = 0
    updated: int = 0
    skipped: int = 0
    items_created: int = 0
    skipped_by_reason: Counter[str] = field(default_factory=Counter)
    batch_ids: list[int] = field(default_factory=list)

    def add(self, other: ImportSummary) -> None:
        self.read += other.read
        self.imported += other.imported
        self.updated += other.updated
        self.skipped += other.skipped
        self.items_created += other.items_created
        self.skipped_by_reason.update(other.skipped_by_reason)
        self.batch_ids.extend(other.batch_ids)

    def lines(self) -> list[str]:
        out = [f"read: {self.read}", f"imported: {self.imported}", f"updated: {self.updated}",
               f"skipped: {self.skipped}"]
        out += [f"  {reason}: {n}" for reason, n in sorted(self.skipped_by_reason.items())]
        out.append(f"copies created: {self.items_created}")
        return out


@dataclass
class _Pending:
    result: ReadResult
    values: dict[str, Any]
    marc_text: str  # MARC-in-JSON, serialised
    holdings: list[Holding]


def default_branch(session: Session) -> Branch | None:
    """The central library (where cataloguing happens), else the first branch."""
    branch = session.scalar(select(Branch).where(Branch.kind == "central").order_by(Branch.id).limit(1))
    return branch or session.scalar(select(Branch).order_by(Branch.id).limit(1))


def create_batch(session: Session, *, filename: str, match: str, now: dt.datetime, branch_id: int | None,
                 staff_id: int | None = None, source: str = "cli", path: str = "", total_bytes: int = 0) -> ImportBatch:
    if match not in MATCH_MODES:
        raise ValueError(match)
    batch = ImportBatch(filename=filename[:255], path=path, source=source, status="pending", match=match,
                        branch_id=branch_id, staff_id=staff_id, total_bytes=total_bytes, created_at=now,
                        heartbeat_at=now, attempt=1, skipped_by_reason={})
    session.add(batch)
    session.flush()
    return batch


def claim_resume(session: Session, batch_id: int, *, now: dt.datetime, stale_after: dt.timedelta) -> ImportBatch:
    """Take an interrupted import (marked, or pending/running but silent for ``stale_after``)
    over for a new attempt; raises ``ImportNotResumable`` otherwise (it is alive, finished, or
    somebody resumed it first). The caller commits, then runs ``run_batch(..., resume=True)``."""
    batch = session.get(ImportBatch, batch_id)
    if batch is None:
        raise ImportNotResumable(status="—")
    interrupted = (ImportBatch.status == "interrupted") | (
        ImportBatch.status.in_(("pending", "running")) & (ImportBatch.heartbeat_at < now - stale_after))
    done = session.execute(update(ImportBatch).where(ImportBatch.id == batch_id, interrupted).values(
        status="running", attempt=ImportBatch.attempt + 1, heartbeat_at=now, error="", finished_at=None))
    if not getattr(done, "rowcount", 0):
        session.refresh(batch)
        raise ImportNotResumable(status=batch.status)
    session.refresh(batch)
    return batch


def mark_interrupted_imports(session: Session, *, now: dt.datetime, stale_after: dt.timedelta) -> int:
    """Mark "interrupted" every pending or running import not heard from since
    ``now - stale_after`` (its process died); returns how many."""
    done = session.execute(update(ImportBatch).where(
        ImportBatch.status.in_(("pending", "running")), ImportBatch.heartbeat_at < now - stale_after)
        .values(status="interrupted"))
    return int(getattr(done, "rowcount", 0) or 0)


class _Run:
    """The import of one file into one ImportBatch, as one attempt: every write of progress
    checks that the batch is still this attempt's (``ImportSuperseded`` otherwise, and the
    batch's transaction rolls back)."""

    def __init__(self, db: Database, batch_id: int, *, batch_size: int,
                 progress: Callable[[int], None] | None, resume: bool = False) -> None:
        self.db = db
        self.batch_id = batch_id
        self.batch_size = batch_size
        self.progress = progress
        self.summary = ImportSummary(batch_ids=[batch_id])
        with db.transaction() as session:
            if not resume:  # a new import: pending -> running, heard from now
                started = session.execute(update(ImportBatch).where(
                    ImportBatch.id == batch_id, ImportBatch.status == "pending").values(
                    status="running", heartbeat_at=clock.now()))
                if not getattr(started, "rowcount", 0):
                    raise ImportSuperseded()
            batch = session.get(ImportBatch, batch_id)
            assert batch is not None
            if resume and batch.status != "running":
                raise ImportSuperseded()
            self.match = batch.match
            self.branch_id = batch.branch_id
            self.staff_id = batch.staff_id
            self.actor = f"import:{batch_id}"
            self.attempt = batch.attempt
            # A resumed import skips the records whose outcome is already committed.
            self.skip = batch.read if resume else 0
            if resume:
                self.summary.read, self.summary.imported, self.summary.updated = batch.read, batch.imported, batch.updated
                self.summary.skipped, self.summary.items_created = batch.skipped, batch.items_created
                self.summary.skipped_by_reason.update(batch.skipped_by_reason or {})
        # ISBN / control number -> record id, for records created earlier in this run
        self.seen_isbn: dict[str, int] = {}
        self.seen_control: dict[tuple[str, str | None], int] = {}

    # ------------------------------------------------------------------ per batch
    def _skip(self, lines: list[dict[str, Any]], r: ReadResult, reason: str, detail: str, title: str = "") -> None:
        self.summary.skipped += 1
        self.summary.skipped_by_reason[reason] += 1
        lines.append({"number": r.number, "byte_offset": r.offset, "outcome": "skipped", "reason": reason,
                      "detail": detail[:2000], "record_id": None, "title": title[:500]})

    def _lookup(self, session: Session, pendings: list[_Pending]) -> tuple[dict[str, int], dict[tuple[str, str | None], int]]:
        by_isbn: dict[str, int] = {}
        by_control: dict[tuple[str, str | None], int] = {}
        if self.match == "isbn":
            isbns = sorted({i for p in pendings for i in p.values["isbns"]})
            for k in range(0, len(isbns), _IN_CHUNK):
                rows = session.execute(
                    select(RecordIsbn.isbn13, RecordIsbn.record_id).join(BibRecord)
                    .where(RecordIsbn.isbn13.in_(isbns[k:k + _IN_CHUNK]), BibRecord.deleted_at.is_(None))
                    .order_by(RecordIsbn.record_id))
                for isbn, rid in rows:
                    by_isbn.setdefault(isbn, rid)
        if self.match in ("isbn", "control-number"):
            # --match isbn falls back to the control number for records without an ISBN
            numbers = sorted({p.values["control_number"] for p in pendings if p.values["control_number"]
                              and (self.match == "control-number" or not p.values["isbns"])})
            for k in range(0, len(numbers), _IN_CHUNK):
                crows = session.execute(
                    select(BibRecord.control_number, BibRecord.control_number_source, BibRecord.id)
                    .where(BibRecord.control_number.in_(numbers[k:k + _IN_CHUNK]), BibRecord.deleted_at.is_(None))
                    .order_by(BibRecord.id))
                for number, source, rid in crows:
                    by_control.setdefault((number or "", source), rid)
        return by_isbn, by_control

    def _by_control(self, p: _Pending) -> bool:
        return bool(p.values["control_number"]) and (self.match == "control-number" or (
            self.match == "isbn" and not p.values["isbns"]))

    def _match_id(self, p: _Pending, by_isbn: dict[str, int],
                  by_control: dict[tuple[str, str | None], int]) -> int | None:
        if self.match == "isbn" and p.values["isbns"]:
            for isbn in p.values["isbns"]:
                rid = by_isbn.get(isbn) or self.seen_isbn.get(isbn)
                if rid:
                    return rid
        elif self._by_control(p):
            key = (p.values["control_number"], p.values["control_number_source"])
            return by_control.get(key) or self.seen_control.get(key)
        return None

    def _remember(self, p: _Pending, rid: int) -> None:
        if self.match == "isbn":
            for isbn in p.values["isbns"]:
                self.seen_isbn.setdefault(isbn, rid)
        if self._by_control(p):
            self.seen_control.setdefault((p.values["control_number"], p.values["control_number_source"]), rid)

    def _insert_new(self, session: Session, news: list[_Pending], now: dt.datetime) -> list[int]:
        if not news:
            return []
        ids = bulk_insert_records(session, [(p.result.flavour, str(p.result.record.leader) if p.result.record else "",
                                             p.marc_text, p.values) for p in news],
                                  now=now, actor=self.actor, staff_id=self.staff_id, batch_id=self.batch_id)
        for rid, p in zip(ids, news, strict=True):
            self._remember(p, rid)
        self.summary.imported += len(ids)
        return ids

    def _insert_items(self, session: Session, wanted: list[tuple[int, _Pending]], now: dt.datetime,
                      lines: list[dict[str, Any]]) -> set[int]:
        """Create the copies; returns the ids of records that got copies."""
        if self.branch_id is None:
            for rid, p in wanted:
                if p.holdings:
                    lines.append({"number": p.result.number, "byte_offset": p.result.offset, "outcome": "warning",
                                  "reason": "no_branch", "detail": "holdings present but no branch to put copies at",
                                  "record_id": rid, "title": p.values["title"][:500]})
            return set()
        barcodes = sorted({h.barcode for _, p in wanted for h in p.holdings})
        existing: dict[str, int] = {}
        for k in range(0, len(barcodes), _IN_CHUNK):
            for barcode, owner in session.execute(select(Item.barcode, Item.record_id)
                                                  .where(Item.barcode.in_(barcodes[k:k + _IN_CHUNK]))):
                existing[barcode] = owner
        rows = []
        touched: set[int] = set()
        for rid, p in wanted:
            for h in p.holdings:
                if existing.get(h.barcode) == rid:
                    continue  # this copy is already there (the record was imported before)
                if h.barcode in existing:
                    lines.append({"number": p.result.number, "byte_offset": p.result.offset, "outcome": "warning",
                                  "reason": "duplicate_barcode", "detail": f"{h.tag} barcode {h.barcode} already exists",
                                  "record_id": rid, "title": p.values["title"][:500]})
                    continue
                existing[h.barcode] = rid
                touched.add(rid)
                rows.append({"barcode": h.barcode, "record_id": rid, "home_branch_id": self.branch_id,
                             "current_branch_id": self.branch_id, "shelf_location": h.shelf_location,
                             "call_number": h.call_number or p.values["call_number"], "item_type_code":
                             _item_type(p.values["material_type"]), "status": "available", "floating": False,
                             "price": _price(h.price), "acquired_on": now.date(), "notes": "",
                             "created_at": now, "updated_at": now})
        if rows:
            session.execute(insert(Item), rows)
            self.summary.items_created += len(rows)
        return touched

    def process(self, results: list[ReadResult]) -> None:
        now = clock.now()
        lines: list[dict[str, Any]] = []
        pendings: list[_Pending] = []
        for r in results:
            self.summary.read += 1
            if r.record is None:
                self._skip(lines, r, "bad_record", r.error or "unreadable")
                continue
            if r.kind == "authority":
                self._skip(lines, r, "authority", f"authority record ({r.flavour})",
                           _heading(r))
                continue
            if r.kind == "holdings":
                self._skip(lines, r, "holdings_record", "MARC21 holdings record")
                continue
            mark_unicode(r.record, r.flavour)
            idx = index(r.record)
            values = extract(idx, r.flavour)
            if r.warnings:
                lines.append({"number": r.number, "byte_offset": r.offset, "outcome": "warning",
                              "reason": "repaired", "detail": "; ".join(r.warnings)[:2000], "record_id": None,
                              "title": values["title"][:500]})
            pendings.append(_Pending(r, values, record_to_json_text(r.record), holdings(idx, r.flavour)))
        with self.db.transaction() as session:
            by_isbn, by_control = self._lookup(session, pendings) if self.match != "none" else ({}, {})
            news: list[_Pending] = []
            with_items: list[tuple[int, _Pending]] = []
            for p in pendings:
                rid = self._match_id(p, by_isbn, by_control)
                if rid is None and self.match != "none" and news and self._collides(p, news):
                    # the same book twice in one batch: insert what we have so the second updates it
                    ids = self._insert_new(session, news, now)
                    with_items += [(i, q) for i, q in zip(ids, news, strict=True) if q.holdings]
                    news = []
                    rid = self._match_id(p, by_isbn, by_control)
                if rid is None:
                    news.append(p)
                    continue
                bib = session.get(BibRecord, rid)
                assert bib is not None and p.result.record is not None
                save_record(session, p.result.record, now=now, staff=None, existing=bib, actor=self.actor,
                            action="update", batch_id=self.batch_id)
                self.summary.updated += 1
                lines.append({"number": p.result.number, "byte_offset": p.result.offset, "outcome": "updated",
                              "reason": f"match_{self.match.replace('-', '_')}", "detail": "", "record_id": rid,
                              "title": p.values["title"][:500]})
                if p.holdings:
                    with_items.append((rid, p))
            ids = self._insert_new(session, news, now)
            with_items += [(i, q) for i, q in zip(ids, news, strict=True) if q.holdings]
            touched = self._insert_items(session, with_items, now, lines)
            new_ids = set(ids)
            extra = [rid for rid in touched if rid not in new_ids]  # existing records that got copies
            if extra:
                session.execute(insert(SearchOutbox), [{"record_id": rid, "op": "upsert", "created_at": now}
                                                       for rid in extra])
            if lines:
                session.execute(insert(ImportReportLine), [{"batch_id": self.batch_id, **ln} for ln in lines])
            last = results[-1]
            # The progress and the heartbeat, committed with the records they count; a batch
            # another attempt has taken over rolls back here.
            written = session.execute(update(ImportBatch).where(*self._mine()).values(
                status="running", heartbeat_at=clock.now(), bytes_done=last.offset + len(last.raw),
                read=self.summary.read, imported=self.summary.imported, updated=self.summary.updated,
                skipped=self.summary.skipped, items_created=self.summary.items_created,
                skipped_by_reason=dict(self.summary.skipped_by_reason)))
            if not getattr(written, "rowcount", 0):
                raise ImportSuperseded()
        if self.progress is not None:
            self.progress(last.offset + len(last.raw))

    def _mine(self) -> tuple[Any, ...]:
        """Still this attempt's batch: the same attempt, running (or marked interrupted while
        this process was merely slow: its next write shows it alive)."""
        return (ImportBatch.id == self.batch_id, ImportBatch.attempt == self.attempt,
                ImportBatch.status.in_(("running", "interrupted")))

    def _collides(self, p: _Pending, news: list[_Pending]) -> bool:
        if self.match == "isbn" and p.values["isbns"]:
            mine = set(p.values["isbns"])
            return any(mine.intersection(q.values["isbns"]) for q in news)
        if self._by_control(p):
            key = (p.values["control_number"], p.values["control_number_source"])
            return any((q.values["control_number"], q.values["control_number_source"]) == key for q in news)
        return False

    def run(self, results: Iterable[ReadResult], *, tune_gc: bool = False) -> ImportSummary:
        # With tune_gc (command line and benchmark) the cyclic garbage collector is paused: the
        # import allocates millions of small acyclic objects that reference counting frees, and
        # the collector's passes over them would cost more than the parsing.
        was_enabled = gc.isenabled()
        if tune_gc:
            gc.disable()
        try:
            chunk: list[ReadResult] = []
            for position, r in enumerate(results):
                if position < self.skip:
                    continue
                chunk.append(r)
                if len(chunk) >= self.batch_size:
                    self.process(chunk)
                    chunk = []
            if chunk:
                self.process(chunk)
        finally:
            if tune_gc and was_enabled:
                gc.enable()
        with self.db.transaction() as session:
            now = clock.now()
            finished = session.execute(update(ImportBatch).where(*self._mine()).values(
                status="done", finished_at=now, heartbeat_at=now, path="", bytes_done=ImportBatch.total_bytes))
            if not getattr(finished, "rowcount", 0):
                raise ImportSuperseded()
        return self.summary


_BIB_COLUMNS = (
    "id", "flavour", "leader", "marc", "control_number", "control_number_source", "title", "responsibility",
    "authors", "publisher", "pub_place", "year", "isbns", "language", "material_type", "subjects", "series",
    "notes", "classification_clc", "classification_lc", "classification_ddc", "call_number", "title_pinyin",
    "created_at", "updated_at", "deleted_at",
)


def bulk_insert_records(session: Session, records: list[tuple[str, str, str, dict[str, Any]]], *,
                        now: dt.datetime, actor: str, staff_id: int | None = None,
                        batch_id: int | None = None) -> list[int]:
    """Insert new records in a few statements: ``records`` are (flavour, leader, MARC-in-JSON
    text, extracted values). Writes their ISBN rows, an "import" history entry and the search
    outbox; returns the new ids in order."""
    if not records:
        return []
    ids = _reserve_ids(session, len(records))
    stamp = _db_time(session, now)
    rows = []
    for rid, (flavour, leader, marc_text, v) in zip(ids, records, strict=True):
        rows.append((
            rid, flavour, leader[:24], marc_text, v["control_number"], v["control_number_source"], v["title"],
            v["responsibility"], _dumps(v["authors"]), v["publisher"], v["pub_place"], v["year"],
            _dumps(v["isbns"]), v["language"], v["material_type"], _dumps(v["subjects"]), v["series"], v["notes"],
            v["classification_clc"], v["classification_lc"], v["classification_ddc"], v["call_number"],
            v["title_pinyin"], stamp, stamp, None,
        ))
    _raw_insert(session, "bib_records", _BIB_COLUMNS, rows)
    isbn_rows = [(rid, i) for rid, rec in zip(ids, records, strict=True) for i in rec[3]["isbns"]]
    _raw_insert(session, "record_isbns", ("record_id", "isbn13"), isbn_rows)
    _raw_insert(session, "record_history", ("record_id", "at", "staff_id", "actor", "action", "changes", "batch_id"),
                [(rid, stamp, staff_id, actor, "import", "[]", batch_id) for rid in ids])
    _raw_insert(session, "search_outbox", ("record_id", "op", "created_at"), [(rid, "upsert", stamp) for rid in ids])
    return ids


def _raw_insert(session: Session, table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    """One executemany straight on the driver: the values are already what the database
    takes (JSON serialised, timestamps converted by ``_db_time``), which saves SQLAlchemy's
    per-value processing on the import's hot path."""
    if not rows:
        return
    conn = session.connection()
    quote = conn.dialect.identifier_preparer.quote
    if conn.dialect.name == "postgresql":
        # COPY is several times faster than INSERT on PostgreSQL; psycopg adapts each value
        driver = conn.connection.driver_connection
        assert driver is not None
        sql = f"COPY {quote(table)} ({', '.join(quote(c) for c in columns)}) FROM STDIN"
        with driver.cursor() as cur, cur.copy(sql) as copy:
            for row in rows:
                copy.write_row(row)
        return
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sql = (f"INSERT INTO {quote(table)} ({', '.join(quote(c) for c in columns)}) "
           f"VALUES ({', '.join([mark] * len(columns))})")
    conn.exec_driver_sql(sql, rows)


def _db_time(session: Session, now: dt.datetime) -> Any:
    """``now`` as the driver takes it for a UTCDateTime column."""
    dialect = session.connection().dialect
    proc = UTCDateTime().bind_processor(dialect)
    return proc(now) if proc is not None else now


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _reserve_ids(session: Session, n: int) -> list[int]:
    """Ids for ``n`` new bib_records rows, so that the rows can go in with one executemany
    (no RETURNING). PostgreSQL: from the table's sequence. SQLite: after the current maximum
    (the write transaction holds the database lock, so nobody else can take them)."""
    if n == 0:
        return []
    if session.get_bind().dialect.name == "postgresql":
        return list(session.scalars(text(
            "SELECT nextval(pg_get_serial_sequence('bib_records', 'id')) FROM generate_series(1, :n)"),
            {"n": n}))
    start = (session.scalar(select(func.max(BibRecord.id))) or 0) + 1
    return list(range(start, start + n))


def _heading(r: ReadResult) -> str:
    rec = r.record
    if rec is None:
        return ""
    for tag in ("100", "110", "111", "130", "150", "151", "155", "200", "210", "215", "250"):
        f = rec.get(tag)
        if f is not None and not f.is_control_field():
            return " ".join(sf.value for sf in f.subfields if sf.code.isalpha())[:500]
    return ""


def _item_type(material: str) -> str:
    return {"periodical": "periodical", "video": "av", "audio": "av"}.get(material, "book")


def run_batch(db: Database, batch_id: int, data: bytes, *, batch_size: int = 1000,
              progress: Callable[[int], None] | None = None, tune_gc: bool = False,
              resume: bool = False) -> ImportSummary:
    """Import ``data`` (a whole file) into the pending ImportBatch ``batch_id``, or with
    ``resume`` carry on an import taken over by ``claim_resume``. On an unexpected error the
    batch is marked failed (what was committed stays) and the error re-raised;
    ``ImportSuperseded`` when another attempt owns the batch (nothing more is written)."""
    run = _Run(db, batch_id, batch_size=batch_size, progress=progress, resume=resume)
    try:
        return run.run(read_bytes(data), tune_gc=tune_gc)
    except ImportSuperseded:
        raise
    except Exception as exc:
        with db.transaction() as session:
            session.execute(update(ImportBatch).where(*run._mine()).values(
                status="failed", error=f"{type(exc).__name__}: {exc}"[:2000], finished_at=clock.now()))
        raise


def import_file(db: Database, path: str | Path, *, match: str = "isbn", branch_id: int | None = None,
                use_default_branch: bool = True, staff_id: int | None = None, batch_size: int = 1000,
                source: str = "cli", progress: Callable[[int], None] | None = None,
                tune_gc: bool = False) -> ImportSummary:
    """Import one file in a new ImportBatch (see ``run_batch``)."""
    path = Path(path)
    data = path.read_bytes()
    with db.transaction() as session:
        if branch_id is None and use_default_branch:
            b = default_branch(session)
            branch_id = b.id if b is not None else None
        batch = create_batch(session, filename=path.name, match=match, now=clock.now(), branch_id=branch_id,
                             staff_id=staff_id, source=source, total_bytes=len(data))
        batch_id = batch.id
    return run_batch(db, batch_id, data, batch_size=batch_size, progress=progress, tune_gc=tune_gc)


def report_rows(session: Session, batch_ids: list[int]) -> list[dict[str, Any]]:
    rows = []
    names = dict(session.execute(select(ImportBatch.id, ImportBatch.filename).where(ImportBatch.id.in_(batch_ids))).all())
    for ln in session.scalars(select(ImportReportLine).where(ImportReportLine.batch_id.in_(batch_ids))
                              .order_by(ImportReportLine.batch_id, ImportReportLine.number, ImportReportLine.id)):
        rows.append({"file": names.get(ln.batch_id, ""), "record_number": ln.number, "byte_offset": ln.byte_offset,
                     "outcome": ln.outcome, "reason": ln.reason, "detail": ln.detail,
                     "record_id": ln.record_id if ln.record_id is not None else "", "title": ln.title})
    return rows


def write_report_csv(rows: list[dict[str, Any]], fh: Any) -> None:
    writer = csv.DictWriter(fh, fieldnames=REPORT_COLUMNS)
    writer.writeheader()
    for row in rows:
        writer.writerow(row)


def summary_of(batch: ImportBatch) -> dict[str, Any]:
    return {"id": batch.id, "filename": batch.filename, "status": batch.status, "read": batch.read,
            "imported": batch.imported, "updated": batch.updated, "skipped": batch.skipped,
            "items_created": batch.items_created, "skipped_by_reason": dict(batch.skipped_by_reason or {}),
            "bytes_done": batch.bytes_done, "total_bytes": batch.total_bytes,
            "percent": int(100 * batch.bytes_done / batch.total_bytes) if batch.total_bytes else 0,
            "error": batch.error, "heartbeat_at": batch.heartbeat_at.isoformat()}


