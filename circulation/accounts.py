"""A reader's account at a glance (counter page, SIP2 patron information) and settling charges."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from catalog.models import Item
from circulation.blocks import Block, reader_blocks
from circulation.calendar import local_date
from circulation.common import tr
from circulation.errors import ChargeNotOpen, PaymentNotAccepted, ReasonRequired, SuspensionNotFound
from circulation.models import ACTIVE_HOLD_STATES, OPEN_LOAN_STATES, Charge, Hold, Loan, Suspension
from library import audit
from library.models import Reader, StaffUser


@dataclass
class ReaderSummary:
    """``loans`` open loans (due first), ``overdue`` those past due, ``holds`` active holds,
    ``holds_ready`` those waiting on a hold shelf, ``charges_total`` unpaid money."""

    reader: Reader
    loans: list[Loan]
    overdue: list[Loan]
    holds: list[Hold]
    holds_ready: list[Hold]
    charges: list[Charge]
    charges_total: Decimal
    blocks: list[Block]
    suspensions: list[Suspension] = field(default_factory=list)


def reader_summary(session: Session, reader: Reader, now: dt.datetime) -> ReaderSummary:
    today = local_date(now)
    loans = list(session.scalars(
        select(Loan).where(Loan.reader_id == reader.id, Loan.state.in_(OPEN_LOAN_STATES))
        .options(joinedload(Loan.item).joinedload(Item.record), joinedload(Loan.branch))
        .order_by(Loan.due_on, Loan.id)))
    holds = list(session.scalars(
        select(Hold).where(Hold.reader_id == reader.id, Hold.state.in_(ACTIVE_HOLD_STATES))
        .options(joinedload(Hold.record), joinedload(Hold.pickup_branch)).order_by(Hold.created_at, Hold.id)))
    charges = list(session.scalars(select(Charge).where(Charge.reader_id == reader.id, Charge.state == "open")
                                   .order_by(Charge.created_at)))
    suspensions = list(session.scalars(select(Suspension).where(
        Suspension.reader_id == reader.id, Suspension.lifted_at.is_(None), Suspension.ends_on >= today)))
    return ReaderSummary(
        reader=reader, loans=loans, overdue=[loan for loan in loans if loan.is_overdue(today)], holds=holds,
        holds_ready=[h for h in holds if h.state == "ready"], charges=charges,
        charges_total=sum((c.amount for c in charges), Decimal("0")), blocks=reader_blocks(session, reader, now),
        suspensions=suspensions,
    )


def settle_charge(session: Session, *, charge_id: int, how: str, now: dt.datetime, staff: StaffUser,
                  reason: str = "") -> Charge:
    """Mark a charge paid or waived (waiving needs a reason). Raises ChargeNotOpen."""
    charge = session.scalar(select(Charge).where(Charge.id == charge_id).with_for_update())
    if charge is None or charge.state != "open":
        raise ChargeNotOpen()
    if how not in ("paid", "waived"):
        raise ValueError(how)
    if how == "waived" and not reason.strip():
        raise ReasonRequired()
    charge.state = how
    charge.settled_at = now
    charge.updated_at = now
    charge.staff_id = staff.id
    if reason:
        charge.note = (charge.note + " / " + reason.strip())[:200]
    audit.record(session, action=f"circulation.charge_{how}", staff=staff, target_type="charge",
                 target_id=charge.id, details={"amount": str(charge.amount), "reason": reason}, now=now)
    return charge


def pay_charges(session: Session, *, reader: Reader, amount: Decimal, now: dt.datetime, payment: str,
                charge_id: int | None = None, kinds: tuple[str, ...] | None = None, staff: StaffUser | None = None,
                actor: str = "", branch_id: int | None = None, reference: str = "") -> list[Charge]:
    """Record a payment of ``amount`` by ``reader`` (at a kiosk or the desk): the one charge
    ``charge_id``, or else the oldest open charges (of ``kinds``, when given) in order. A payment
    settles whole charges only and never more than is owed: ``amount`` must be exactly the
    charge, or exactly the sum of the oldest charges it covers; anything else is refused and
    nothing is paid. The open charges are locked (FOR UPDATE) so two payments cannot settle the
    same charge. ``payment`` (how it was paid, e.g. "现金") is written in each charge's note;
    each settled charge is audited. Raises PaymentNotAccepted."""
    if amount <= 0 or amount != amount.quantize(Decimal("0.01")):
        raise PaymentNotAccepted(reason=tr(_l("金额无效")))
    stmt = select(Charge).where(Charge.reader_id == reader.id, Charge.state == "open")
    if charge_id is not None:
        stmt = stmt.where(Charge.id == charge_id)
    elif kinds:
        stmt = stmt.where(Charge.kind.in_(kinds))
    charges = list(session.scalars(stmt.order_by(Charge.created_at, Charge.id).with_for_update()
                                   .execution_options(populate_existing=True)))
    if not charges:
        raise PaymentNotAccepted(reason=tr(_l("没有待缴的费用")) if charge_id is None
                                 else tr(_l("找不到该笔待缴费用")))
    owed = sum((c.amount for c in charges), Decimal("0"))
    if amount > owed:
        raise PaymentNotAccepted(reason=tr(_l("金额 %(amount)s 元超过应缴 %(owed)s 元", amount=amount, owed=owed)))
    paid: list[Charge] = []
    running = Decimal("0")
    for charge in charges:
        if running + charge.amount > amount:
            break
        running += charge.amount
        paid.append(charge)
    if running != amount:
        # Amounts that settle whole charges, oldest first: the kiosk can offer these.
        payable, total = [], Decimal("0")
        for charge in charges:
            total += charge.amount
            payable.append(f"{total:.2f}")
        raise PaymentNotAccepted(reason=tr(_l("只能整笔缴清，可缴金额：%(amounts)s 元", amounts=" / ".join(payable))))
    for charge in paid:
        charge.state = "paid"
        charge.settled_at = now
        charge.updated_at = now
        charge.staff_id = staff.id if staff is not None else None
        charge.note = (f"{charge.note} / {payment}" if charge.note else payment)[:200]
        audit.record(session, action="circulation.charge_paid", staff=staff, actor=actor, target_type="charge",
                     target_id=charge.id, branch_id=branch_id, now=now,
                     details={"amount": str(charge.amount), "payment": payment, "reference": reference,
                              "reader_id": reader.id})
    session.flush()
    return paid


def lift_suspension(session: Session, *, suspension_id: int, now: dt.datetime, staff: StaffUser,
                    reason: str) -> Suspension:
    suspension = session.get(Suspension, suspension_id)
    if suspension is None or suspension.lifted_at is not None:
        raise SuspensionNotFound()
    if not reason.strip():
        raise ReasonRequired()
    suspension.lifted_at = now
    suspension.staff_id = staff.id
    audit.record(session, action="circulation.suspension_lifted", staff=staff, target_type="suspension",
                 target_id=suspension.id, details={"reason": reason}, now=now)
    return suspension
