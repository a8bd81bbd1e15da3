"""Use cases of the points scheme: earning by rule (caps, campaign multipliers), penalties,
manual adjustments and reversals. The ledger mechanics live in ``ledger``; rewards and
redemptions in ``rewards`` (re-exported here). Services flush, never commit."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, case, func, select
from sqlalchemy.orm import Session

from library import audit
from library.errors import ValidationFailed
from library.models import StaffUser
from reading_points.points import hooks
from reading_points.points.errors import ReasonRequired, UnknownPointsKind
from reading_points.points.ledger import (
    SETTINGS_DEFAULTS,
    Posting,
    account_for,
    create_account,
    expire_due_lots,
    expiry_date,
    local_date,
    lock_account,
    post,
    reverse,
    setting,
)
from reading_points.points.models import (
    EARN_KINDS,
    PENALTY_KINDS,
    PointsAccount,
    PointsEntry,
    PointsRule,
    PointsSetting,
    RewardBenefit,
)
from reading_points.points.rewards import (
    cancel_redemption,
    redeem,
    release_redemption,
    release_stale_redemptions,
    settle_redemption,
)

__all__ = [
    "account_for", "adjust", "cancel_redemption", "earn", "earn_state", "expire_due_lots", "penalise", "redeem",
    "release_redemption", "release_stale_redemptions", "reverse", "settle_redemption", "setting",
]

# kind, points, daily cap, monthly cap, per-item cap, description (practice of Chinese public libraries)
DEFAULT_RULES: list[tuple[str, bool, int, int | None, int | None, int | None, str]] = [
    ("checkout", False, 2, 20, 100, None, "每借阅一册"),
    ("renewal", False, 1, 5, 30, None, "每续借一册"),
    ("on_time_return", False, 1, 10, 50, None, "按期归还奖励"),
    ("event_attended", False, 10, 20, 100, None, "参加一场阅读活动"),
    ("review", False, 5, 10, 50, None, "书评通过审核"),
    ("volunteer_hour", False, 10, 80, 400, None, "志愿服务每小时"),
    ("donation", False, 5, 50, 200, None, "每捐赠一册图书"),
    ("challenge_bonus", False, 20, None, None, None, "完成阅读挑战奖励"),
    ("overdue", True, 1, None, None, 10, "逾期每册每天（每册有上限）"),
    ("no_show", True, 5, None, None, None, "报名活动未到场"),
    ("uncollected_hold", True, 5, None, None, None, "预约到书未取"),
]


def seed_points(session: Session) -> None:
    """Default rules and settings (idempotent: only what is missing is added)."""
    from reading_points.points.ledger import SETTINGS_DEFAULTS
    from reading_points.points.models import PointsSetting

    for kind, is_penalty, points, daily, monthly, per_item, description in DEFAULT_RULES:
        if session.get(PointsRule, kind) is None:
            session.add(PointsRule(kind=kind, is_penalty=is_penalty, points=points, daily_cap=daily,
                                   monthly_cap=monthly, per_item_cap=per_item, active=True,
                                   description=description))
    for key, (value, description) in SETTINGS_DEFAULTS.items():
        if session.get(PointsSetting, key) is None:
            session.add(PointsSetting(key=key, value=value, description=description))
    session.flush()


def _rule(session: Session, kind: str, penalty: bool) -> PointsRule | None:
    if kind not in (PENALTY_KINDS if penalty else EARN_KINDS):
        raise UnknownPointsKind(kind=kind)
    return session.get(PointsRule, kind)


def _earned_sum(*, today_only: bool) -> Any:
    amount = case((PointsEntry.day == bindparam("day"), PointsEntry.amount), else_=0) if today_only \
        else PointsEntry.amount
    return (select(func.coalesce(func.sum(amount), 0))
            .where(PointsEntry.account_id == PointsAccount.id, PointsEntry.rule == bindparam("kind"),
                   PointsEntry.kind == "earn", PointsEntry.month == bindparam("month"))
            .scalar_subquery())


# What earning needs, in one round trip (built once: building a statement costs more CPU than
# running it): the reader's account, locked; the rule of the kind; the points of that kind already
# earned today and this month (an entry's day and month are written together from one local date);
# the settings of the lot's expiry and of the farming window.
def _setting_column(key: str) -> Any:
    return select(PointsSetting.value).where(PointsSetting.key == key).scalar_subquery()


_EARN_STATE = (
    select(PointsAccount, PointsRule, _earned_sum(today_only=True), _earned_sum(today_only=False),
           _setting_column("expiry_years"), _setting_column("farming_minutes"))
    .select_from(PointsAccount).outerjoin(PointsRule, PointsRule.kind == bindparam("kind"))
    .where(PointsAccount.reader_id == bindparam("reader_id"))
    .with_for_update(of=PointsAccount).execution_options(populate_existing=True)
)


@dataclass
class EarnState:
    """What earning points of ``kind`` needs to know, read (and the account locked) at once."""

    kind: str
    account: PointsAccount
    rule: PointsRule | None
    earned_today: int
    earned_this_month: int
    expires_on: dt.date  # of a lot created now
    farming_window: dt.timedelta  # a loan returned sooner earns nothing and loses its checkout points


def earn_state(session: Session, reader_id: int, kind: str, now: dt.datetime) -> EarnState:
    """The reader's account (opened if missing) locked, with what earning ``kind`` needs."""
    day = local_date(now)
    params = {"reader_id": reader_id, "kind": kind, "day": day, "month": day.strftime("%Y-%m")}
    row = session.execute(_EARN_STATE, params).first()
    if row is None:  # the reader's first points: open the account, then read again
        create_account(session, reader_id, now)
        row = session.execute(_EARN_STATE, params).one()
    account, rule, today, month, years, farming = row
    expires_on = expiry_date(SETTINGS_DEFAULTS["expiry_years"][0] if years is None else int(years), now)
    minutes = SETTINGS_DEFAULTS["farming_minutes"][0] if farming is None else int(farming)
    return EarnState(kind, account, rule, int(today or 0), int(month or 0), expires_on,
                     dt.timedelta(minutes=minutes))


