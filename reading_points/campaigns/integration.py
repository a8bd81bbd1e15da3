"""The calls this package makes into the circulation and points packages, in one place
(contracts in notes/CONTRACTS.md): notices, reader blocks, loans, and the points ledger."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from library.models import Branch, Reader


def queue_notice(session: Session, *, reader: Reader, kind: str, dedup_key: str, subject: str, body: str,
                 branch: Branch | None, now: dt.datetime) -> Any:
    """Queue a notice through circulation's outbox (idempotent per ``dedup_key``)."""
    from circulation.notices import queue_notice as queue

    return queue(session, reader=reader, kind=kind, dedup_key=dedup_key, subject=subject, body=body,
                 branch=branch, now=now)


def reader_block_messages(session: Session, reader: Reader, now: dt.datetime) -> list[str]:
    """Why the reader may not borrow now (empty: no block)."""
    from circulation.blocks import reader_blocks

    return [str(b.message) for b in reader_blocks(session, reader, now)]


def earn(session: Session, *, reader_id: int, kind: str, idempotency_key: str, reason: str, now: dt.datetime,
         points: int | None = None, source: str = "") -> Any:
    from reading_points.points.services import earn as post

    return post(session, reader_id=reader_id, kind=kind, idempotency_key=idempotency_key, reason=reason,
                now=now, points=points, source=source)


def penalise(session: Session, *, reader_id: int, kind: str, idempotency_key: str, reason: str,
             now: dt.datetime, points: int | None = None) -> Any:
    from reading_points.points.services import penalise as post

    return post(session, reader_id=reader_id, kind=kind, idempotency_key=idempotency_key, reason=reason,
                now=now, points=points)


def points_earned(session: Session, *, start: dt.datetime, end: dt.datetime, key_prefixes: tuple[str, ...] = ()) -> int:
    """Points readers earned in [start, end) (positive ledger entries), optionally only entries
    whose idempotency key starts with one of ``key_prefixes``. 0 without a points ledger."""
    try:
        from reading_points.points.models import PointsEntry
    except ImportError:
        return 0
    stmt = select(func.coalesce(func.sum(PointsEntry.amount), 0)).where(
        PointsEntry.amount > 0, PointsEntry.created_at >= start, PointsEntry.created_at < end)
    if key_prefixes:
        stmt = stmt.where(or_(*[PointsEntry.idempotency_key.startswith(p) for p in key_prefixes]))
    return int(session.scalar(stmt) or 0)


def loan_model() -> Any:
    """circulation.models.Loan (None if circulation is not installed)."""
    try:
        from circulation.models import Loan
    except ImportError:
        return None
    return Loan


def count_loans(session: Session, *, start: dt.datetime, end: dt.datetime, branch_ids: list[int] | None = None,
                reader_id: int | None = None) -> int:
    """Loans checked out in [start, end) (at ``branch_ids`` if given, by ``reader_id`` if given)."""
    loan = loan_model()
    if loan is None:
        return 0
    stmt = select(func.count()).select_from(loan).where(loan.checked_out_at >= start, loan.checked_out_at < end)
    if branch_ids:
        stmt = stmt.where(loan.branch_id.in_(branch_ids))
    if reader_id is not None:
        stmt = stmt.where(loan.reader_id == reader_id)
    return int(session.scalar(stmt) or 0)


def loans_per_day(session: Session, *, start: dt.datetime, end: dt.datetime,
                  branch_ids: list[int] | None = None) -> list[dt.datetime]:
    loan = loan_model()
    if loan is None:
        return []
    stmt = select(loan.checked_out_at).where(loan.checked_out_at >= start, loan.checked_out_at < end)
    if branch_ids:
        stmt = stmt.where(loan.branch_id.in_(branch_ids))
    return list(session.scalars(stmt))
