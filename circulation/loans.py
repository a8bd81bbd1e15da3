"""Checkout, check-in (return anywhere, 通借通还), renewal, lost and damaged copies.

Loan states follow ``circulation.models.LOAN_TRANSITIONS``. The copy's row is locked first
(SELECT … FOR UPDATE) so two counters scanning the same copy serialise; the partial unique index
``uq_loans_open_item`` is the last line of defence."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, bindparam, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.orm.attributes import set_committed_value

from catalog.models import Item
from circulation import signals
from circulation.blocks import ACCOUNT_BLOCKS, Block, account_columns, compute_blocks, record_override
from circulation.calendar import CONFIG_GROUP, BranchCalendar, local_date
from circulation.common import (
    event_cte,
    event_params,
    lock_item,
    reader_by_card,
    record_event,
    set_item_status,
    status_change,
    tr,
    write_status,
    zh,
)
from circulation.errors import (
    CirculationError,
    ItemAlreadyOnLoan,
    ItemNotAvailable,
    ItemNotFound,
    ItemNotLoanable,
    ItemOnHoldForAnother,
    NotOnLoan,
    OverrideNeedsStaff,
    ReaderBlocked,
    ReaderNotFound,
    RenewalHoldsWaiting,
    RenewalLimitReached,
    RenewalNotAllowed,
    WrongReader,
)
from circulation.holds import Routing, active_trapped_hold, route_item
from circulation.models import (
    LOAN_TRANSITIONS,
    OPEN_LOAN_STATES,
    Charge,
    CirculationRule,
    Hold,
    Loan,
    Suspension,
    Transit,
)
from circulation.rules import find_rule
from library import audit
from library.config_cache import version_column
from library.db import insert_new, table_of
from library.errors import LibraryError
from library.models import Branch, Reader, StaffUser

DEFAULT_REPLACEMENT_PRICE = Decimal("50.00")


def next_state(loan: Loan, event: str) -> str:
    """The loan's state after ``event`` per the decision table; refuse anything else."""
    new = LOAN_TRANSITIONS.get((loan.state, event))
    if new is None:
        raise NotOnLoan(barcode=loan.item.barcode if loan.item else str(loan.item_id))
    return new


def transition(loan: Loan, event: str) -> None:
    """Apply ``event`` to the loan's state per the decision table; refuse anything else."""
    loan.state = next_state(loan, event)


@dataclass
class CheckinResult:
    """What a return means at this counter: ``action`` is "reshelve", "transit" or "hold_shelf";
    ``destination`` the branch it goes to; ``hold`` the hold it fills; ``on_time`` None when no
    loan was open."""

    loan: Loan | None
    item: Item
    action: str
    destination: Branch | None
    hold: Hold | None
    on_time: bool | None
    fine: Charge | None = None
    suspension: Suspension | None = None


# Statements of the checkout and check-in paths, built once (see circulation.common).
# Checkout: the copy (locked), the reader, the reader's waiting hold this copy would fill, the
# configuration token of the cached rules matrix and calendars, and what the blocks need to know
# of the reader's account.
_CHECKOUT_LOOKUP = (
    select(Item, Reader, Hold, version_column(CONFIG_GROUP), *account_columns(Reader.id)).select_from(Item)
    .outerjoin(Reader, Reader.card_number == bindparam("card"))
    .outerjoin(Hold, and_(Hold.reader_id == Reader.id, Hold.record_id == Item.record_id, Hold.state == "waiting",
                          or_(Hold.item_id.is_(None), Hold.item_id == Item.id)))
    .where(Item.barcode == bindparam("barcode")).options(joinedload(Item.item_type))
    .with_for_update(of=Item).execution_options(populate_existing=True)
)
_OPEN_LOAN = (select(Loan).where(Loan.item_id == bindparam("item_id"), Loan.state.in_(OPEN_LOAN_STATES))
              .execution_options(populate_existing=True))
