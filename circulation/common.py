"""Helpers shared by the circulation services: locking a copy, finding a reader, changing a
copy's status (always with the search outbox) and writing statistics events."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, insert, inspect, literal, select, update
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.orm.attributes import set_committed_value

from catalog import outbox
from catalog.models import Item
from circulation.calendar import local_date
from circulation.errors import ItemNotFound, ReaderNotFound
from circulation.models import CirculationEvent
from library.db import AlsoWrite, table_of, upsert_insert
from library.models import Branch, Reader

# The statements of the checkout and check-in paths are built once, with bound parameters:
# building a statement (and its cache key) costs several times more CPU than running it
# (measured by bench/circulation.py).
_ITEM_FOR_UPDATE = (
    select(Item).where(Item.barcode == bindparam("barcode")).options(joinedload(Item.item_type))
    .with_for_update(of=Item).execution_options(populate_existing=True)
)


def lock_item(session: Session, barcode: str) -> Item:
    """The copy with ``barcode``, its row locked until the transaction ends (SELECT … FOR UPDATE
    on PostgreSQL; SQLite write transactions are already exclusive). Raises ItemNotFound."""
    code = (barcode or "").strip()
    item = session.scalar(_ITEM_FOR_UPDATE, {"barcode": code})
    if item is None:
        raise ItemNotFound(barcode=code)
    return item


def lock_item_by_id(session: Session, item_id: int) -> Item:
    item = session.scalar(
        select(Item).where(Item.id == item_id).with_for_update().execution_options(populate_existing=True)
    )
    if item is None:
        raise ItemNotFound(barcode=str(item_id))
    return item


def reader_by_card(session: Session, card_number: str) -> Reader:
    """The reader holding ``card_number``. Raises ReaderNotFound."""
    card = (card_number or "").strip()
    reader = session.scalar(select(Reader).where(Reader.card_number == card)) if card else None
    if reader is None:
        raise ReaderNotFound(card=card)
    return reader


_UPDATE_ITEM_STATUS = (
    update(table_of(Item)).where(table_of(Item).c.id == bindparam("status_item_id"))
    .values(status=bindparam("new_status"), current_branch_id=bindparam("new_branch_id"),
            updated_at=bindparam("now"))
)


_EVENT_COLUMNS = ("kind", "day", "at", "branch_id", "reader_id", "item_id", "details")
# The statistics event with parameters named e_<column>: a statement it joins as a CTE may update
# a table with the same column names (a parameter named as such a column would be taken as a new
# value for it).
_INSERT_EVENT = insert(table_of(CirculationEvent)).values(
    {name: bindparam(f"e_{name}", type_=table_of(CirculationEvent).c[name].type) for name in _EVENT_COLUMNS})


def event_cte() -> Any:
    """The statistics event INSERT as a CTE to add to a statement (PostgreSQL), with the
    parameters of ``event_params``."""
    return _INSERT_EVENT.cte("counted")


def event_params(kind: str, *, branch_id: int, now: dt.datetime, reader_id: int | None = None,
                 item_id: int | None = None, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"e_kind": kind, "e_day": local_date(now), "e_at": now, "e_branch_id": branch_id,
            "e_reader_id": reader_id, "e_item_id": item_id, "e_details": details or {}}


def record_event(session: Session, kind: str, *, branch_id: int, now: dt.datetime, reader_id: int | None = None,
                 item_id: int | None = None, details: dict[str, Any] | None = None) -> None:
    """Count an event for the statistics (a plain INSERT: nothing reads it back in the transaction)."""
    session.connection().execute(_INSERT_EVENT, event_params(kind, branch_id=branch_id, now=now, reader_id=reader_id,
                                                             item_id=item_id, details=details))


def _status_ctes(count: bool) -> tuple[Any, ...]:
    """PostgreSQL: the copy's new status, its search outbox row and (``count``) a statistics
    event, as data-modifying CTEs."""
    ctes = (_UPDATE_ITEM_STATUS.cte("moved"), outbox.upsert_statement().cte("queued"))
    return (*ctes, event_cte()) if count else ctes


_STATUS_CTES = {count: _status_ctes(count) for count in (False, True)}
# standing alone: the CTEs run whether or not the statement reads them
_STATUS_PG = {count: select(literal(1)).add_cte(*_STATUS_CTES[count]) for count in (False, True)}


@dataclass
class StatusChange:
    """A copy's change of status (and place), with its outbox row and optional statistics
    event: the parameters of the statements, and what the loaded copy becomes once written."""

    item: Item
    status: str
    branch_id: int
    now: dt.datetime
    count: str | None
    params: dict[str, Any]

    def also(self) -> AlsoWrite:
        """The change as writes joined to another statement (``insert_new``; PostgreSQL)."""
        return AlsoWrite(f"item_status:{bool(self.count)}", _STATUS_CTES[bool(self.count)], self.params)

    def applied(self, session: Session) -> None:
        """The loaded copy takes the values written as its committed state (no unit of work)."""
        item = self.item
        moved = self.branch_id != item.current_branch_id
        set_committed_value(item, "status", self.status)
        set_committed_value(item, "current_branch_id", self.branch_id)
        set_committed_value(item, "updated_at", self.now)
        if moved and "current_branch" not in inspect(item).unloaded:
            session.expire(item, ["current_branch"])


def status_change(item: Item, status: str, *, now: dt.datetime, branch_id: int | None = None,
                  count: str | None = None, reader_id: int | None = None) -> StatusChange:
    new_branch_id = branch_id if branch_id is not None else item.current_branch_id
    params: dict[str, Any] = {"status_item_id": item.id, "new_status": status, "new_branch_id": new_branch_id,
                              "now": now, "outbox_record_id": item.record_id}
    if count:
        params.update(event_params(count, branch_id=new_branch_id, now=now, reader_id=reader_id, item_id=item.id))
    return StatusChange(item, status, new_branch_id, now, count, params)


def set_item_status(session: Session, item: Item, status: str, *, now: dt.datetime,
                    branch_id: int | None = None, count: str | None = None, reader_id: int | None = None) -> None:
    """Change a copy's status (and where it is), tell the search index and, with ``count``,
    record that event for the statistics at ``branch_id`` (as ``record_event``).

    Plain statements, and the loaded copy takes the new values as its committed state: the unit
    of work would cost more than the statements on the checkout and check-in paths. On
    PostgreSQL it is one statement."""
    write_status(session, status_change(item, status, now=now, branch_id=branch_id, count=count,
                                        reader_id=reader_id))


def write_status(session: Session, change: StatusChange) -> None:
    """Write ``change`` with statements of its own (one on PostgreSQL) and apply it to the copy."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(_STATUS_PG[bool(change.count)], change.params)
    else:
        connection.execute(_UPDATE_ITEM_STATUS, change.params)
        outbox.enqueue(session, change.item.record_id, now=change.now)
        if change.count:
            connection.execute(_INSERT_EVENT, change.params)
    change.applied(session)


