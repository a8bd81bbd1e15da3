"""Decision table, lost and damaged copies, settling charges, item-level holds, hold limits,
statistics."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from circulation import errors
from circulation.loans import transition
from circulation.models import LOAN_STATES, LOAN_TRANSITIONS, Loan
from circulation.services import (
    checkin,
    checkout,
    lift_suspension,
    mark_damaged,
    mark_lost,
    place_hold,
    reader_blocks,
    renew,
    settle_charge,
)
from circulation.stats import daily_stats
from library.models import AuditEntry
from tests.circulation.factories import local_noon, make_item, make_record
from tests.factories import make_branch, make_reader, make_staff

MONDAY = dt.date(2026, 11, 2)


def test_loan_decision_table_refuses_everything_else() -> None:
    events = {e for _s, e in LOAN_TRANSITIONS} | {"checkout"}
    for state in LOAN_STATES:
        for event in events:
            loan = Loan(state=state, item_id=1)
            if (state, event) in LOAN_TRANSITIONS:
                transition(loan, event)
                assert loan.state == LOAN_TRANSITIONS[(state, event)]
            else:
                with pytest.raises(errors.NotOnLoan):
                    transition(loan, event)
                assert loan.state == state


def test_lost_then_found_and_damaged_with_charges(db_session: Session) -> None:
    now = local_noon(MONDAY)
    a = make_branch(db_session)
    staff = make_staff(db_session, role="circulation")
    reader = make_reader(db_session, home_branch=a)
    item = make_item(db_session, branch=a, price=Decimal("38.50"))
    checkout(db_session, item_barcode=item.barcode, card_number=reader.card_number, branch=a, now=now)
    charge = mark_lost(db_session, item_barcode=item.barcode, now=now, staff=staff, branch=a)
    assert charge is not None and charge.amount == Decimal("38.50") and item.status == "lost"
    assert [b.code for b in reader_blocks(db_session, reader, now)] == ["charges_over_limit"]
    with pytest.raises(errors.NotOnLoan):
        renew(db_session, item_barcode=item.barcode, now=now)
    with pytest.raises(errors.ReasonRequired):
        settle_charge(db_session, charge_id=charge.id, how="waived", now=now, staff=staff)
    settle_charge(db_session, charge_id=charge.id, how="waived", now=now, staff=staff, reason="读者找到了书")
    with pytest.raises(errors.ChargeNotOpen):
        settle_charge(db_session, charge_id=charge.id, how="paid", now=now, staff=staff)
    assert reader_blocks(db_session, reader, now) == []
    found = checkin(db_session, item_barcode=item.barcode, branch=a, now=now + dt.timedelta(days=2))
    assert found.loan is not None and found.loan.state == "returned" and item.status == "available"
    damage = mark_damaged(db_session, item_barcode=item.barcode, amount=Decimal("5"), note="水渍", now=now,
                          staff=staff, branch=a)
    assert damage is not None and damage.reader_id == reader.id and item.status == "in_repair"
    with pytest.raises(errors.ItemNotAvailable):
        checkout(db_session, item_barcode=item.barcode, card_number=reader.card_number, branch=a, now=now)
    actions = set(db_session.scalars(select(AuditEntry.action)))
    assert {"circulation.mark_lost", "circulation.charge_waived", "circulation.mark_damaged"} <= actions


def test_suspension_can_be_lifted_with_a_reason(db_session: Session) -> None:
    now = local_noon(MONDAY)
    a = make_branch(db_session)
    staff = make_staff(db_session, role="circulation")
    reader = make_reader(db_session, home_branch=a)
    item = make_item(db_session, branch=a)
    checkout(db_session, item_barcode=item.barcode, card_number=reader.card_number, branch=a, now=now)
    result = checkin(db_session, item_barcode=item.barcode, branch=a, now=now + dt.timedelta(days=45))
    assert result.suspension is not None
    later = now + dt.timedelta(days=46)
    assert [b.code for b in reader_blocks(db_session, reader, later)] == ["suspended"]
    with pytest.raises(errors.ReasonRequired):
        lift_suspension(db_session, suspension_id=result.suspension.id, now=later, staff=staff, reason=" ")
    lift_suspension(db_session, suspension_id=result.suspension.id, now=later, staff=staff, reason="系统故障")
    assert reader_blocks(db_session, reader, later) == []


def test_item_level_hold_limits_and_refusals(db_session: Session) -> None:
    now = local_noon(MONDAY)
    a, b = make_branch(db_session), make_branch(db_session)
    record = make_record(db_session)
    first = make_item(db_session, branch=a, record=record)
    second = make_item(db_session, branch=a, record=record)
    borrower = make_reader(db_session, home_branch=a)
    child = make_reader(db_session, home_branch=a, category_code="child")  # at most 3 holds
    for it in (first, second):
        checkout(db_session, item_barcode=it.barcode, card_number=borrower.card_number, branch=a, now=now)
    hold = place_hold(db_session, card_number=child.card_number, pickup_branch=b, item_barcode=second.barcode, now=now)
    assert hold.item_id == second.id and hold.state == "waiting"
    # the other copy does not fill an item-level hold on the second copy
    r = checkin(db_session, item_barcode=first.barcode, branch=a, now=now)
    assert r.hold is None and r.action == "reshelve"
    r = checkin(db_session, item_barcode=second.barcode, branch=a, now=now)
    assert r.hold is hold and r.action == "transit" and r.destination == b
    for _ in range(2):
        place_hold(db_session, card_number=child.card_number, pickup_branch=a, record_id=make_item(
            db_session, branch=b).record_id, now=now)
    with pytest.raises(errors.HoldLimitReached):
        place_hold(db_session, card_number=child.card_number, pickup_branch=a,
                   record_id=make_item(db_session, branch=b).record_id, now=now)
    reference = make_item(db_session, branch=a, item_type_code="reference")
    with pytest.raises(errors.HoldNotAllowed):
        place_hold(db_session, card_number=borrower.card_number, pickup_branch=a, record_id=reference.record_id,
                   now=now)
    with pytest.raises(errors.HoldNotAllowed):
        place_hold(db_session, card_number=borrower.card_number, pickup_branch=a, item_barcode=reference.barcode,
                   now=now)


def test_overdue_loan_cannot_be_renewed(db_session: Session) -> None:
    now = local_noon(MONDAY)
    a = make_branch(db_session)
    reader = make_reader(db_session, home_branch=a)
    item = make_item(db_session, branch=a)
    checkout(db_session, item_barcode=item.barcode, card_number=reader.card_number, branch=a, now=now)
    with pytest.raises(errors.RenewalNotAllowed):
        renew(db_session, item_barcode=item.barcode, now=now + dt.timedelta(days=31))


def test_daily_statistics(db_session: Session) -> None:
    a, b = make_branch(db_session), make_branch(db_session)
    readers = [make_reader(db_session, home_branch=a) for _ in range(2)]
    items = [make_item(db_session, branch=a) for _ in range(3)]
    now = local_noon(MONDAY)
    checkout(db_session, item_barcode=items[0].barcode, card_number=readers[0].card_number, branch=a, now=now)
    checkout(db_session, item_barcode=items[1].barcode, card_number=readers[0].card_number, branch=a, now=now)
    checkout(db_session, item_barcode=items[2].barcode, card_number=readers[1].card_number, branch=a, now=now)
    renew(db_session, item_barcode=items[0].barcode, now=now)
    checkin(db_session, item_barcode=items[1].barcode, branch=b, now=now + dt.timedelta(days=1))
    rows = daily_stats(db_session, start=MONDAY, end=MONDAY + dt.timedelta(days=1))
    got = [(r.day, r.branch_id, r.checkout, r.checkin, r.renewal, r.active_readers) for r in rows]
    assert got == [(MONDAY, a.id, 3, 0, 1, 2), (MONDAY + dt.timedelta(days=1), b.id, 0, 1, 0, 1)]