# Check-in: the open loan with the configuration token (for the cached calendars).
_OPEN_LOAN_AND_CONFIG = (
    select(Loan, version_column(CONFIG_GROUP)).where(Loan.item_id == bindparam("item_id"),
                                                     Loan.state.in_(OPEN_LOAN_STATES))
    .execution_options(populate_existing=True))
_RETURN_LOAN = (
    update(table_of(Loan)).where(table_of(Loan).c.id == bindparam("loan_id"))
    .values(state=bindparam("v_state"), returned_at=bindparam("v_returned_at"),
            return_branch_id=bindparam("v_return_branch_id"), overdue_days=bindparam("v_overdue_days"),
            on_time=bindparam("v_on_time"))
)
_RETURN_LOAN_COUNTED = _RETURN_LOAN.add_cte(event_cte())  # PostgreSQL: with its statistics event
_OPEN_TRANSIT = select(Transit).where(Transit.item_id == bindparam("item_id"), Transit.received_at.is_(None),
                                      Transit.cancelled_at.is_(None))


def checkout(session: Session, *, item_barcode: str, card_number: str, branch: Branch, now: dt.datetime,
             staff: StaffUser | None = None, actor: str = "", override_reason: str | None = None) -> Loan:
    """Lend a copy to a reader at ``branch``. Collects the reader's hold on it if there is one.

    Raises ItemNotFound, ReaderNotFound, ItemNotLoanable, ItemAlreadyOnLoan, ItemNotAvailable,
    ItemOnHoldForAnother, ReaderBlocked, OverrideNeedsStaff."""
    item, reader, waiting, config, account = _lock_for_checkout(session, item_barcode, card_number, now)
    if not item.item_type.loanable:
        raise ItemNotLoanable(barcode=item.barcode, type=item.item_type.name)
    hold: Hold | None = None
    if item.status in OPEN_LOAN_STATES:
        raise ItemAlreadyOnLoan(barcode=item.barcode)
    if item.status in ("on_hold_shelf", "in_transit"):
        hold = active_trapped_hold(session, item.id)
        if hold is None or hold.reader_id != reader.id:
            if hold is not None:
                raise ItemOnHoldForAnother(barcode=item.barcode)
            raise ItemNotAvailable(barcode=item.barcode, status=item.status)
        if item.status == "in_transit":
            _close_open_transit(session, item, now=now)
    elif item.status != "available":
        raise ItemNotAvailable(barcode=item.barcode, status=item.status)
    rule = find_rule(session, branch_id=branch.id, category=reader.category_code, item_type=item.item_type_code,
                     version=config)
    blocks = compute_blocks(session, reader, now, rule, account)
    if blocks:
        if not override_reason or not override_reason.strip():
            raise ReaderBlocked(blocks)
        if staff is None:
            raise OverrideNeedsStaff()
    if hold is None:
        hold = waiting
    due_on = BranchCalendar.of(session, branch, config).due_date(local_date(now), rule.loan_days)
    loan = Loan(item_id=item.id, reader_id=reader.id, branch_id=branch.id, rule_id=rule.id, state="on_loan",
                checked_out_at=now, due_on=due_on, renewals=0,
                staff_id=staff.id if staff is not None else None, actor=actor or (staff.username if staff else ""),
                overdue_days=0)
    change = status_change(item, "on_loan", now=now, branch_id=branch.id, count="checkout", reader_id=reader.id)
    joined = session.connection().dialect.name == "postgresql"  # one statement for the loan and the copy
    try:
        insert_new(session, loan, also=change.also() if joined else None)
    except IntegrityError as exc:  # another transaction lent it in between: the unique index says no
        raise ItemAlreadyOnLoan(barcode=item.barcode) from exc
    # the loan's relations, as loaded (no change to flush)
    set_committed_value(loan, "item", item)
    set_committed_value(loan, "reader", reader)
    if joined:
        change.applied(session)
    else:
        write_status(session, change)
    if hold is not None:
        hold.state = "collected"
        hold.trapped_item_id = item.id
        hold.closed_at = now
        hold.loan_id = loan.id
        loan.hold_id = hold.id
    if blocks and staff is not None and override_reason:
        record_override(session, reader=reader, staff=staff, blocks=blocks, reason=override_reason,
                        branch_id=branch.id, loan_id=loan.id, now=now)
    signals.checked_out.send(session, loan=loan, now=now)
    if hold is not None:
        signals.hold_collected.send(session, hold=hold, loan=loan, now=now)
    return loan


