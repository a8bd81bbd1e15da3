"""Rewards and redemptions: a redemption holds the points (a ``hold`` entry) and one unit of
the branch's stock; staff settle it when the reader collects (``redeem`` entry), or it is
released (``release`` entry, stock back) when cancelled or not collected within N days.
Non-goods rewards (extra loans, an overdue-penalty waiver) settle at once and grant a benefit.

Locks are taken in one order, account first, then stock, then the redemption, so two
redemptions never deadlock."""

from __future__ import annotations

import datetime as dt
import uuid

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from library import audit
from library.errors import NotFound
from library.models import StaffUser
from reading_points.points.errors import (
    InsufficientPoints,
    OutOfStock,
    RedemptionLimitReached,
    RedemptionNotOpen,
    RewardNotAvailable,
)
from reading_points.points.ledger import Posting, local_date, lock_account, post, setting
from reading_points.points.models import PointsEntry, Redemption, Reward, RewardBenefit, RewardStock


def _lock_stock(session: Session, reward_id: int, branch_id: int) -> RewardStock | None:
    return session.scalar(
        select(RewardStock)
        .where(RewardStock.reward_id == reward_id, RewardStock.branch_id == branch_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def _lock_redemption(session: Session, redemption_id: int) -> Redemption:
    redemption = session.scalar(
        select(Redemption).where(Redemption.id == redemption_id).with_for_update()
        .execution_options(populate_existing=True)
    )
    if redemption is None:
        raise NotFound(what=_l("兑换记录"))
    return redemption


def redeem(session: Session, *, reader_id: int, reward_id: int, branch_id: int, now: dt.datetime,
           idempotency_key: str | None = None) -> Redemption:
    """Hold the reward's cost and one unit of stock at ``branch_id`` for the reader. A retry
    with the same ``idempotency_key`` returns the first redemption. Raises RewardNotAvailable,
    RedemptionLimitReached, OutOfStock, InsufficientPoints."""
    reward = session.get(Reward, reward_id)
    if reward is None:
        raise NotFound(what=_l("奖品"))
    if not reward.on_offer(local_date(now)):
        raise RewardNotAvailable(detail=_l("不在兑换期内"))
    account = lock_account(session, reader_id, now)
    key = idempotency_key or uuid.uuid4().hex
    existing = session.scalar(select(Redemption).where(Redemption.idempotency_key == key))
    if existing is not None:
        if existing.reader_id != reader_id:
            raise RedemptionNotOpen()
        return existing
    if reward.limit_per_reader is not None:
        taken = session.scalar(select(func.count()).select_from(Redemption).where(
            Redemption.reader_id == reader_id, Redemption.reward_id == reward.id,
            Redemption.status.in_(("held", "settled")))) or 0
        if taken >= reward.limit_per_reader:
            raise RedemptionLimitReached(limit=reward.limit_per_reader)
    if account.balance < reward.cost:
        raise InsufficientPoints(needed=reward.cost, available=account.balance)
    if reward.is_goods():
        stock = _lock_stock(session, reward.id, branch_id)
        if stock is None or stock.quantity <= 0:
            raise OutOfStock()
        stock.quantity -= 1
    hold = post(session, account, Posting(
        kind="hold", amount=-reward.cost, held_change=reward.cost, reason=f"兑换：{reward.name}",
        idempotency_key=f"redemption:{key}:hold", source=f"reward:{reward.id}", branch_id=branch_id,
    ), now)
    if hold is None:  # the hold key was posted by a redemption rolled back elsewhere: refuse safely
        raise RedemptionNotOpen()
    redemption = Redemption(
        reader_id=reader_id, reward_id=reward.id, branch_id=branch_id, points=reward.cost, status="held",
        idempotency_key=key, hold_entry_id=hold.id, created_at=now,
        expires_at=now + dt.timedelta(days=setting(session, "redemption_hold_days")),
    )
    session.add(redemption)
    session.flush()
    if not reward.is_goods():
        _settle(session, account_reader=reader_id, redemption=redemption, now=now, staff=None)
        today = local_date(now)
        session.add(RewardBenefit(
            reader_id=reader_id, redemption_id=redemption.id, kind=reward.kind, extra_loans=reward.extra_loans,
            valid_from=today, valid_until=today + dt.timedelta(days=reward.benefit_days - 1),
        ))
        session.flush()
    return redemption


def _settle(session: Session, *, account_reader: int, redemption: Redemption, now: dt.datetime,
            staff: StaffUser | None) -> PointsEntry:
    account = lock_account(session, account_reader, now)
    redemption = _lock_redemption(session, redemption.id)
    if redemption.status != "held":
        raise RedemptionNotOpen()
    entry = post(session, account, Posting(
        kind="redeem", amount=0, held_change=-redemption.points, reason=f"兑换领取：{redemption.reward.name}",
        idempotency_key=f"redemption:{redemption.idempotency_key}:settle", source=f"reward:{redemption.reward_id}",
        branch_id=redemption.branch_id, staff=staff,
    ), now)
    if entry is None:
        raise RedemptionNotOpen()
    redemption.status = "settled"
    redemption.closing_entry_id = entry.id
    redemption.closed_at = now
    redemption.closed_by_id = staff.id if staff is not None else None
    session.flush()
    return entry


def settle_redemption(session: Session, *, redemption_id: int, now: dt.datetime,
                      staff: StaffUser | None = None) -> Redemption:
    """The reader collected the reward: the held points are spent. Raises RedemptionNotOpen."""
    redemption = session.get(Redemption, redemption_id)
    if redemption is None:
        raise NotFound(what=_l("兑换记录"))
    _settle(session, account_reader=redemption.reader_id, redemption=redemption, now=now, staff=staff)
    audit.record(session, action="points.redemption.settle", staff=staff, target_type="redemption",
                 target_id=redemption.id, branch_id=redemption.branch_id, now=now)
    return redemption


def release_redemption(session: Session, *, redemption_id: int, now: dt.datetime, reason: str,
                       staff: StaffUser | None = None) -> Redemption:
    """Give the held points back to their lots and the unit back to the stock. Raises
    RedemptionNotOpen."""
    redemption = session.get(Redemption, redemption_id)
    if redemption is None:
        raise NotFound(what=_l("兑换记录"))
    account = lock_account(session, redemption.reader_id, now)
    redemption = _lock_redemption(session, redemption_id)
    if redemption.status != "held":
        raise RedemptionNotOpen()
    hold = session.get(PointsEntry, redemption.hold_entry_id)
    assert hold is not None
    entry = post(session, account, Posting(
        kind="release", amount=redemption.points, held_change=-redemption.points,
        reason=f"{reason}：{redemption.reward.name}", idempotency_key=f"redemption:{redemption.idempotency_key}:release",
        source=f"reward:{redemption.reward_id}", branch_id=redemption.branch_id, staff=staff, restore_from=hold,
    ), now)
    if entry is None:
        raise RedemptionNotOpen()
    if redemption.reward.is_goods():
        stock = _lock_stock(session, redemption.reward_id, redemption.branch_id)
        if stock is not None:
            stock.quantity += 1
    redemption.status = "released"
    redemption.closing_entry_id = entry.id
    redemption.closed_at = now
    redemption.closed_by_id = staff.id if staff is not None else None
    session.flush()
    return redemption


def cancel_redemption(session: Session, *, redemption_id: int, reader_id: int, now: dt.datetime) -> Redemption:
    """A reader withdraws a redemption not yet collected. Raises NotFound (not theirs),
    RedemptionNotOpen."""
    redemption = session.get(Redemption, redemption_id)
    if redemption is None or redemption.reader_id != reader_id:
        raise NotFound(what=_l("兑换记录"))
    return release_redemption(session, redemption_id=redemption_id, now=now, reason="读者取消兑换")


def release_stale_redemptions(session: Session, *, now: dt.datetime) -> int:
    """Release every held redemption past its collection deadline (idempotent)."""
    ids = list(session.scalars(
        select(Redemption.id).where(Redemption.status == "held", Redemption.expires_at < now).order_by(Redemption.id)))
    done = 0
    for rid in ids:
        try:
            release_redemption(session, redemption_id=rid, now=now, reason="逾期未领取，积分退回")
        except RedemptionNotOpen:
            continue
        done += 1
    return done


def save_reward(session: Session, *, reward: Reward | None, name: str, description: str, kind: str, cost: int,
                limit_per_reader: int | None, extra_loans: int, benefit_days: int, active_from: dt.date | None,
                active_until: dt.date | None, active: bool, now: dt.datetime, picture: str | None = None,
                stock: dict[int, int] | None = None, staff: StaffUser | None = None, actor: str = "") -> Reward:
    """Create or edit a reward; ``stock`` sets the quantity per branch id. Audited."""
    if reward is None:
        reward = Reward(created_at=now)
        session.add(reward)
    reward.name = name
    reward.description = description
    reward.kind = kind
    reward.cost = cost
    reward.limit_per_reader = limit_per_reader
    reward.extra_loans = extra_loans
    reward.benefit_days = benefit_days
    reward.active_from = active_from
    reward.active_until = active_until
    reward.active = active
    if picture is not None:
        reward.picture = picture
    session.flush()
    for branch_id, quantity in (stock or {}).items():
        row = _lock_stock(session, reward.id, branch_id)
        if row is None:
            session.add(RewardStock(reward_id=reward.id, branch_id=branch_id, quantity=max(quantity, 0)))
        else:
            row.quantity = max(quantity, 0)
    session.flush()
    audit.record(session, action="points.reward.save", staff=staff, actor=actor, target_type="reward", target_id=reward.id,
                 details={"name": name, "cost": cost, "stock": {str(k): v for k, v in (stock or {}).items()}}, now=now)
    return reward
