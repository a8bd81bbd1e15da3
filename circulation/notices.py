"""The notices outbox: due soon, overdue, hold ready, hold expiring (and reading-campaign reminders
from other packages). A notice is written once per ``dedup_key`` in the transaction of its event;
``circulation.channels`` sends it later, at most once."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from circulation.models import Notice
from library.models import Branch, Reader


def queue_notice(session: Session, *, reader: Reader, kind: str, dedup_key: str, subject: str, body: str,
                 branch: Branch | None, now: dt.datetime) -> Notice | None:
    """Queue a notice for ``reader`` unless one with ``dedup_key`` exists (then return None).

    The unique index on ``dedup_key`` settles races between two transactions: the loser's insert
    is rolled back to a savepoint and it gets None too."""
    if session.scalar(select(Notice.id).where(Notice.dedup_key == dedup_key)) is not None:
        return None
    notice = Notice(reader_id=reader.id, branch_id=branch.id if branch is not None else None, kind=kind,
                    channel="", dedup_key=dedup_key, subject=subject[:200], body=body, created_at=now, attempts=0)
    try:
        with session.begin_nested():
            session.add(notice)
    except IntegrityError:
        return None
    return notice