def _lock_for_checkout(session: Session, barcode: str, card_number: str,
                       now: dt.datetime) -> tuple[Item, Reader, Hold | None, int | None, tuple[Any, ...]]:
    """The copy with its row locked (FOR UPDATE OF items), the reader with ``card_number``, the
    reader's waiting hold this copy can fill, the configuration token and the reader's
    ``account_columns``, in one round trip. Raises ItemNotFound, then ReaderNotFound."""
    code = (barcode or "").strip()
    card = (card_number or "").strip()
    row = session.execute(_CHECKOUT_LOOKUP, {"barcode": code, "card": card, "today": local_date(now)}).first()
    if row is None:
        raise ItemNotFound(barcode=code)
    item, reader, waiting, config, *account = row
    if reader is None or not card:
        raise ReaderNotFound(card=card)
    return item, reader, waiting, config, tuple(account)


def _close_open_transit(session: Session, item: Item, *, now: dt.datetime) -> Transit | None:
    transit = session.scalar(_OPEN_TRANSIT, {"item_id": item.id})
    if transit is not None:
        transit.received_at = now
        if transit.sent_at is None:
            transit.sent_at = now
    return transit


def lock_item_and_open_loan(session: Session, barcode: str) -> tuple[Item, Loan | None]:
    """``lock_item``, then the copy's open loan (if any). Two statements on purpose: on
    PostgreSQL a row joined to the locked one would be read from the snapshot taken before the
    lock was granted, so a return committed meanwhile by another counter would go unseen.
    Raises ItemNotFound."""
    item = lock_item(session, barcode)
    return item, _open_loan(session, item.id)


def _open_loan(session: Session, item_id: int) -> Loan | None:
    return session.scalar(_OPEN_LOAN, {"item_id": item_id})


def _apply_overdue(session: Session, loan: Loan, reader: Reader, rule: CirculationRule, *, days: int,
                   now: dt.datetime) -> tuple[Charge | None, Suspension | None]:
    """The consequence of returning late: a fine (per day, capped) or a suspension
    (factor × overdue days, capped), after the grace days."""
    if days <= rule.grace_days:
        return None, None
    if rule.consequence == "fine":
        return accrue_fine(session, loan, rule, days=days, now=now), None
    suspended_days = min(rule.max_suspension_days, math.ceil(Decimal(days) * rule.suspension_factor))
    if suspended_days <= 0:
        return None, None
    today = local_date(now)
    latest = session.scalar(select(Suspension.ends_on).where(Suspension.reader_id == reader.id,
                                                             Suspension.lifted_at.is_(None))
                            .order_by(Suspension.ends_on.desc()).limit(1))
    start = today if latest is None or latest < today else latest + dt.timedelta(days=1)
    suspension = Suspension(reader_id=reader.id, loan_id=loan.id, starts_on=start,
                            ends_on=start + dt.timedelta(days=suspended_days - 1),
                            reason=zh(_l("逾期 %(days)s 天归还", days=days)), created_at=now)
    session.add(suspension)
    return None, suspension


