"""The demo catalogue step: at least 2,000 records, mostly Chinese, copies over the branches."""

from __future__ import annotations

import random

from sqlalchemy import func, select

from catalog.demo import build_catalogue
from catalog.models import BibRecord, Item, SearchOutbox
from library import clock
from library.db import Database
from library.demo import DemoContext, build_network


def test_demo_catalogue(db: Database) -> None:
    ctx = DemoContext(rng=random.Random(7), now=clock.now())
    with db.transaction() as session:
        build_network(session, ctx)
    with db.transaction() as session:
        build_catalogue(session, ctx)
    with db.transaction() as session:
        records = session.scalar(select(func.count()).select_from(BibRecord)) or 0
        chinese = session.scalar(select(func.count()).select_from(BibRecord).where(BibRecord.language == "chi")) or 0
        homes = set(session.scalars(select(Item.home_branch_id).distinct()))
        outbox = session.scalar(select(func.count()).select_from(SearchOutbox)) or 0
        available = set(session.scalars(select(Item.barcode).where(Item.status == "available")))
    assert records >= 2000 and chinese > records * 0.6 and outbox == records
    assert len(homes) >= len(ctx.data["branch_ids"]) // 2
    assert ctx.data["record_ids"] and len(ctx.data["record_ids"]) == records
    assert ctx.data["item_barcodes"] and set(ctx.data["item_barcodes"]) <= available
    assert ctx.out["catalog"]["records"] == records
