"""Must-show concurrency, with real threads and separate sessions (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from flask import Flask
from sqlalchemy import func, select

from circulation.models import CirculationEvent, Hold, Loan
from circulation.services import checkin, checkout, place_hold
from library.db import get_database
from library.errors import LibraryError
from library.models import Branch
from tests.circulation.factories import local_noon, make_item, make_record
from tests.factories import make_branch, make_reader

NOW = local_noon(dt.date(2026, 11, 3))


def _race(app: Flask, n: int, work: Callable[[Any, int], Any]) -> list[Any]:
    """Run ``work(session, i)`` in ``n`` threads that start together, each in its own session and
    transaction; returns each result or the refusal's code."""
    db = get_database(app)
    barrier = threading.Barrier(n)

    def run(i: int) -> Any:
        session = db.Session()
        try:
            barrier.wait(timeout=30)
            with session.begin():
                return work(session, i)
        except LibraryError as exc:
            return exc.code
        finally:
            session.close()

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(run, range(n)))


def test_sixteen_counters_check_out_the_same_copy(app: Flask) -> None:
    db = get_database(app)
    with db.transaction() as s:
        branch = make_branch(s)
        item = make_item(s, branch=branch)
        cards = [make_reader(s, home_branch=branch).card_number for _ in range(16)]
        barcode, branch_id = item.barcode, branch.id

    def work(session: Any, i: int) -> str:
        loan = checkout(session, item_barcode=barcode, card_number=cards[i], branch=session.get(Branch, branch_id),
                        now=NOW)
        return f"loan:{loan.id}"

    results = _race(app, 16, work)
    assert sum(1 for r in results if r.startswith("loan:")) == 1
    assert sorted(r for r in results if not r.startswith("loan:")) == ["item_already_on_loan"] * 15
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(Loan)) == 1
        assert s.scalar(select(func.count()).select_from(CirculationEvent).where(
            CirculationEvent.kind == "checkout")) == 1


def test_two_returns_at_once_close_the_loan_once(app: Flask) -> None:
    db = get_database(app)
    with db.transaction() as s:
        a, b = make_branch(s), make_branch(s)
        item = make_item(s, branch=a)
        reader = make_reader(s, home_branch=a)
        checkout(s, item_barcode=item.barcode, card_number=reader.card_number, branch=a, now=NOW)
        barcode, branch_ids = item.barcode, [a.id, b.id]

    def work(session: Any, i: int) -> tuple[int | None, str]:
        result = checkin(session, item_barcode=barcode, branch=session.get(Branch, branch_ids[i]),
                         now=NOW + dt.timedelta(days=1))
        return (result.loan.id if result.loan else None, result.action)

    results = _race(app, 2, work)
    assert sorted(r[0] is not None for r in results) == [False, True]
    with db.transaction() as s:
        loans = s.scalars(select(Loan)).all()
        assert [(loan.state, loan.return_branch_id in branch_ids) for loan in loans] == [("returned", True)]
        assert s.scalar(select(func.count()).select_from(CirculationEvent).where(
            CirculationEvent.kind == "checkin")) == 1


def test_returned_copy_with_two_waiting_holds_is_trapped_for_the_first_only(app: Flask) -> None:
    db = get_database(app)
    with db.transaction() as s:
        a, c = make_branch(s), make_branch(s)
        record = make_record(s)
        item = make_item(s, branch=a, record=record)
        borrower = make_reader(s, home_branch=a)
        checkout(s, item_barcode=item.barcode, card_number=borrower.card_number, branch=a, now=NOW)
        first = make_reader(s, home_branch=c)
        second = make_reader(s, home_branch=c)
        h1 = place_hold(s, card_number=first.card_number, pickup_branch=c, record_id=record.id, now=NOW)
        h2 = place_hold(s, card_number=second.card_number, pickup_branch=c, record_id=record.id,
                        now=NOW + dt.timedelta(minutes=1))
        barcode, ids, h1_id, h2_id = item.barcode, [a.id, c.id], h1.id, h2.id

    def work(session: Any, i: int) -> str:
        result = checkin(session, item_barcode=barcode, branch=session.get(Branch, ids[i]),
                         now=NOW + dt.timedelta(days=1))
        return f"{result.action}:{result.hold.id if result.hold else None}"

    results = _race(app, 2, work)
    assert any(r.endswith(f":{h1_id}") for r in results)
    assert not any(r.endswith(f":{h2_id}") for r in results)
    with db.transaction() as s:
        h1_state, h2_state = (s.get_one(Hold, h1_id).state, s.get_one(Hold, h2_id).state)
        assert h1_state in ("in_transit", "ready") and h2_state == "waiting"


def test_two_copies_returned_at_once_fill_two_different_holds(app: Flask) -> None:
    db = get_database(app)
    with db.transaction() as s:
        a, b, c = make_branch(s), make_branch(s), make_branch(s)
        record = make_record(s)
        items = [make_item(s, branch=a, record=record), make_item(s, branch=a, record=record)]
        borrower = make_reader(s, home_branch=a)
        for it in items:
            checkout(s, item_barcode=it.barcode, card_number=borrower.card_number, branch=a, now=NOW)
        holds = [place_hold(s, card_number=make_reader(s, home_branch=c).card_number, pickup_branch=c,
                            record_id=record.id, now=NOW + dt.timedelta(minutes=k)) for k in range(3)]
        barcodes, ids, hold_ids = [it.barcode for it in items], [a.id, b.id], [h.id for h in holds]

    def work(session: Any, i: int) -> int | None:
        result = checkin(session, item_barcode=barcodes[i], branch=session.get(Branch, ids[i]),
                         now=NOW + dt.timedelta(days=1))
        return result.hold.id if result.hold else None

    results = _race(app, 2, work)
    assert sorted(r for r in results if r is not None) == hold_ids[:2]
    with db.transaction() as s:
        states = [s.get_one(Hold, h).state for h in hold_ids]
        trapped = {s.get_one(Hold, h).trapped_item_id for h in hold_ids[:2]}
        assert states == ["in_transit", "in_transit", "waiting"] and len(trapped) == 2
