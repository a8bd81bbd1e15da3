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
