"""Factories and helpers for the points tests."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from library import clock
from reading_points.points import rewards
from reading_points.points.models import Reward
from tests import factories

NOW = dt.datetime(2026, 6, 15, 2, 0, tzinfo=dt.UTC)  # 10:00 in Shanghai


@dataclass
class FakeLoan:
    """Stands in for circulation's Loan in signal tests (the attributes the handlers read)."""

    id: int
    reader_id: int
    item_id: int
    branch_id: int
    checked_out_at: dt.datetime
    renewals: int = 0
    overdue_days: int = 0
    return_branch_id: int | None = None
    due_on: dt.date | None = None


@dataclass
class FakeHold:
    id: int
    reader_id: int
    pickup_branch_id: int


def make_reward(session: Session, *, cost: int = 50, kind: str = "goods", stock: dict[int, int] | None = None,
                limit_per_reader: int | None = None, name: str | None = None, **fields: Any) -> Reward:
    return rewards.save_reward(
        session, reward=None, name=name or f"奖品{factories.seq()}", description="", kind=kind, cost=cost,
        limit_per_reader=limit_per_reader, extra_loans=fields.get("extra_loans", 0),
        benefit_days=fields.get("benefit_days", 30), active_from=fields.get("active_from"),
        active_until=fields.get("active_until"), active=fields.get("active", True), now=clock.now(), stock=stock,
    )


def bulk_history(session: Session, reader_id: int, n: int, *, start: dt.datetime | None = None) -> None:
    """``n`` one-point earnings for a reader, written in bulk (a consistent ledger: entries,
    lots, month summaries and the account), for tests of pages over long histories."""
    from sqlalchemy import insert, select

    from reading_points.points import ledger
    from reading_points.points.models import PointsEntry, PointsLot, PointsMonth

    account = ledger.lock_account(session, reader_id, clock.now())
    start = start or dt.datetime(2026, 1, 1, 2, tzinfo=dt.UTC)
    base_balance = account.balance
    rows: list[dict[str, Any]] = []
    for i in range(n):
        at = start + dt.timedelta(minutes=20 * i)
        day = ledger.local_date(at)
        rows.append({"account_id": account.id, "kind": "earn", "rule": "checkout", "amount": 1, "held_change": 0,
                     "balance_after": base_balance + i + 1, "reason": "借阅图书", "source": f"bulk:{i}",
                     "idempotency_key": f"bulk:{reader_id}:{i}", "created_at": at, "day": day,
                     "month": day.strftime("%Y-%m")})
    session.execute(insert(PointsEntry), rows)
    ids = list(session.scalars(select(PointsEntry.id).where(PointsEntry.account_id == account.id,
                                                            PointsEntry.source.like("bulk:%"))
                               .order_by(PointsEntry.id)))
    session.execute(insert(PointsLot), [{"account_id": account.id, "entry_id": eid, "amount": 1, "remaining": 1,
                                         "expires_on": dt.date(2027, 12, 31)} for eid in ids])
    months: dict[str, int] = {}
    for r in rows:
        months[r["month"]] = months.get(r["month"], 0) + 1
    running = base_balance
    for month in sorted(months):
        running += months[month]
        session.add(PointsMonth(account_id=account.id, month=month, earned=months[month], spent=0,
                                closing_balance=running))
    account.balance = base_balance + n
    account.lifetime_earned += n
    session.flush()
