"""Transfers between branches: what a branch has to send, what is on its way to it, receiving."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from catalog.models import Item
from circulation.errors import TransitNotFound
from circulation.models import Transit
from library import audit
from library.models import StaffUser


def _open(stmt):  # type: ignore[no-untyped-def]
    return stmt.where(Transit.received_at.is_(None), Transit.cancelled_at.is_(None)).options(
        joinedload(Transit.item).joinedload(Item.record), joinedload(Transit.from_branch),
        joinedload(Transit.to_branch), joinedload(Transit.hold))


def to_send(session: Session, branch_id: int) -> list[Transit]:
    """Copies waiting at ``branch_id`` for the van (transit created, not yet sent)."""
    return list(session.scalars(_open(select(Transit)).where(Transit.from_branch_id == branch_id,
                                                             Transit.sent_at.is_(None)).order_by(Transit.created_at)))


def incoming(session: Session, branch_id: int) -> list[Transit]:
    """Copies on their way to ``branch_id`` (sent or still waiting to be sent elsewhere)."""
    return list(session.scalars(_open(select(Transit)).where(Transit.to_branch_id == branch_id)
                                .order_by(Transit.sent_at.is_(None), Transit.sent_at, Transit.created_at)))


def mark_sent(session: Session, *, transit_ids: list[int], branch_id: int, now: dt.datetime,
              staff: StaffUser | None = None) -> int:
    """Record that these transits left ``branch_id`` with the van; returns how many."""
    rows = list(session.scalars(select(Transit).where(Transit.id.in_(transit_ids), Transit.from_branch_id == branch_id,
                                                      Transit.sent_at.is_(None), Transit.received_at.is_(None),
                                                      Transit.cancelled_at.is_(None)).with_for_update()))
    if not rows and transit_ids:
        raise TransitNotFound()
    for t in rows:
        t.sent_at = now
        t.staff_id = staff.id if staff is not None else t.staff_id
    if staff is not None and rows:
        audit.record(session, action="circulation.transits_sent", staff=staff, branch_id=branch_id,
                     details={"transits": [t.id for t in rows]}, now=now)
    return len(rows)