def earn(session: Session, *, reader_id: int, kind: str, idempotency_key: str, reason: str, now: dt.datetime,
         points: int | None = None, source: str = "", branch_id: int | None = None,
         state: EarnState | None = None) -> PointsEntry | None:
    """Credit points of ``kind`` (points None: the rule's points). The largest campaign
    multiplier applies, then the daily and monthly caps of the kind. ``state``: what
    ``earn_state`` returned for this reader and kind in this transaction, if the caller read it.
    Returns None when the key was already posted, the rule is switched off, or the caps leave
    nothing. Raises UnknownPointsKind."""
    if kind not in EARN_KINDS:
        raise UnknownPointsKind(kind=kind)
    if state is None or state.kind != kind or state.account.reader_id != reader_id:
        state = earn_state(session, reader_id, kind, now)
    if points is None:
        if state.rule is None or not state.rule.active:
            return None
        points = state.rule.points
    multiplier = hooks.multiplier_for(session, reader_id, kind, now, branch_id)
    if multiplier != 1:
        reason = f"{reason}（活动 ×{multiplier.normalize()}）"
    base = int((Decimal(points) * multiplier).to_integral_value(rounding=ROUND_HALF_UP))
    # The idempotency key is checked by ``post`` (INSERT … ON CONFLICT DO NOTHING under the account lock).
    amount = _capped(state, base)
    if amount <= 0:  # earnings only grow: a re-read could not leave more room
        return None
    entry = post(session, state.account, _earning(state, amount, reason=reason, key=idempotency_key, source=source,
                                                  branch_id=branch_id, guarded=True), now)
    if entry is None and session.get_bind().dialect.name == "postgresql":
        # Nothing was posted: the key was taken, or the statement that locked the account had
        # waited for the lock and read the earnings as they were before (PostgreSQL reads a
        # statement's other rows from when it began). The lock is held now: read again, post once.
        state = earn_state(session, reader_id, kind, now)
        amount = _capped(state, base)
        if amount <= 0:
            return None
        entry = post(session, state.account, _earning(state, amount, reason=reason, key=idempotency_key,
                                                      source=source, branch_id=branch_id, guarded=False), now)
    return entry


def _capped(state: EarnState, base: int) -> int:
    """``base`` points (multiplier applied) within what the daily and monthly caps leave."""
    rule, amount = state.rule, base
    if rule is not None and rule.daily_cap is not None:
        amount = min(amount, rule.daily_cap - state.earned_today)
    if rule is not None and rule.monthly_cap is not None:
        amount = min(amount, rule.monthly_cap - state.earned_this_month)
    return amount


def _earning(state: EarnState, amount: int, *, reason: str, key: str, source: str, branch_id: int | None,
             guarded: bool) -> Posting:
    return Posting(kind="earn", amount=amount, reason=reason, idempotency_key=key, rule=state.kind, source=source,
                   branch_id=branch_id, expires_on=state.expires_on,
                   caps_seen=(state.earned_today, state.earned_this_month) if guarded else None)


