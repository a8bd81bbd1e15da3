"""Factories for circulation tests: records and copies (through catalog.services.add_item when the
catalogue offers it), and a small network of branches."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from catalog.models import BibRecord, Item
from library import clock
from library.models import Branch

_seq = itertools.count(1)


def make_record(session: Session, *, title: str | None = None) -> BibRecord:
    n = next(_seq)
    now = clock.now()
    record = BibRecord(flavour="unimarc", leader="00000nam  2200000   450 ", marc={"leader": "", "fields": []},
                       title=title or f"测试图书{n}", created_at=now, updated_at=now)
    session.add(record)
    session.flush()
    return record


def make_item(session: Session, *, record: BibRecord | None = None, branch: Branch, barcode: str | None = None,
              item_type_code: str = "book", floating: bool = False, price: Decimal | None = None,
              **fields: Any) -> Item:
    record = record or make_record(session)
    code = barcode or f"C{next(_seq):09d}"
    now = clock.now()
    try:
        from catalog import services as catalog_services

        add_item = getattr(catalog_services, "add_item", None)
    except ImportError:
        add_item = None
    if add_item is not None:
        item: Item = add_item(session, record=record, barcode=code, branch=branch, item_type_code=item_type_code,
                              price=price, now=now)
        if floating:
            item.floating = True
    else:
        item = Item(barcode=code, record_id=record.id, home_branch_id=branch.id, current_branch_id=branch.id,
                    item_type_code=item_type_code, status="available", floating=floating, price=price,
                    created_at=now, updated_at=now)
        session.add(item)
    for key, value in fields.items():
        setattr(item, key, value)
    session.flush()
    return item


def local_noon(day: dt.date) -> dt.datetime:
    """Noon of a local (Asia/Shanghai) day, as an aware UTC datetime."""
    return dt.datetime.combine(day, dt.time(12), tzinfo=clock.DEFAULT_TZ).astimezone(dt.UTC)
