"""Demo step (order 30): a month of circulation across the network on top of the catalogue demo —
past loans returned at other branches (transits, some still travelling), current and overdue
loans, a late return with a suspension, holds in every state; lists available copies in
``demo.json`` (``available_barcodes``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.models import Item, ItemType
from circulation import services
from circulation.calendar import local_date
from circulation.models import Hold
from library.errors import LibraryError
from library.models import Branch, Reader
from library.registry import DemoStep, register_demo_step


def _at(now: dt.datetime, days_ago: float, hour: int = 10) -> dt.datetime:
    base = now - dt.timedelta(days=days_ago)
    return base.replace(hour=(hour - 8) % 24, minute=(int(days_ago * 37) % 50), second=0, microsecond=0)


def build_circulation(session: Session, ctx: Any) -> None:
    rng = ctx.rng
    now: dt.datetime = ctx.now
    today = local_date(now)
    items = list(session.scalars(
        select(Item).join(ItemType, ItemType.code == Item.item_type_code)
        .where(Item.status == "available", ItemType.loanable.is_(True)).order_by(Item.id)))
    readers = list(session.scalars(select(Reader).where(Reader.status == "active", Reader.card_expires_on > today)
                                   .order_by(Reader.id)))
    branches = {b.id: b for b in session.scalars(select(Branch))}
    out: dict[str, Any] = {"overdue_cards": [], "hold_ready_cards": [], "suspended_cards": []}
    if not items or len(readers) < 20:
        ctx.out["available_barcodes"] = [i.barcode for i in items][:200]
        ctx.out["circulation"] = out
        return
    pool = iter(readers * 3)
    branch_ids = [b for b in ctx.data.get("branch_ids", list(branches))
                  if branches[b].kind in ("central", "branch")] or list(branches)
    n = len(items)
    quarter = max(1, n // 8)
    used: set[int] = set()

    def take(k: int) -> list[Item]:
        chosen = [it for it in items if it.id not in used][:k]
        used.update(it.id for it in chosen)
        return chosen

    def attempt(fn: Any, **kw: Any) -> Any:
        try:
            with session.begin_nested():
                return fn(session, **kw)
        except LibraryError:
            return None

    # 1. Past loans, returned anywhere: most go home in transit, some still on the way.
    for i, item in enumerate(take(min(quarter, 40))):
        reader = next(pool)
        home = branches[item.current_branch_id]
        attempt(services.checkout, item_barcode=item.barcode, card_number=reader.card_number, branch=home,
                now=_at(now, 28 - i % 5))
        back = branches[rng.choice(branch_ids)]
        result = attempt(services.checkin, item_barcode=item.barcode, branch=back, now=_at(now, 12 - i % 6, 15))
        if result is not None and result.action == "transit" and i % 3:
            services.mark_sent(session, transit_ids=[t.id for t in services.to_send(session, back.id)],
                               branch_id=back.id, now=_at(now, 11 - i % 6, 9))
            if i % 2:
                attempt(services.checkin, item_barcode=item.barcode, branch=result.destination,
                        now=_at(now, 9 - i % 6, 11))
    # 2. Current loans (due in the coming weeks).
    on_loan: list[tuple[Item, Reader]] = []
    for i, item in enumerate(take(min(quarter, 60))):
        reader = next(pool)
        loan = attempt(services.checkout, item_barcode=item.barcode, card_number=reader.card_number,
                       branch=branches[item.current_branch_id], now=_at(now, 1 + i % 20))
        if loan is not None:
            on_loan.append((item, reader))
            if i % 7 == 0:
                attempt(services.renew, item_barcode=item.barcode, now=_at(now, i % 3 * 0.2))
    # 3. Overdue loans (borrowed 40-50 days ago, due after 30).
    for i, item in enumerate(take(min(quarter, 15))):
        reader = next(pool)
        loan = attempt(services.checkout, item_barcode=item.barcode, card_number=reader.card_number,
                       branch=branches[item.current_branch_id], now=_at(now, 40 + i % 10))
        if loan is not None:
            out["overdue_cards"].append(reader.card_number)
    # 4. A late return: the reader is suspended (以停代金).
    for item in take(3):
        reader = next(pool)
        if attempt(services.checkout, item_barcode=item.barcode, card_number=reader.card_number,
                   branch=branches[item.current_branch_id], now=_at(now, 50)) is not None:
            result = attempt(services.checkin, item_barcode=item.barcode, branch=branches[item.current_branch_id],
                             now=_at(now, 2, 16))
            if result is not None and result.suspension is not None:
                out["suspended_cards"].append(reader.card_number)
    # 5. Holds in every state.
    holds: dict[str, list[int]] = {k: [] for k in ("waiting", "in_transit", "ready", "collected", "expired",
                                                     "cancelled")}
    for item, _borrower in on_loan[:12]:  # waiting: the only copy is out
        reader = next(pool)
        h = attempt(services.place_hold, card_number=reader.card_number, pickup_branch=reader.home_branch,
                    record_id=item.record_id, now=_at(now, 1.5))
        if h is not None and h.state == "waiting":
            holds["waiting"].append(h.id)
    for i, item in enumerate(take(16)):  # a free copy, pulled from the shelf: ready here or sent there
        reader = next(pool)
        pickup = branches[item.current_branch_id] if i % 2 else branches[rng.choice(branch_ids)]
        days = 12 if i % 4 == 3 else 1
        h = attempt(services.place_hold, card_number=reader.card_number, pickup_branch=pickup,
                    record_id=item.record_id, now=_at(now, days))
        if h is None:
            continue
        # the copy is on the pull list of its branch; a librarian fetches it and scans it
        attempt(services.checkin, item_barcode=item.barcode, branch=branches[item.current_branch_id],
                now=_at(now, days))
        if h.state == "ready" and i % 4 == 1:
            loan = attempt(services.checkout, item_barcode=item.barcode, card_number=reader.card_number,
                           branch=pickup, now=_at(now, 0.5))
            if loan is not None:
                holds["collected"].append(h.id)
                continue
        if h.state == "ready" and h.expires_on is not None and h.expires_on < today:
            services.expire_hold(session, h, now=now)
            holds["expired"].append(h.id)
            continue
        if h.state == "ready":
            out["hold_ready_cards"].append(reader.card_number)
        holds[h.state].append(h.id)
    for item, _borrower in on_loan[-3:]:
        reader = next(pool)
        h = attempt(services.place_hold, card_number=reader.card_number, pickup_branch=reader.home_branch,
                    record_id=item.record_id, now=_at(now, 3))
        if h is not None:
            services.cancel_hold(session, hold_id=h.id, now=_at(now, 2), reader=reader)
            holds["cancelled"].append(h.id)
    session.flush()
    out["holds"] = {k: len(v) for k, v in holds.items()}
    out["hold_states_present"] = sorted({h.state for h in session.scalars(select(Hold))})
    ctx.out["circulation"] = out
    ctx.out["available_barcodes"] = list(session.scalars(
        select(Item.barcode).join(ItemType, ItemType.code == Item.item_type_code)
        .where(Item.status == "available", ItemType.loanable.is_(True)).order_by(Item.id).limit(200)))


def init_app(app: Flask) -> None:
    register_demo_step(app, DemoStep("circulation", 30, build_circulation))