def _use_waiver(session: Session, reader_id: int, now: dt.datetime, key: str) -> bool:
    today = local_date(now)
    waiver = session.scalar(
        select(RewardBenefit)
        .where(RewardBenefit.reader_id == reader_id, RewardBenefit.kind == "penalty_waiver",
               RewardBenefit.used_at.is_(None), RewardBenefit.valid_from <= today, RewardBenefit.valid_until >= today)
        .order_by(RewardBenefit.valid_until, RewardBenefit.id)
        .limit(1)
        .with_for_update()
    )
    if waiver is None:
        return False
    waiver.used_at = now
    waiver.used_by_entry = key
    return True


def penalise(session: Session, *, reader_id: int, kind: str, idempotency_key: str, reason: str, now: dt.datetime,
             points: int | None = None, source: str = "", branch_id: int | None = None) -> PointsEntry | None:
    """Deduct a penalty of ``kind`` (points None: the rule's points), capped per source
    (``per_item_cap``, e.g. one loan's overdue) and by what the reader has: a penalty never
    overdraws. An unused overdue-penalty waiver absorbs an overdue penalty. Returns None when
    the key was already posted, a waiver applied, or nothing is left to take."""
    rule = _rule(session, kind, penalty=True)
    account = lock_account(session, reader_id, now)
    if session.scalar(select(PointsEntry.id).where(PointsEntry.idempotency_key == idempotency_key)) is not None:
        return None
    if points is None:
        if rule is None or not rule.active:
            return None
        points = rule.points
    amount = points
    if rule is not None and rule.per_item_cap is not None and source:
        taken = -int(session.scalar(
            select(func.coalesce(func.sum(PointsEntry.amount), 0)).where(
                PointsEntry.account_id == account.id, PointsEntry.rule == kind, PointsEntry.kind == "penalty",
                PointsEntry.source == source)) or 0)
        amount = min(amount, rule.per_item_cap - taken)
    if amount <= 0:
        return None
    if kind == "overdue" and _use_waiver(session, reader_id, now, idempotency_key):
        return None
    amount = min(amount, account.balance)
    if amount <= 0:
        return None
    return post(session, account, Posting(kind="penalty", amount=-amount, reason=reason,
                                          idempotency_key=idempotency_key, rule=kind, source=source,
                                          branch_id=branch_id, key_checked=True), now)


def adjust(session: Session, *, reader_id: int, points: int, reason: str, now: dt.datetime,
           staff: StaffUser | None = None, idempotency_key: str | None = None,
           branch_id: int | None = None) -> PointsEntry | None:
    """A manual correction by staff (positive or negative), with a mandatory reason, audited.
    Raises ReasonRequired, InsufficientPoints (a deduction beyond the spendable balance)."""
    reason = (reason or "").strip()
    if not reason:
        raise ReasonRequired()
    if points == 0:
        raise ValidationFailed(_l("调整分值不能为 0"))
    account = lock_account(session, reader_id, now)
    key = idempotency_key or f"adjust:{reader_id}:{now.isoformat()}:{points}"
    entry = post(session, account, Posting(kind="adjust", amount=points, reason=reason, idempotency_key=key,
                                           staff=staff, branch_id=branch_id), now)
    if entry is not None:
        audit.record(session, action="points.adjust", staff=staff, target_type="reader", target_id=reader_id,
                     branch_id=branch_id, details={"points": points, "reason": reason, "entry_id": entry.id}, now=now)
    return entry


def reverse_entry(session: Session, *, entry_id: int, reason: str, now: dt.datetime,
                  staff: StaffUser | None = None) -> PointsEntry | None:
    """Staff reversal of one entry (audited). Raises ReasonRequired, NotReversible,
    AlreadyReversed, InsufficientPoints."""
    reason = (reason or "").strip()
    if not reason:
        raise ReasonRequired()
    entry = reverse(session, entry_id=entry_id, reason=reason, now=now, staff=staff)
    if entry is not None:
        audit.record(session, action="points.reverse", staff=staff, target_type="points_entry", target_id=entry_id,
                     details={"reason": reason, "entry_id": entry.id}, now=now)
    return entry


def extra_loan_quota(session: Session, reader_id: int, today: dt.date) -> int:
    """Extra loans the reader has from ``extra_loans`` rewards in force on ``today``."""
    return int(session.scalar(
        select(func.coalesce(func.sum(RewardBenefit.extra_loans), 0)).where(
            RewardBenefit.reader_id == reader_id, RewardBenefit.kind == "extra_loans",
            RewardBenefit.valid_from <= today, RewardBenefit.valid_until >= today)) or 0)