def accrue_fine(session: Session, loan: Loan, rule: CirculationRule, *, days: int, now: dt.datetime) -> Charge | None:
    """Create or raise the loan's overdue fine to ``days`` × fine per day, capped (idempotent)."""
    amount = min(rule.fine_cap, (rule.fine_per_day * days).quantize(Decimal("0.01")))
    if amount <= 0:
        return None
    charge = session.scalar(select(Charge).where(Charge.loan_id == loan.id, Charge.kind == "overdue_fine"))
    if charge is None:
        charge = Charge(reader_id=loan.reader_id, loan_id=loan.id, kind="overdue_fine", amount=amount, state="open",
                        created_at=now, updated_at=now, note=zh(_l("逾期 %(days)s 天", days=days)))
        session.add(charge)
    elif charge.state == "open" and charge.amount != amount:
        charge.amount = amount
        charge.updated_at = now
        charge.note = zh(_l("逾期 %(days)s 天", days=days))
    return charge


def loan_rule(session: Session, loan: Loan) -> CirculationRule:
    rule = session.get(CirculationRule, loan.rule_id) if loan.rule_id is not None else None
    if rule is None:
        reader = session.get(Reader, loan.reader_id)
        item = session.get(Item, loan.item_id)
        rule = find_rule(session, branch_id=loan.branch_id, category=reader.category_code if reader else None,
                         item_type=item.item_type_code if item else None)
    return rule


def checkin(session: Session, *, item_barcode: str, branch: Branch, now: dt.datetime, staff: StaffUser | None = None,
            actor: str = "", returned_at: dt.datetime | None = None) -> CheckinResult:
    """Take a copy back at any branch (or receive it from transit) and say what to do with it.

    Closes the open loan (once, even when two counters scan it together), applies the overdue
    consequence, then routes the copy (hold shelf, transit to the pickup branch or home, reshelve).
    ``returned_at``: when the copy was really returned, for a return taken offline and uploaded
    later (SIP2 store and forward); it is kept between the checkout and ``now`` and decides the
    loan's return time and its overdue days; everything else happens at ``now``.
    Raises ItemNotFound."""
    item = lock_item(session, item_barcode)
    # after the lock, in a statement of its own (see lock_item_and_open_loan)
    found = session.execute(_OPEN_LOAN_AND_CONFIG, {"item_id": item.id}).first()
    loan, config = found if found is not None else (None, None)
    on_time: bool | None = None
    fine: Charge | None = None
    suspension: Suspension | None = None
    if loan is not None:
        back = now if returned_at is None else min(max(returned_at, loan.checked_out_at), now)
        today = local_date(back)
        new_state = next_state(loan, "return")
        days = BranchCalendar.for_branch(session, loan.branch_id, config).open_days_after(loan.due_on, today)
        on_time = today <= loan.due_on
        # one plain UPDATE (on PostgreSQL with the statistics event); the loaded loan takes the
        # values as committed (no unit of work)
        values = {"state": new_state, "returned_at": back, "return_branch_id": branch.id, "overdue_days": days,
                  "on_time": on_time}
        params = {"loan_id": loan.id, **{f"v_{k}": v for k, v in values.items()}}
        connection = session.connection()
        if connection.dialect.name == "postgresql":
            connection.execute(_RETURN_LOAN_COUNTED, {**params, **event_params(
                "checkin", branch_id=branch.id, now=now, reader_id=loan.reader_id, item_id=item.id,
                details={"overdue_days": days})})
        else:
            connection.execute(_RETURN_LOAN, params)
            record_event(session, "checkin", branch_id=branch.id, now=now, reader_id=loan.reader_id, item_id=item.id,
                         details={"overdue_days": days})
        for name, value in values.items():
            set_committed_value(loan, name, value)
        if not on_time:
            reader = session.get(Reader, loan.reader_id)
            assert reader is not None
            fine, suspension = _apply_overdue(session, loan, reader, loan_rule(session, loan), days=days, now=now)
        session.flush()
        signals.returned.send(session, loan=loan, now=now, on_time=on_time)
    elif item.status == "in_transit":
        transit = _close_open_transit(session, item, now=now)
        hold = active_trapped_hold(session, item.id)
        if hold is not None and hold.state == "in_transit" and hold.pickup_branch_id == branch.id:
            from circulation.holds import put_on_hold_shelf

            put_on_hold_shelf(session, hold, item, now=now)
            return CheckinResult(None, item, "hold_shelf", branch, hold, None)
        if hold is not None and hold.state == "in_transit":
            # arrived somewhere else: keep it travelling to the pickup branch
            from circulation.holds import start_transit

            start_transit(session, item, from_branch_id=branch.id, to_branch_id=hold.pickup_branch_id,
                          reason="hold", now=now, hold=hold, staff=staff)
            return CheckinResult(None, item, "transit", session.get(Branch, hold.pickup_branch_id), hold, None)
        del transit
    elif item.status == "on_hold_shelf":
        hold = active_trapped_hold(session, item.id)
        if hold is not None:
            return CheckinResult(None, item, "hold_shelf", session.get(Branch, hold.pickup_branch_id), hold, None)
    routing: Routing = route_item(session, item, branch, now=now, staff=staff)
    if staff is not None and loan is None:
        audit.record(session, action="circulation.checkin_no_loan", staff=staff, actor=actor, target_type="item",
                     target_id=item.barcode, branch_id=branch.id, details={"action": routing.action}, now=now)
    return CheckinResult(loan, item, routing.action, routing.destination, routing.hold, on_time, fine, suspension)


