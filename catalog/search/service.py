"""Keeping the index in step with the database, and running searches.

Every change to a record or its copies writes a ``search_outbox`` row in its own transaction;
after commit ``apply_outbox`` re-reads those records from the database and replaces (or
deletes) their index documents, then stores the last applied outbox id in the index directory.
A node that missed changes (killed, or another node wrote them) catches up the next time it
searches. Outbox ids are handed out before commit, so a lower id can become visible after a
higher one (PostgreSQL); the watermark therefore stops before such a gap until the gap is older
than ``GAP_GRACE`` (a rolled-back transaction leaves a gap that never fills).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalog.models import BibRecord, SearchOutbox
from catalog.search.backend import SearchResult, WhooshBackend
from catalog.search.documents import documents_for
from catalog.search.query import SearchQuery
from library import clock
from library.db import get_database

log = logging.getLogger(__name__)
GAP_GRACE = dt.timedelta(seconds=30)
BATCH = 2000
_EXT = "catalog.search"


def _state(app: Flask) -> dict[str, Any]:
    st: dict[str, Any] | None = app.extensions.get(_EXT)
    if st is None:
        st = app.extensions.setdefault(_EXT, {"lock": threading.Lock(), "backend": None, "seen": None})
    return st


def backend(app: Flask) -> WhooshBackend:
    """The search backend of this node (created on first use; the factory does no work)."""
    st = _state(app)
    be: WhooshBackend | None = st["backend"]
    if be is None:
        with st["lock"]:
            be = st["backend"]
            if be is None:
                be = WhooshBackend(app.config["LIBRARY_INDEX_DIR"])
                be.text_lookup = _text_lookup(app)  # type: ignore[attr-defined]
                st["backend"] = be
    return be


def _text_lookup(app: Flask) -> Callable[[int], list[str]]:
    def lookup(record_id: int) -> list[str]:
        with get_database(app).ReadSession() as session:
            rec = session.get(BibRecord, record_id)
            return [rec.title, *(rec.authors or [])] if rec is not None else []

    return lookup


def apply_outbox(app: Flask, *, now: dt.datetime | None = None) -> int:
    """Apply the outbox rows this node's index has not seen; returns how many rows were applied.
    Cheap when nothing is pending (one indexed ``max(id)`` query)."""
    be = backend(app)
    st = _state(app)
    db = get_database(app)
    applied = 0
    with st["lock"]:
        while True:
            with db.ReadSession() as session:
                last = be.last_outbox_id()
                max_id = session.scalar(select(func.max(SearchOutbox.id))) or 0
                if max_id < last:
                    # The database is older than the index (restored backup): follow it again.
                    last = 0
                if max_id <= last:
                    return applied
                rows = session.execute(
                    select(SearchOutbox.id, SearchOutbox.record_id, SearchOutbox.op, SearchOutbox.created_at)
                    .where(SearchOutbox.id > last)
                    .order_by(SearchOutbox.id)
                    .limit(BATCH)
                ).all()
                if not rows:
                    return applied
                watermark = _watermark(last, rows, now or clock.now())
                ids = sorted({r.record_id for r in rows})
                upserts, deletes = _documents(session, ids)
            be.apply(upserts, deletes)
            be.set_last_outbox_id(watermark)
            applied += len(rows)
            if len(rows) < BATCH or watermark == last:
                return applied


def _watermark(last: int, rows: Sequence[Any], now: dt.datetime) -> int:
    expected = last + 1
    mark = last
    for row in rows:
        if row.id != expected and now - row.created_at < GAP_GRACE:
            # An earlier id may still be in an open transaction; look again next time.
            return mark
        mark = row.id
        expected = row.id + 1
    return mark


def _documents(session: Session, ids: list[int]) -> tuple[list[dict[str, Any]], list[int]]:
    records = list(session.scalars(select(BibRecord).where(BibRecord.id.in_(ids))))
    live = [r for r in records if r.deleted_at is None]
    live_ids = {r.id for r in live}
    deletes = [i for i in ids if i not in live_ids]
    return documents_for(session, live), deletes


def after_commit(app: Flask) -> int:
    """Called by views after ``commit()``; a failure here never fails the request (the next
    search or ``library catalog reindex`` catches up)."""
    try:
        return apply_outbox(app)
    except Exception:  # the change is committed; the index follows later
        log.exception("applying the search outbox failed")
        return 0


def search(app: Flask, q: SearchQuery) -> SearchResult:
    """Bring this node's index up to date, then search it."""
    after_commit(app)
    return backend(app).search(q)


def iter_documents(app: Flask, *, chunk: int = 1000,
                   progress: Callable[[int], None] | None = None) -> Iterator[dict[str, Any]]:
    db = get_database(app)
    last_id = 0
    with db.ReadSession() as session:
        while True:
            records = list(
                session.scalars(
                    select(BibRecord)
                    .where(BibRecord.id > last_id, BibRecord.deleted_at.is_(None))
                    .order_by(BibRecord.id)
                    .limit(chunk)
                )
            )
            if not records:
                return
            yield from documents_for(session, records)
            if progress:
                progress(len(records))
            last_id = records[-1].id
            session.expunge_all()


def reindex(app: Flask, *, procs: int = 1, progress: Callable[[int], None] | None = None) -> int:
    """Rebuild this node's index from the database; returns the number of records indexed."""
    st = _state(app)
    be = backend(app)
    with st["lock"]:
        with get_database(app).ReadSession() as session:
            watermark = session.scalar(select(func.max(SearchOutbox.id))) or 0
        n = be.rebuild(iter_documents(app, progress=progress), procs=procs, last_outbox_id=watermark)
    # changes committed while rebuilding
    apply_outbox(app)
    return n


def live_record_count(app: Flask) -> int:
    with get_database(app).ReadSession() as session:
        return int(session.scalar(select(func.count(BibRecord.id)).where(BibRecord.deleted_at.is_(None))) or 0)
