"""The circulation contract: checkout, checkin, renewals, holds, blocks, notices."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalog.models import SearchOutbox
from circulation import errors, signals
from circulation.models import CirculationRule, Hold, Loan, Notice, Suspension
from circulation.notices import queue_notice
from circulation.services import (
    cancel_hold,
    checkin,
    checkout,
    place_hold,
    reader_blocks,
    reader_summary,
    renew,
    renew_all,
)
from tests.circulation.factories import local_noon, make_item, make_record
from tests.factories import make_branch, make_reader

MONDAY = dt.date(2026, 11, 2)


def test_checkout_and_return_at_home(db_session: Session) -> None:
    now = local_noon(MONDAY)
    a = make_branch(db_session)
    item = make_item(db_session, branch=a)
    reader = make_reader(db_session, home_branch=a)
    before = db_session.scalar(select(func.count()).select_from(SearchOutbox)) or 0
    loan = checkout(db_session, item_barcode=item.barcode, card_number=reader.card_number, branch=a, now=now)
    assert loan.state == "on_loan" and item.status == "on_loan"
    assert loan.due_on == MONDAY + dt.timedelta(days=30)
    assert (db_session.scalar(select(func.count()).select_from(SearchOutbox)) or 0) == before + 1
    with pytest.raises(errors.ItemAlreadyOnLoan):
        checkout(db_session, item_barcode=item.barcode, card_number=reader.card_number, branch=a, now=now)
    result = checkin(db_session, item_barcode=item.barcode, branch=a, now=now + dt.timedelta(days=3))
    assert result.loan is loan and loan.state == "returned" and result.on_time is True
    assert result.action == "reshelve" and item.status == "available"


def test_unknown_barcode_and_card(db_session: Session) -> None:
    a = make_branch(db_session)
    item = make_item(db_session, branch=a)
    reader = make_reader(db_session, home_branch=a)
    now = local_noon(MONDAY)
    with pytest.raises(errors.ItemNotFound) as exc:
        checkout(db_session, item_barcode="NOPE", card_number=reader.card_number, branch=a, now=now)
    assert exc.value.code == "item_not_found"
    with pytest.raises(errors.ReaderNotFound):
        checkout(db_session, item_barcode=item.barcode, card_number="NOPE", branch=a, now=now)


def test_reference_and_ancient_items_are_never_lent(db_session: Session) -> None:
    a = make_branch(db_session)
    reader = make_reader(db_session, home_branch=a)
    for code in ("reference", "ancient"):
        item = make_item(db_session, branch=a, item_type_code=code)
        with pytest.raises(errors.ItemNotLoanable):
            checkout(db_session, item_barcode=item.barcode, card_number=reader.card_number, branch=a,
                     now=local_noon(MONDAY))


def test_return_elsewhere_goes_home_unless_floating(db_session: Session) -> None:
    now = local_noon(MONDAY)
    a, b = make_branch(db_session), make_branch(db_session)
    van = make_branch(db_session, kind="mobile", floating=True)
    reader = make_reader(db_session, home_branch=a)
    item, floater, other = (make_item(db_session, branch=a), make_item(db_session, branch=a, floating=True),
                            make_item(db_session, branch=a))
    for it in (item, floater, other):
        checkout(db_session, item_barcode=it.barcode, card_number=reader.card_number, branch=a, now=now)
    r1 = checkin(db_session, item_barcode=item.barcode, branch=b, now=now)
    assert (r1.action, r1.destination) == ("transit", a) and item.status == "in_transit"
    r2 = checkin(db_session, item_barcode=floater.barcode, branch=b, now=now)
    assert r2.action == "reshelve" and floater.current_branch_id == b.id
    r3 = checkin(db_session, item_barcode=other.barcode, branch=van, now=now)
    assert r3.action == "reshelve" and other.current_branch_id == van.id
    # arriving home: the transit is received and the copy reshelved
    r4 = checkin(db_session, item_barcode=item.barcode, branch=a, now=now + dt.timedelta(days=1))
    assert r4.action == "reshelve" and item.status == "available" and item.current_branch_id == a.id


def test_due_date_moves_past_closed_days(db_session: Session) -> None:
    a = make_branch(db_session, open_days=(1, 2, 3, 4, 5, 6))  # closed on Mondays
    reader = make_reader(db_session, home_branch=a)
    item = make_item(db_session, branch=a)
    # 30 days after Sunday 2026-11-01 is Tuesday 2026-12-01 (open); after Sat 2026-10-31 it is Monday
    loan = checkout(db_session, item_barcode=item.barcode, card_number=reader.card_number, branch=a,
                    now=local_noon(dt.date(2026, 10, 31)))
    assert dt.date(2026, 11, 30).weekday() == 0
    assert loan.due_on == dt.date(2026, 12, 1)


def test_renewal_limit_and_holds_block_renewal(db_session: Session) -> None:
    now = local_noon(MONDAY)
    a = make_branch(db_session)
    record = make_record(db_session)
    item = make_item(db_session, branch=a, record=record)
    r1, r2 = make_reader(db_session, home_branch=a), make_reader(db_session, home_branch=a)
    loan = checkout(db_session, item_barcode=item.barcode, card_number=r1.card_number, branch=a, now=now)
    later = now + dt.timedelta(days=10)
    renewed = renew(db_session, item_barcode=item.barcode, card_number=r1.card_number, now=later)
    assert renewed.renewals == 1 and loan.due_on == MONDAY + dt.timedelta(days=40)
    with pytest.raises(errors.RenewalLimitReached):
        renew(db_session, item_barcode=item.barcode, now=later)
    with pytest.raises(errors.WrongReader):
        renew(db_session, item_barcode=item.barcode, card_number=r2.card_number, now=later)
    loan.renewals = 0
    place_hold(db_session, card_number=r2.card_number, pickup_branch=a, record_id=record.id, now=later)
    with pytest.raises(errors.RenewalHoldsWaiting):
        renew(db_session, item_barcode=item.barcode, now=later)
    results = renew_all(db_session, card_number=r1.card_number, now=later)
    assert [(b, type(r)) for b, r in results] == [(item.barcode, errors.RenewalHoldsWaiting)]


def test_hold_trapped_on_return_and_collected(db_session: Session) -> None:
    now = local_noon(MONDAY)
    a, c = make_branch(db_session), make_branch(db_session)
    record = make_record(db_session)
    item = make_item(db_session, branch=a, record=record)
    r1, r2 = make_reader(db_session, home_branch=a), make_reader(db_session, home_branch=c)
    checkout(db_session, item_barcode=item.barcode, card_number=r1.card_number, branch=a, now=now)
    hold = place_hold(db_session, card_number=r2.card_number, pickup_branch=c, record_id=record.id, now=now)
    assert hold.state == "waiting"
    with pytest.raises(errors.DuplicateHold):
        place_hold(db_session, card_number=r2.card_number, pickup_branch=c, record_id=record.id, now=now)
    result = checkin(db_session, item_barcode=item.barcode, branch=a, now=now + dt.timedelta(days=2))
    assert result.action == "transit" and result.destination == c and result.hold is hold
    assert hold.state == "in_transit"
    with pytest.raises(errors.ItemOnHoldForAnother):
        checkout(db_session, item_barcode=item.barcode, card_number=r1.card_number, branch=a, now=now)
    arrival = checkin(db_session, item_barcode=item.barcode, branch=c, now=now + dt.timedelta(days=3))
    assert arrival.action == "hold_shelf" and hold.state == "ready" and item.status == "on_hold_shelf"
    assert hold.expires_on == MONDAY + dt.timedelta(days=3 + 7)
    notice = db_session.scalar(select(Notice).where(Notice.dedup_key == f"hold-ready:{hold.id}"))
    assert notice is not None and notice.branch_id == c.id and notice.reader_id == r2.id
    summary = reader_summary(db_session, r2, now + dt.timedelta(days=3))
    assert summary.holds_ready == [hold]
    loan = checkout(db_session, item_barcode=item.barcode, card_number=r2.card_number, branch=c,
                    now=now + dt.timedelta(days=4))
    assert hold.state == "collected" and hold.loan_id == loan.id


def test_cancel_ready_hold_passes_copy_on(db_session: Session) -> None:
    now = local_noon(MONDAY)
    a = make_branch(db_session)
    record = make_record(db_session)
    item = make_item(db_session, branch=a, record=record)
    r1, r2 = make_reader(db_session, home_branch=a), make_reader(db_session, home_branch=a)
    h1 = place_hold(db_session, card_number=r1.card_number, pickup_branch=a, record_id=record.id, now=now)
    # a copy on the open shelf is not trapped when the hold is placed: it is on the pull list
    assert h1.state == "waiting" and item.status == "available"
    checkin(db_session, item_barcode=item.barcode, branch=a, now=now)  # pulled and scanned
    assert h1.state == "ready" and item.status == "on_hold_shelf"
    h2 = place_hold(db_session, card_number=r2.card_number, pickup_branch=a, record_id=record.id, now=now)
    assert h2.state == "waiting"
    with pytest.raises(errors.HoldNotFound):
        cancel_hold(db_session, hold_id=h1.id, now=now, reader=r2)
    cancel_hold(db_session, hold_id=h1.id, now=now, reader=r1)
    assert h1.state == "cancelled" and h2.state == "ready" and h2.trapped_item_id == item.id
    with pytest.raises(errors.HoldNotCancellable):
        cancel_hold(db_session, hold_id=h1.id, now=now)


def test_blocks_and_override(db_session: Session) -> None:
    now = local_noon(MONDAY)
    a = make_branch(db_session)
    reader = make_reader(db_session, home_branch=a, card_expires_on=MONDAY - dt.timedelta(days=1))
    item = make_item(db_session, branch=a)
    assert [b.code for b in reader_blocks(db_session, reader, now)] == ["card_expired"]
    with pytest.raises(errors.ReaderBlocked) as exc:
        checkout(db_session, item_barcode=item.barcode, card_number=reader.card_number, branch=a, now=now)
    assert exc.value.to_dict()["error"]["blocks"][0]["code"] == "card_expired"
    with pytest.raises(errors.OverrideNeedsStaff):
        checkout(db_session, item_barcode=item.barcode, card_number=reader.card_number, branch=a, now=now,
                 override_reason="读者正在续证")
    from tests.factories import make_staff

    staff = make_staff(db_session, role="circulation")
    loan = checkout(db_session, item_barcode=item.barcode, card_number=reader.card_number, branch=a, now=now,
                    staff=staff, override_reason="读者正在续证")
    assert loan.state == "on_loan"
    reader.card_expires_on = MONDAY + dt.timedelta(days=300)
    reader.status = "lost_card"
    assert "lost_card" in [b.code for b in reader_blocks(db_session, reader, now)]


def test_too_many_items_and_overdue_blocks(db_session: Session) -> None:
    now = local_noon(MONDAY)
    a = make_branch(db_session)
    reader = make_reader(db_session, home_branch=a, category_code="child")  # 5 items
    items = [make_item(db_session, branch=a) for _ in range(6)]
    for it in items[:5]:
        checkout(db_session, item_barcode=it.barcode, card_number=reader.card_number, branch=a, now=now)
    with pytest.raises(errors.ReaderBlocked) as exc:
        checkout(db_session, item_barcode=items[5].barcode, card_number=reader.card_number, branch=a, now=now)
    assert [b.code for b in exc.value.blocks] == ["too_many_items"]
    late = now + dt.timedelta(days=30 + 8)  # past due plus the child grace (7 days)
    assert "overdue_items" in [b.code for b in reader_blocks(db_session, reader, late)]


def test_late_return_suspends_or_fines(db_session: Session) -> None:
    now = local_noon(MONDAY)
    a = make_branch(db_session)
    reader = make_reader(db_session, home_branch=a)
    book = make_item(db_session, branch=a)
    magazine = make_item(db_session, branch=a, item_type_code="periodical")
    checkout(db_session, item_barcode=book.barcode, card_number=reader.card_number, branch=a, now=now)
    checkout(db_session, item_barcode=magazine.barcode, card_number=reader.card_number, branch=a, now=now)
    back = now + dt.timedelta(days=40)  # book 10 days late (grace 3), magazine 26 days late
    r = checkin(db_session, item_barcode=book.barcode, branch=a, now=back)
    assert r.on_time is False and r.loan is not None and r.loan.overdue_days == 10
    assert r.suspension is not None and (r.suspension.ends_on - r.suspension.starts_on).days + 1 == 10
    r2 = checkin(db_session, item_barcode=magazine.barcode, branch=a, now=back)
    assert r2.fine is not None and r2.fine.amount == Decimal("2.60")
    assert {b.code for b in reader_blocks(db_session, reader, back)} == {"suspended"}
    assert db_session.scalar(select(func.count()).select_from(Suspension)) == 1


def test_signals_are_sent_inside_the_transaction(db_session: Session) -> None:
    seen: list[str] = []

    def on(name: str):  # type: ignore[no-untyped-def]
        def handler(sender: Session, **kw: object) -> None:
            assert sender is db_session
            seen.append(name)
        return handler

    handlers = {s: on(n) for n, s in [("out", signals.checked_out), ("ret", signals.returned),
                                      ("ren", signals.renewed), ("hp", signals.hold_placed)]}
    for s, h in handlers.items():
        s.connect(h)
    try:
        now = local_noon(MONDAY)
        a = make_branch(db_session)
        rec = make_record(db_session)
        item = make_item(db_session, branch=a, record=rec)
        r1, r2 = make_reader(db_session, home_branch=a), make_reader(db_session, home_branch=a)
        checkout(db_session, item_barcode=item.barcode, card_number=r1.card_number, branch=a, now=now)
        renew(db_session, item_barcode=item.barcode, now=now)
        place_hold(db_session, card_number=r2.card_number, pickup_branch=a, record_id=rec.id, now=now)
        checkin(db_session, item_barcode=item.barcode, branch=a, now=now)
    finally:
        for s, h in handlers.items():
            s.disconnect(h)
    assert seen == ["out", "ren", "hp", "ret"]


def test_queue_notice_is_idempotent(db_session: Session) -> None:
    a = make_branch(db_session)
    reader = make_reader(db_session, home_branch=a)
    now = local_noon(MONDAY)
    first = queue_notice(db_session, reader=reader, kind="campaign", dedup_key="k1", subject="s", body="b",
                         branch=a, now=now)
    assert first is not None
    assert queue_notice(db_session, reader=reader, kind="campaign", dedup_key="k1", subject="s", body="b",
                        branch=None, now=now) is None
    assert db_session.scalar(select(func.count()).select_from(Notice)) == 1


def test_default_rules_are_seeded(db_session: Session) -> None:
    assert db_session.scalar(select(func.count()).select_from(CirculationRule)) >= 5
    assert db_session.scalar(select(func.count()).select_from(Loan)) == 0
    assert db_session.scalar(select(func.count()).select_from(Hold)) == 0
