"""Writing to the search outbox. Every service that changes a record or one of its copies calls
``enqueue`` in the same transaction; the search package applies the outbox after commit."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Insert, bindparam, insert
from sqlalchemy.orm import Session

from catalog.models import SearchOutbox
from library import clock
from library.db import table_of

_INSERT = insert(table_of(SearchOutbox))


def upsert_statement() -> Insert:
    """The outbox INSERT of an ``upsert`` of the bound ``outbox_record_id`` at the bound ``now``,
    for a service that writes it as part of a larger statement (a data-modifying CTE on
    PostgreSQL) rather than with ``enqueue``. (Not ``record_id``: a parameter named as a column
    of a table updated in the same statement would be taken as a new value for that column.)"""
    table = table_of(SearchOutbox)
    return insert(table).values(record_id=bindparam("outbox_record_id", type_=table.c.record_id.type), op="upsert",
                                created_at=bindparam("now", type_=table.c.created_at.type))


def enqueue(session: Session, record_id: int, op: str = "upsert", *, now: dt.datetime | None = None) -> None:
    """Note that record ``record_id`` must be re-indexed (``upsert``) or removed (``delete``)."""
    if op not in ("upsert", "delete"):
        raise ValueError(op)
    # A plain INSERT, not an ORM object: nothing reads the row back in this transaction, and the
    # unit of work would cost more than the statement (it is on the checkout and check-in paths).
    session.connection().execute(_INSERT, {"record_id": record_id, "op": op, "created_at": now or clock.now()})
