"""Reading-history privacy: returned loans of readers who do not keep a history are anonymised.

A loan is anonymised once it is returned, settled (no open charge on it) and was returned before
the local day ``after_days`` days ago (0: any earlier day, so the night after the return). The
loan keeps its copy, branches and dates (the copy's circulation history for staff) and loses its
reader: ``reader_id`` NULL, ``anonymised_at`` set (the database allows that only for returned
loans). The loan's checkout, renewal and check-in rows in ``circulation_events`` lose the reader
too; a reader who disappears from a (branch, day) that way is counted in
``circulation_anonymised_readers`` so that "active readers" in the statistics stays the same.

A reader who keeps a history keeps the loans returned since they turned it on
(``Reader.history_kept_since``); loans returned before are anonymised like anyone else's.

Loans another package still counts per reader wait (``circulation.hooks.register_history_retention``:
the books of a running reading challenge) and are anonymised once that is over.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, exists, false, or_, select, update
from sqlalchemy.orm import Session

from circulation import hooks
from circulation.calendar import local_date
from circulation.models import AnonymisedReaderCount, Charge, CirculationEvent, Hold, Loan
from library.clock import DEFAULT_TZ
from library.db import upsert_insert
from library.models import Reader

LOAN_EVENT_KINDS = ("checkout", "checkin", "renewal")


def cutoff(now: dt.datetime, after_days: int) -> dt.datetime:
    """Loans returned before this instant (local midnight ``after_days`` days ago) are old enough."""
    day = local_date(now) - dt.timedelta(days=max(0, after_days))
    return dt.datetime.combine(day, dt.time(0), tzinfo=DEFAULT_TZ).astimezone(dt.UTC)


def eligible_loans(session: Session, *, now: dt.datetime, after_days: int = 0, limit: int | None = None,
                   lock: bool = False) -> list[Loan]:
    """Returned, settled loans still naming a reader who does not keep them (oldest first)."""
    open_charge = exists().where(Charge.loan_id == Loan.id, Charge.state == "open")
    not_kept = or_(Reader.keep_history == false(),
                   and_(Reader.history_kept_since.is_not(None), Loan.returned_at < Reader.history_kept_since))
    stmt = (
        select(Loan).join(Reader, Reader.id == Loan.reader_id)
        .where(Loan.state == "returned", Loan.returned_at < cutoff(now, after_days), not_kept, ~open_charge)
        .order_by(Loan.returned_at, Loan.id)
    )
    for window in hooks.retention_windows(session, now):  # still counted per reader elsewhere
        kept = and_(Loan.checked_out_at >= window.start, Loan.checked_out_at < window.end)
        if window.branch_ids is not None:
            kept = and_(kept, Loan.branch_id.in_(window.branch_ids))
        stmt = stmt.where(~kept)
    if limit is not None:
        stmt = stmt.limit(limit)
    if lock and session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(of=Loan, skip_locked=True)
    return list(session.scalars(stmt.execution_options(populate_existing=True)))


def _count_anonymised_reader(session: Session, *, branch_id: int, day: dt.date) -> None:
    values = {"branch_id": branch_id, "day": day, "readers": 1}
    stmt = upsert_insert(session.get_bind().dialect.name)(AnonymisedReaderCount).values(**values)
    stmt = stmt.on_conflict_do_update(index_elements=["branch_id", "day"],
                                      set_={"readers": AnonymisedReaderCount.readers + 1})
    session.execute(stmt)


def anonymise_loan(session: Session, loan: Loan, *, now: dt.datetime) -> None:
    """Drop the reader from one returned loan and from its checkout, renewal and check-in events."""
    reader_id = loan.reader_id
    if reader_id is None or loan.state != "returned" or loan.returned_at is None:
        return
    events = CirculationEvent
    of_loan = and_(
        events.reader_id == reader_id, events.item_id == loan.item_id, events.kind.in_(LOAN_EVENT_KINDS),
        or_(and_(events.kind == "checkout", events.at == loan.checked_out_at),
            and_(events.kind == "checkin", events.at == loan.returned_at),
            and_(events.kind == "renewal", events.at >= loan.checked_out_at, events.at <= loan.returned_at)),
    )
    places = {(int(b), d) for b, d in session.execute(select(events.branch_id, events.day).where(of_loan))}
    session.execute(update(CirculationEvent).where(of_loan).values(reader_id=None)
                    .execution_options(synchronize_session=False))
    for branch_id, day in sorted(places):
        still_named = session.scalar(select(events.id).where(
            events.reader_id == reader_id, events.branch_id == branch_id, events.day == day).limit(1))
        if still_named is None:  # the reader just left this branch-day's distinct readers
            _count_anonymised_reader(session, branch_id=branch_id, day=day)
    # the collected hold would lead back from the loan to the reader
    session.execute(update(Hold).where(Hold.loan_id == loan.id).values(loan_id=None))
    loan.reader_id = None
    loan.anonymised_at = now
    loan.hold_id = None
    session.flush()


def anonymise_returned_loans(session: Session, *, now: dt.datetime, after_days: int = 0,
                             limit: int | None = None) -> int:
    """Anonymise every eligible loan (at most ``limit``); returns how many. Idempotent: an
    anonymised loan has no reader and is never selected again."""
    loans = eligible_loans(session, now=now, after_days=after_days, limit=limit, lock=True)
    for loan in loans:
        anonymise_loan(session, loan, now=now)
    return len(loans)