def _renewal_checks(session: Session, loan: Loan, reader: Reader, item: Item, now: dt.datetime,
                    rule: CirculationRule) -> None:
    if loan.state != "on_loan":
        raise NotOnLoan(barcode=item.barcode)
    if loan.renewals >= rule.renewals:
        raise RenewalLimitReached(barcode=item.barcode, limit=rule.renewals)
    waiting = session.scalar(select(Hold.id).where(
        Hold.record_id == item.record_id, Hold.state == "waiting", Hold.reader_id != reader.id,
        or_(Hold.item_id.is_(None), Hold.item_id == item.id)).limit(1))
    if waiting is not None:
        raise RenewalHoldsWaiting(barcode=item.barcode)
    if loan.due_on < local_date(now):
        raise RenewalNotAllowed(barcode=item.barcode, reason=tr(_l("已逾期，请先归还")))
    blocks: list[Block] = [b for b in compute_blocks(session, reader, now, rule) if b.code in ACCOUNT_BLOCKS]
    if blocks:
        raise ReaderBlocked(blocks)


def _renew_loan(session: Session, loan: Loan, item: Item, *, now: dt.datetime, staff: StaffUser | None) -> Loan:
    reader = session.get(Reader, loan.reader_id)
    assert reader is not None
    rule = loan_rule(session, loan)
    _renewal_checks(session, loan, reader, item, now, rule)
    transition(loan, "renew")
    loan_branch = session.get(Branch, loan.branch_id)
    assert loan_branch is not None
    new_due = BranchCalendar.of(session, loan_branch).due_date(local_date(now), rule.loan_days)
    loan.due_on = max(new_due, loan.due_on)
    loan.renewals += 1
    loan.last_renewed_at = now
    record_event(session, "renewal", branch_id=loan.branch_id, now=now, reader_id=reader.id, item_id=item.id)
    session.flush()
    signals.renewed.send(session, loan=loan, now=now)
    return loan


def renew(session: Session, *, item_barcode: str, now: dt.datetime, card_number: str | None = None,
          staff: StaffUser | None = None, actor: str = "") -> Loan:
    """Extend a loan by the rule's loan period from today (moved to an open day). Refused at the
    renewal limit, while another reader waits for the title, when overdue, or when the reader's
    account is blocked. Raises ItemNotFound, NotOnLoan, WrongReader, RenewalLimitReached,
    RenewalHoldsWaiting, RenewalNotAllowed, ReaderBlocked."""
    item, loan = lock_item_and_open_loan(session, item_barcode)
    if loan is None:
        raise NotOnLoan(barcode=item.barcode)
    if card_number is not None:
        reader = session.get(Reader, loan.reader_id)
        if reader is None or reader.card_number != card_number.strip():
            raise WrongReader(barcode=item.barcode)
    return _renew_loan(session, loan, item, now=now, staff=staff)


