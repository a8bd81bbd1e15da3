"""Demo step (order 20): a real-looking catalogue of about 2,000 records, mostly Chinese, with
copies spread over the branches. Built with bulk inserts so that ``library demo`` stays fast."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import insert
from sqlalchemy.orm import Session

from catalog.extract import extract, index
from catalog.importer import bulk_insert_records
from catalog.marc import mark_unicode, read_file, record_to_json_text
from catalog.models import Item
from catalog.sample import generate_records
from library.registry import DemoStep, register_demo_step

DEMO_RECORDS = 2000
REAL_CNMARC = Path(__file__).resolve().parents[2] / "shared" / "data" / "marc" / "sru12_cnmarcxml_chinese.xml"
CHILDREN_CLASSES = ("I287", "Z228")
SHELVES = ("成人借阅区", "成人借阅区", "少儿借阅区", "新书展示架", "地方文献区")


def _records(limit: int, seed: int) -> list[tuple[str, Any]]:
    """(flavour, pymarc record): the real CNMARC records of the shared SRU sample when present,
    then generated ones up to ``limit``."""
    out: list[tuple[str, Any]] = []
    if REAL_CNMARC.exists():
        for r in read_file(REAL_CNMARC):
            if r.record is not None and r.kind == "bibliographic":
                out.append((r.flavour, r.record))
    for rec in generate_records(limit - len(out), seed=seed):
        out.append(("unimarc" if rec.get("200") is not None else "marc21", rec))
    return out


def build_catalogue(session: Session, ctx: Any) -> None:
    rng = ctx.rng
    now: dt.datetime = ctx.now
    branch_ids: list[int] = ctx.data.get("branch_ids") or []
    if not branch_ids:
        return
    central = ctx.data.get("central_id", branch_ids[0])
    entries = []
    for flavour, rec in _records(DEMO_RECORDS, seed=2026):
        mark_unicode(rec, flavour)
        values = extract(index(rec), flavour)
        entries.append((flavour, str(rec.leader), record_to_json_text(rec), values))
    ids = bulk_insert_records(session, entries, now=now, actor="demo")

    items = []
    available: list[str] = []
    n = 0
    # the central library holds most titles; branches and service points get some of them
    for rid, (_flavour, _leader, _text, values) in zip(ids, entries, strict=True):
        copies = rng.choices((1, 2, 3, 4), weights=(35, 35, 20, 10))[0]
        homes = [central] + rng.sample(branch_ids, k=min(len(branch_ids), copies - 1)) if copies > 1 else [central]
        children = values["classification_clc"].startswith(CHILDREN_CLASSES)
        for home in homes:
            n += 1
            barcode = f"ZY{n:07d}"
            status = "available"
            roll = rng.random()
            if roll < 0.01:
                status = "in_repair"
            elif roll < 0.015:
                status = "missing"
            price = values.get("price")
            items.append({
                "barcode": barcode, "record_id": rid, "home_branch_id": home, "current_branch_id": home,
                "shelf_location": "少儿借阅区" if children else rng.choice(SHELVES),
                "call_number": values["call_number"] or values["classification_clc"],
                "item_type_code": "children" if children else "book", "status": status, "floating": False,
                "price": price if isinstance(price, Decimal) else Decimal(rng.randint(18, 98)),
                "acquired_on": now.date() - dt.timedelta(days=rng.randint(0, 3 * 365)), "notes": "",
                "created_at": now, "updated_at": now,
            })
            if status == "available":
                available.append(barcode)
    for k in range(0, len(items), 1000):
        session.execute(insert(Item), items[k:k + 1000])
    session.flush()
    ctx.data["record_ids"] = ids
    ctx.data["item_barcodes"] = available
    ctx.out["catalog"] = {"records": len(ids), "copies": len(items),
                          "sample_barcodes": available[:10], "sample_record_ids": ids[:5]}


def init_demo(app: Flask) -> None:
    register_demo_step(app, DemoStep("catalog", 20, build_catalogue))
