"""Statistics per branch and local day: loans, returns, renewals, holds placed, active readers
(distinct readers with any event) and visits (readers served at a counter or kiosk).

Anonymised loans (circulation.privacy) keep their events without the reader; the readers who
left a branch-day's events that way are counted in ``circulation_anonymised_readers`` and added
to the active readers, so the figures do not change when history is anonymised."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from circulation.models import AnonymisedReaderCount, CirculationEvent

KINDS = ("checkout", "checkin", "renewal", "hold_placed", "visit")


@dataclass
class DayRow:
    day: dt.date
    branch_id: int
    checkout: int = 0
    checkin: int = 0
    renewal: int = 0
    hold_placed: int = 0
    visit: int = 0
    active_readers: int = 0


def daily_stats(session: Session, *, start: dt.date, end: dt.date,
                branch_ids: list[int] | None = None) -> list[DayRow]:
    """One row per (day, branch) with any event between ``start`` and ``end`` inclusive."""
    where = [CirculationEvent.day >= start, CirculationEvent.day <= end]
    if branch_ids is not None:
        where.append(CirculationEvent.branch_id.in_(branch_ids))
    rows: dict[tuple[dt.date, int], DayRow] = {}
    for day, branch_id, kind, n in session.execute(
        select(CirculationEvent.day, CirculationEvent.branch_id, CirculationEvent.kind, func.count())
        .where(*where).group_by(CirculationEvent.day, CirculationEvent.branch_id, CirculationEvent.kind)
    ):
        row = rows.setdefault((day, branch_id), DayRow(day, branch_id))
        setattr(row, kind, int(n))
    for day, branch_id, n in session.execute(
        select(CirculationEvent.day, CirculationEvent.branch_id, func.count(distinct(CirculationEvent.reader_id)))
        .where(*where, CirculationEvent.reader_id.is_not(None))
        .group_by(CirculationEvent.day, CirculationEvent.branch_id)
    ):
        rows.setdefault((day, branch_id), DayRow(day, branch_id)).active_readers = int(n)
    anon = [AnonymisedReaderCount.day >= start, AnonymisedReaderCount.day <= end]
    if branch_ids is not None:
        anon.append(AnonymisedReaderCount.branch_id.in_(branch_ids))
    for day, branch_id, n in session.execute(
        select(AnonymisedReaderCount.day, AnonymisedReaderCount.branch_id, AnonymisedReaderCount.readers).where(*anon)
    ):
        rows.setdefault((day, branch_id), DayRow(day, branch_id)).active_readers += int(n)
    return sorted(rows.values(), key=lambda r: (r.day, r.branch_id))


def totals_by_day(rows: list[DayRow], start: dt.date, end: dt.date) -> list[DayRow]:
    """Every day of the range (zeros included), summed over branches (for the charts)."""
    out = {start + dt.timedelta(days=i): DayRow(start + dt.timedelta(days=i), 0)
           for i in range((end - start).days + 1)}
    for r in rows:
        t = out.get(r.day)
        if t is None:
            continue
        for k in (*KINDS, "active_readers"):
            setattr(t, k, getattr(t, k) + getattr(r, k))
    return list(out.values())
