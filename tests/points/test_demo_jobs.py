"""The demo step and the expiry job."""

from __future__ import annotations

import datetime as dt
import random

from flask import Flask
from sqlalchemy import func, select

from library import clock
from library.db import get_database
from library.demo import DemoContext
from reading_points.points import jobs, ledger, services
from reading_points.points.demo import build_points_demo
from reading_points.points.models import PointsEntry, Reward
from reading_points.points.verify import verify_ledger
from tests import factories


def test_demo_year_of_history_and_catalogue(app: Flask) -> None:
    db = get_database(app)
    ctx = DemoContext(rng=random.Random(7), now=dt.datetime(2026, 11, 20, 4, tzinfo=dt.UTC))
    with db.transaction() as s:  # what the network step leaves in ctx.data, smaller
        branches = [factories.make_branch(s) for _ in range(4)]
        ctx.data["branch_ids"] = [b.id for b in branches]
        ctx.data["reader_ids"] = [factories.make_reader(s, home_branch=branches[i % 4]).id for i in range(40)]
        # circulation's demo step already earned points for some readers through the signals
        services.earn(s, reader_id=ctx.data["reader_ids"][0], kind="checkout", idempotency_key="loan:1:checkout",
                      reason="借阅图书", now=ctx.now - dt.timedelta(days=2))
    with db.transaction() as s:
        build_points_demo(s, ctx)
    with db.transaction() as s:
        assert (s.scalar(select(func.count()).select_from(Reward)) or 0) >= 6
        months = set(s.scalars(select(PointsEntry.month).distinct()))
        assert len(months) >= 12
        kinds = set(s.scalars(select(PointsEntry.kind).distinct()))
        assert {"earn", "penalty", "hold"} <= kinds
        assert verify_ledger(s) == []
    assert ctx.out["points"]["postings"] > 300


def test_expiry_job_posts_once_per_lot(app: Flask) -> None:
    db = get_database(app)
    with db.transaction() as s:
        rid = factories.make_reader(s).id
        services.earn(s, reader_id=rid, kind="donation", idempotency_key="d2024", reason="捐书",
                      now=dt.datetime(2024, 5, 1, tzinfo=dt.UTC))
        services.earn(s, reader_id=rid, kind="donation", idempotency_key="d2025", reason="捐书",
                      now=dt.datetime(2025, 5, 1, tzinfo=dt.UTC))
    clock.set_now(dt.datetime(2026, 1, 5, tzinfo=dt.UTC))
    assert jobs.expire_points(app) == 1
    assert jobs.expire_points(app) == 0
    with db.transaction() as s:
        account = ledger.account_for(s, rid)
        assert account is not None and account.balance == 5
        assert verify_ledger(s) == []
