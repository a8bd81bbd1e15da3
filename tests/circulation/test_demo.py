"""The circulation demo step on a small network with a few dozen copies."""

from __future__ import annotations

import random

from flask import Flask
from sqlalchemy import func, select

from catalog.models import Item
from circulation.demo import build_circulation
from circulation.models import Hold, Loan, Transit
from library import clock
from library.db import get_database
from library.demo import DemoContext
from tests.circulation.factories import make_item, make_record
from tests.factories import make_branch, make_reader


def test_demo_step_makes_loans_holds_in_every_state_and_transits(app: Flask) -> None:
    db = get_database(app)
    ctx = DemoContext(rng=random.Random(7), now=clock.now())
    with db.transaction() as s:
        branches = [make_branch(s, kind="central")] + [make_branch(s, open_days=(1, 2, 3, 4, 5, 6)) for _ in range(3)]
        readers = [make_reader(s, home_branch=branches[i % 4]) for i in range(24)]
        for i in range(48):
            make_item(s, branch=branches[i % 4], record=make_record(s))
        ctx.data.update(branch_ids=[b.id for b in branches], reader_ids=[r.id for r in readers])
    with db.transaction() as s:
        build_circulation(s, ctx)
    with db.transaction() as s:
        states = set(s.scalars(select(Hold.state).distinct()))
        assert states == {"waiting", "in_transit", "ready", "collected", "expired", "cancelled"}
        today = ctx.now.date()
        overdue = s.scalar(select(func.count()).select_from(Loan).where(Loan.state == "on_loan", Loan.due_on < today))
        assert overdue and overdue >= 5
        assert s.scalar(select(func.count()).select_from(Transit).where(Transit.received_at.is_(None))) or 0 > 0
        available = set(s.scalars(select(Item.barcode).where(Item.status == "available")))
    barcodes = ctx.out["available_barcodes"]
    assert barcodes and set(barcodes) <= available
    assert ctx.out["circulation"]["overdue_cards"]
