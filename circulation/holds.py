"""Holds (预约) and where a copy goes next.

``route_item`` is the one place that decides what happens to a copy that is free at a branch
(returned, arrived, released from the hold shelf): it is trapped for the first waiting hold it
can fill (first come, first served) and put on the hold shelf or sent to the pickup branch;
otherwise it is reshelved here if it is home or floats, or sent home."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, func, or_, select
from sqlalchemy.orm import Session

from catalog.models import BibRecord, Item, ItemType
from circulation import signals
from circulation.blocks import ACCOUNT_BLOCKS, compute_blocks
from circulation.calendar import BranchCalendar, local_date
from circulation.common import lock_item, reader_by_card, record_event, set_item_status, tr, zh
from circulation.errors import (
    DuplicateHold,
    HoldLimitReached,
    HoldNotAllowed,
    HoldNotCancellable,
    HoldNotFound,
    ReaderBlocked,
    RecordNotFound,
)
from circulation.models import ACTIVE_HOLD_STATES, OPEN_LOAN_STATES, Hold, Loan, Transit
from circulation.notices import queue_notice
from circulation.rules import find_rule
from library import audit
from library.models import Branch, Reader, StaffUser


@dataclass
class Routing:
    """Where a free copy goes: ``action`` is "reshelve", "transit" or "hold_shelf"."""

    action: str
    destination: Branch | None
    hold: Hold | None


# Built once (see circulation.common). All the waiting holds are locked, not only the first, so
# that a hold placed or cancelled meanwhile cannot reorder the queue under us.
_WAITING_HOLDS_FOR_UPDATE = (
    select(Hold).where(Hold.record_id == bindparam("record_id"), Hold.state == "waiting",
                       or_(Hold.item_id.is_(None), Hold.item_id == bindparam("item_id")))
    .order_by(Hold.created_at, Hold.id).with_for_update().execution_options(populate_existing=True)
)
_TRAPPED_HOLD = select(Hold).where(Hold.trapped_item_id == bindparam("item_id"),
                                   Hold.state.in_(("in_transit", "ready")))


def next_hold_for(session: Session, item: Item) -> Hold | None:
    """The first waiting hold this copy can fill (title-level on its record, or item-level on it),
    locked (FOR UPDATE) so two copies returned at once cannot both be trapped for it."""
    holds = session.scalars(_WAITING_HOLDS_FOR_UPDATE, {"record_id": item.record_id, "item_id": item.id}).all()
    return holds[0] if holds else None


def start_transit(session: Session, item: Item, *, from_branch_id: int, to_branch_id: int, reason: str,
                  now: dt.datetime, hold: Hold | None = None, staff: StaffUser | None = None) -> Transit:
    """Put a copy in transit (it leaves with the next van: ``sent_at`` is set when it is sent)."""
    transit = Transit(item_id=item.id, from_branch_id=from_branch_id, to_branch_id=to_branch_id, reason=reason,
                      hold_id=hold.id if hold is not None else None, created_at=now,
                      staff_id=staff.id if staff is not None else None)
    session.add(transit)
    set_item_status(session, item, "in_transit", now=now, branch_id=to_branch_id)
    return transit


def put_on_hold_shelf(session: Session, hold: Hold, item: Item, *, now: dt.datetime) -> None:
    """The copy waits on the pickup branch's hold shelf for the rule's days; the reader is told."""
    pickup = session.get(Branch, hold.pickup_branch_id)
    reader = session.get(Reader, hold.reader_id)
    assert pickup is not None and reader is not None
    rule = find_rule(session, branch_id=pickup.id, category=reader.category_code, item_type=item.item_type_code)
    today = local_date(now)
    hold.state = "ready"
    hold.ready_at = now
    hold.expires_on = BranchCalendar.of(session, pickup).due_date(today, rule.hold_shelf_days)
    set_item_status(session, item, "on_hold_shelf", now=now, branch_id=pickup.id)
    record = session.get(BibRecord, item.record_id)
    title = record.title if record is not None else item.barcode
    queue_notice(
        session, reader=reader, kind="hold_ready", dedup_key=f"hold-ready:{hold.id}", branch=pickup, now=now,
        subject=zh(_l("预约图书已到馆：%(title)s", title=title)),
        body=zh(_l("%(name)s，您预约的《%(title)s》已到%(branch)s，请于 %(day)s 前凭读者证借阅。",
                    name=reader.name, title=title, branch=pickup.name, day=hold.expires_on.isoformat())),
    )


def route_item(session: Session, item: Item, branch: Branch, *, now: dt.datetime,
               staff: StaffUser | None = None) -> Routing:
    """Decide and apply where a free copy at ``branch`` goes (see the module docstring)."""
    loanable = item.item_type.loanable if item.item_type is not None else True
    hold = next_hold_for(session, item) if loanable else None
    if hold is not None:
        # state and trapped copy change together (the check constraint sees both at once)
        hold.state = "ready" if hold.pickup_branch_id == branch.id else "in_transit"
        hold.trapped_item_id = item.id
        hold.trapped_at = now
        if hold.pickup_branch_id == branch.id:
            put_on_hold_shelf(session, hold, item, now=now)
            return Routing("hold_shelf", branch, hold)
        start_transit(session, item, from_branch_id=branch.id, to_branch_id=hold.pickup_branch_id, reason="hold",
                      now=now, hold=hold, staff=staff)
        return Routing("transit", session.get(Branch, hold.pickup_branch_id), hold)
    if item.home_branch_id == branch.id or item.floating or branch.floating:
        set_item_status(session, item, "available", now=now, branch_id=branch.id)
        return Routing("reshelve", branch, None)
    start_transit(session, item, from_branch_id=branch.id, to_branch_id=item.home_branch_id, reason="home",
                  now=now, staff=staff)
    return Routing("transit", session.get(Branch, item.home_branch_id), None)


def active_trapped_hold(session: Session, item_id: int) -> Hold | None:
    return session.scalar(_TRAPPED_HOLD, {"item_id": item_id})


def place_hold(session: Session, *, card_number: str, pickup_branch: Branch, now: dt.datetime,
               record_id: int | None = None, item_barcode: str | None = None, staff: StaffUser | None = None,
               actor: str = "") -> Hold:
    """Place a title-level (``record_id``) or item-level (``item_barcode``) hold. It waits in
    the queue; a copy free on an open shelf appears on that branch's pull list and is trapped
    when it is scanned at check-in (or, like any copy, when one is returned).

    Raises ReaderNotFound, ItemNotFound, RecordNotFound, ReaderBlocked, HoldNotAllowed,
    DuplicateHold, HoldLimitReached."""
    reader = reader_by_card(session, card_number)
    item: Item | None = None
    if item_barcode:
        item = lock_item(session, item_barcode)
        record_id = item.record_id
    record = session.get(BibRecord, record_id) if record_id is not None else None
    if record is None or record.deleted_at is not None:
        raise RecordNotFound()
    if not pickup_branch.active:
        raise HoldNotAllowed(reason=tr(_l("该馆点暂停服务")))
    if item is not None and not item.item_type.loanable:
        raise HoldNotAllowed(reason=tr(_l("此册不外借")))
    loanable = session.scalar(
        select(func.count()).select_from(Item).join(ItemType, ItemType.code == Item.item_type_code)
        .where(Item.record_id == record.id, ItemType.loanable.is_(True),
               Item.status.notin_(("withdrawn", "lost", "missing")))
    ) or 0
    if not loanable:
        raise HoldNotAllowed(reason=tr(_l("此书没有可外借的馆藏")))
    rule = find_rule(session, branch_id=pickup_branch.id, category=reader.category_code,
                     item_type=item.item_type_code if item is not None else None)
    blocks = [b for b in compute_blocks(session, reader, now, rule) if b.code in ACCOUNT_BLOCKS]
    if blocks:
        raise ReaderBlocked(blocks)
    if session.scalar(select(Hold.id).where(Hold.reader_id == reader.id, Hold.record_id == record.id,
                                            Hold.state.in_(ACTIVE_HOLD_STATES))) is not None:
        raise DuplicateHold()
    if session.scalar(select(Loan.id).join(Item, Item.id == Loan.item_id).where(
            Loan.reader_id == reader.id, Loan.state.in_(OPEN_LOAN_STATES), Item.record_id == record.id)) is not None:
        raise HoldNotAllowed(reason=tr(_l("您已借有此书")))
    active = session.scalar(select(func.count()).select_from(Hold).where(
        Hold.reader_id == reader.id, Hold.state.in_(ACTIVE_HOLD_STATES))) or 0
    if active >= rule.max_holds:
        raise HoldLimitReached(limit=rule.max_holds)
    hold = Hold(reader_id=reader.id, record_id=record.id, item_id=item.id if item is not None else None,
                pickup_branch_id=pickup_branch.id, state="waiting", created_at=now,
                staff_id=staff.id if staff is not None else None)
    session.add(hold)
    session.flush()
    record_event(session, "hold_placed", branch_id=pickup_branch.id, now=now, reader_id=reader.id,
                 item_id=item.id if item is not None else None)
    if staff is not None:
        audit.record(session, action="circulation.hold_placed", staff=staff, actor=actor, target_type="hold",
                     target_id=hold.id, branch_id=pickup_branch.id, now=now)
    signals.hold_placed.send(session, hold=hold, now=now)
    # A copy standing on an open shelf is not trapped here: the hold waits on the pull list of
    # that branch (circulation.pull_list) until someone fetches the copy and scans it at check-in.
    return hold


def cancel_hold(session: Session, *, hold_id: int, now: dt.datetime, staff: StaffUser | None = None,
                reader: Reader | None = None) -> Hold:
    """Cancel a hold (by its reader, or by staff). A copy on the hold shelf for it goes to the
    next reader or home; a copy in transit for it is routed again when it arrives.
    Raises HoldNotFound, HoldNotCancellable."""
    from circulation.common import lock_item_by_id

    trapped = session.scalar(select(Hold.trapped_item_id).where(Hold.id == hold_id))
    # lock order everywhere: the copy first, then its holds (as check-in does), so no deadlock
    item = lock_item_by_id(session, trapped) if trapped is not None else None
    hold = session.scalar(select(Hold).where(Hold.id == hold_id).with_for_update()
                          .execution_options(populate_existing=True))
    if hold is None or (reader is not None and hold.reader_id != reader.id):
        raise HoldNotFound()
    if hold.state not in ACTIVE_HOLD_STATES:
        raise HoldNotCancellable()
    was_ready = hold.state == "ready"
    hold.state = "cancelled"
    hold.closed_at = now
    session.flush()
    if was_ready and item is not None and item.id == hold.trapped_item_id:
        branch = session.get(Branch, item.current_branch_id)
        assert branch is not None
        route_item(session, item, branch, now=now, staff=staff)
    if staff is not None:
        audit.record(session, action="circulation.hold_cancelled", staff=staff, target_type="hold",
                     target_id=hold.id, now=now)
    return hold


def expire_hold(session: Session, hold: Hold, *, now: dt.datetime) -> Routing | None:
    """An uncollected hold expires; its copy passes to the next reader (or goes home)."""
    if hold.state != "ready":
        return None
    hold.state = "expired"
    hold.closed_at = now
    session.flush()
    signals.hold_expired.send(session, hold=hold, now=now)
    if hold.trapped_item_id is None:
        return None
    from circulation.common import lock_item_by_id

    item = lock_item_by_id(session, hold.trapped_item_id)  # callers lock the copy first (see jobs)
    branch = session.get(Branch, item.current_branch_id)
    assert branch is not None
    return route_item(session, item, branch, now=now)


def hold_queue_position(session: Session, hold: Hold) -> int:
    """1 for the first waiting reader of the title."""
    if hold.state != "waiting":
        return 0
    ahead = session.scalar(select(func.count()).select_from(Hold).where(
        Hold.record_id == hold.record_id, Hold.state == "waiting",
        or_(Hold.created_at < hold.created_at, (Hold.created_at == hold.created_at) & (Hold.id < hold.id)))) or 0
    return int(ahead) + 1
