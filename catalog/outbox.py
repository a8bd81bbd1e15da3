"""Writing to the search outbox. Every service that changes a record or one of its copies calls
``enqueue`` in the same transaction; the search package applies the outbox after commit."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import insert
from sqlalchemy.orm import Session

from catalog.models import SearchOutbox
from library import clock
from library.db import table_of

_INSERT = insert(table_of(SearchOutbox))


def enqueue(session: Session, record_id: int, op: str = "upsert", *, now: dt.datetime | None = None) -> None:
    """Note that record ``record_id`` must be re-indexed (``upsert``) or removed (``delete``)."""
    if op not in ("upsert", "delete"):
        raise ValueError(op)
    # A plain INSERT, not an ORM object: nothing reads the row back in this transaction, and the
    # unit of work would cost more than the statement (it is on the checkout and check-in paths).
    session.connection().execute(_INSERT, {"record_id": record_id, "op": op, "created_at": now or clock.now()})