def record_visit(session: Session, *, reader: Reader, branch: Branch, now: dt.datetime) -> None:
    """Count a reader served at a counter or kiosk: once per reader, branch and day (idempotent)."""
    values = {"kind": "visit", "day": local_date(now), "at": now, "branch_id": branch.id, "reader_id": reader.id,
              "details": {}}
    stmt = upsert_insert(session.get_bind().dialect.name)(CirculationEvent).values(**values)
    session.execute(stmt.on_conflict_do_nothing(index_elements=["branch_id", "day", "reader_id"],
                                                index_where=CirculationEvent.kind == "visit"))


def _source(message: Any) -> str:
    args = getattr(message, "_args", ())
    kwargs = getattr(message, "_kwargs", {})
    text = str(args[0]) if args else str(message)
    return text % kwargs if kwargs else text


def tr(message: Any) -> str:
    """A lazy message in the current request's language; the Chinese source text where there is
    no request (jobs, the SIP2 server), since the locale is chosen per request."""
    try:
        return str(message)
    except RuntimeError:
        return _source(message)


def zh(message: Any) -> str:
    """The Chinese source text of a lazy message, for text that is stored or sent to readers
    (notices, charge notes, suspension reasons): it must not depend on the language of the
    librarian's screen."""
    return _source(message)