def renew_all(session: Session, *, card_number: str, now: dt.datetime, staff: StaffUser | None = None,
              actor: str = "") -> list[tuple[str, Loan | LibraryError]]:
    """Try to renew every loan of the reader; each result is the renewed loan or the refusal."""
    reader = reader_by_card(session, card_number)
    loans = session.scalars(select(Loan).where(Loan.reader_id == reader.id, Loan.state == "on_loan")
                            .order_by(Loan.due_on, Loan.id)).all()
    results: list[tuple[str, Loan | LibraryError]] = []
    for loan in loans:
        item = lock_item(session, session.get_one(Item, loan.item_id).barcode)
        try:
            results.append((item.barcode, _renew_loan(session, loan, item, now=now, staff=staff)))
        except CirculationError as exc:
            results.append((item.barcode, exc))
    return results


def mark_lost(session: Session, *, item_barcode: str, now: dt.datetime, staff: StaffUser | None = None,
              branch: Branch | None = None) -> Charge | None:
    """A borrowed copy is reported lost: the loan becomes lost, the copy's status lost, and the
    reader is charged its price (or the default replacement price). Raises NotOnLoan."""
    item, loan = lock_item_and_open_loan(session, item_barcode)
    if loan is None or loan.state != "on_loan":
        raise NotOnLoan(barcode=item.barcode)
    transition(loan, "mark_lost")
    loan.lost_at = now
    set_item_status(session, item, "lost", now=now)
    amount = item.price if item.price is not None and item.price > 0 else DEFAULT_REPLACEMENT_PRICE
    charge = Charge(reader_id=loan.reader_id, loan_id=loan.id, kind="replacement", amount=amount, state="open",
                    created_at=now, updated_at=now, note=zh(_l("遗失赔偿：%(barcode)s", barcode=item.barcode)),
                    staff_id=staff.id if staff is not None else None)
    session.add(charge)
    session.flush()
    audit.record(session, action="circulation.mark_lost", staff=staff, target_type="item", target_id=item.barcode,
                 branch_id=branch.id if branch is not None else None,
                 details={"loan_id": loan.id, "amount": str(amount)}, now=now)
    return charge


def mark_damaged(session: Session, *, item_barcode: str, amount: Decimal, note: str, now: dt.datetime,
                 staff: StaffUser | None = None, branch: Branch | None = None) -> Charge | None:
    """A copy comes back damaged: it goes to repair and the last borrower is charged ``amount``
    (no charge when 0, when nobody borrowed it, or when that loan was anonymised: the borrower
    is no longer known)."""
    item, loan = lock_item_and_open_loan(session, item_barcode)
    loan = loan or session.scalar(
        select(Loan).where(Loan.item_id == item.id).order_by(Loan.checked_out_at.desc()).limit(1))
    if item.status == "on_loan":
        raise ItemNotAvailable(barcode=item.barcode, status=item.status)
    set_item_status(session, item, "in_repair", now=now)
    charge = None
    if loan is not None and loan.reader_id is not None and amount > 0:
        charge = Charge(reader_id=loan.reader_id, loan_id=loan.id, kind="damage", amount=amount, state="open",
                        created_at=now, updated_at=now, note=note[:200],
                        staff_id=staff.id if staff is not None else None)
        session.add(charge)
    session.flush()
    audit.record(session, action="circulation.mark_damaged", staff=staff, target_type="item", target_id=item.barcode,
                 branch_id=branch.id if branch is not None else None,
                 details={"amount": str(amount), "note": note, "charged": charge is not None}, now=now)
    return charge
