"""Points ledger models.

The ledger is append-only: a ``PointsEntry`` is never updated or deleted (refused by an ORM
event here and by a database trigger), a mistake is undone by a ``reverse`` entry pointing at
it. ``PointsAccount`` keeps the balance (available points) and the held points, changed in the
same transaction as the entries; ``balance == sum(entry.amount)`` and ``held ==
sum(entry.held_change)``, which ``library points verify`` checks. Each credit is a
``PointsLot`` with an expiry date; each debit records which lots it consumed
(``PointsLotUse``), oldest first.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from library.db import Base, UTCDateTime
from library.models import Branch, Reader, StaffUser

ENTRY_KINDS = ("earn", "redeem", "hold", "release", "expire", "penalty", "reverse", "adjust")
EARN_KINDS = ("checkout", "renewal", "on_time_return", "event_attended", "review", "volunteer_hour", "donation",
              "challenge_bonus")
PENALTY_KINDS = ("overdue", "no_show", "uncollected_hold")
REWARD_KINDS = ("goods", "extra_loans", "penalty_waiver")
REDEMPTION_STATUSES = ("held", "settled", "released")


class PointsRule(Base):
    """How many points one occurrence of ``kind`` earns (or, for a penalty, costs), with caps.

    ``daily_cap`` / ``monthly_cap`` limit what a reader earns of this kind per local day / month;
    ``per_item_cap`` limits a penalty per source (the overdue penalty per loan)."""

    __tablename__ = "points_rules"

    kind: Mapped[str] = mapped_column(String(30), primary_key=True)
    is_penalty: Mapped[bool] = mapped_column(Boolean, default=False)
    points: Mapped[int] = mapped_column(Integer)
    daily_cap: Mapped[int | None] = mapped_column(Integer)
    monthly_cap: Mapped[int | None] = mapped_column(Integer)
    per_item_cap: Mapped[int | None] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    description: Mapped[str] = mapped_column(String(200), default="")

    __table_args__ = (
        CheckConstraint("points >= 0", name="points_nonnegative"),
        CheckConstraint("daily_cap IS NULL OR daily_cap >= 0", name="daily_cap_nonnegative"),
        CheckConstraint("monthly_cap IS NULL OR monthly_cap >= 0", name="monthly_cap_nonnegative"),
        CheckConstraint("per_item_cap IS NULL OR per_item_cap >= 0", name="per_item_cap_nonnegative"),
    )


class PointsSetting(Base):
    """A number that configures the scheme (expiry years, farming window, hold days)."""

    __tablename__ = "points_settings"

    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(String(200), default="")


class PointsAccount(Base):
    """A reader's points: ``balance`` is what the reader may spend now, ``held`` what pending
    redemptions have reserved. Both are changed only by posting entries, under a row lock."""

    __tablename__ = "points_accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    reader_id: Mapped[int] = mapped_column(ForeignKey("readers.id"), unique=True)
    balance: Mapped[int] = mapped_column(Integer, default=0)
    held: Mapped[int] = mapped_column(Integer, default=0)
    lifetime_earned: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    reader: Mapped[Reader] = relationship()

    __table_args__ = (
        CheckConstraint("balance >= 0", name="balance_nonnegative"),
        CheckConstraint("held >= 0", name="held_nonnegative"),
    )


class PointsEntry(Base):
    """One append-only posting. ``amount`` changes the balance, ``held_change`` the held points.

    ``rule`` names the earning or penalty kind (checkout, overdue ...); ``day`` and ``month`` are
    the local (Asia/Shanghai) date and month of the posting, kept for caps and reports."""

    __tablename__ = "points_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("points_accounts.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    rule: Mapped[str] = mapped_column(String(30), default="")
    amount: Mapped[int] = mapped_column(Integer)
    held_change: Mapped[int] = mapped_column(Integer, default=0)
    balance_after: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(300))
    source: Mapped[str] = mapped_column(String(100), default="")
    idempotency_key: Mapped[str] = mapped_column(String(150), unique=True)
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("points_entries.id"), unique=True)
    branch_id: Mapped[int | None] = mapped_column(ForeignKey("branches.id"))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    day: Mapped[dt.date] = mapped_column(Date)
    month: Mapped[str] = mapped_column(String(7))

    account: Mapped[PointsAccount] = relationship()
    reverses: Mapped[PointsEntry | None] = relationship(remote_side="PointsEntry.id")
    branch: Mapped[Branch | None] = relationship()
    staff: Mapped[StaffUser | None] = relationship()

    __table_args__ = (
        CheckConstraint(f"kind IN {ENTRY_KINDS!r}", name="kind_valid"),
        CheckConstraint("amount <> 0 OR held_change <> 0", name="changes_something"),
        CheckConstraint("balance_after >= 0", name="balance_after_nonnegative"),
        CheckConstraint("(kind = 'reverse') = (reverses_id IS NOT NULL)", name="reversal_points_back"),
        Index("ix_points_entries_caps", "account_id", "rule", "day"),
        Index("ix_points_entries_month", "month", "branch_id"),
        Index("ix_points_entries_source", "account_id", "source"),
    )


class PointsLot(Base):
    """Points credited together (an earning, a positive adjustment or a reversed debit), spent
    oldest first and expiring on ``expires_on`` (a local date: usable through that day)."""

    __tablename__ = "points_lots"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("points_accounts.id"))
    entry_id: Mapped[int] = mapped_column(ForeignKey("points_entries.id"), unique=True)
    amount: Mapped[int] = mapped_column(Integer)
    remaining: Mapped[int] = mapped_column(Integer)
    expires_on: Mapped[dt.date] = mapped_column(Date)

    entry: Mapped[PointsEntry] = relationship()

    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("remaining >= 0 AND remaining <= amount", name="remaining_within_amount"),
        Index("ix_points_lots_open", "account_id", "expires_on", "id"),
    )


class PointsLotUse(Base):
    """How much of a lot an entry consumed (positive) or gave back (negative: a released hold)."""

    __tablename__ = "points_lot_uses"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("points_entries.id"), index=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("points_lots.id"), index=True)
    amount: Mapped[int] = mapped_column(Integer)

    lot: Mapped[PointsLot] = relationship()

    __table_args__ = (CheckConstraint("amount <> 0", name="amount_nonzero"),)


class PointsMonth(Base):
    """A reader's month in summary (kept when posting): the chart on "my points" reads this,
    never the ledger itself."""

    __tablename__ = "points_months"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("points_accounts.id"))
    month: Mapped[str] = mapped_column(String(7))
    earned: Mapped[int] = mapped_column(Integer, default=0)
    spent: Mapped[int] = mapped_column(Integer, default=0)
    closing_balance: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (UniqueConstraint("account_id", "month"),)


class Reward(Base):
    """Something points buy: goods collected at a branch (stock per branch), or a benefit
    (``extra_loans`` more loans for ``benefit_days``; ``penalty_waiver`` waives the next overdue
    penalty)."""

    __tablename__ = "rewards"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(20), default="goods")
    cost: Mapped[int] = mapped_column(Integer)
    picture: Mapped[str | None] = mapped_column(String(200))
    limit_per_reader: Mapped[int | None] = mapped_column(Integer)
    extra_loans: Mapped[int] = mapped_column(Integer, default=0)
    benefit_days: Mapped[int] = mapped_column(Integer, default=30)
    active_from: Mapped[dt.date | None] = mapped_column(Date)
    active_until: Mapped[dt.date | None] = mapped_column(Date)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    stock: Mapped[list[RewardStock]] = relationship(back_populates="reward", cascade="all, delete-orphan")

    __table_args__ = (
        CheckConstraint("cost > 0", name="cost_positive"),
        CheckConstraint(f"kind IN {REWARD_KINDS!r}", name="kind_valid"),
        CheckConstraint("limit_per_reader IS NULL OR limit_per_reader > 0", name="limit_positive"),
        CheckConstraint("extra_loans >= 0 AND benefit_days > 0", name="benefit_valid"),
    )

    def is_goods(self) -> bool:
        return self.kind == "goods"

    def on_offer(self, today: dt.date) -> bool:
        return self.active and (self.active_from is None or self.active_from <= today) and (
            self.active_until is None or today <= self.active_until)


class RewardStock(Base):
    """How many of a goods reward a branch still has to give (held redemptions already taken)."""

    __tablename__ = "reward_stock"

    id: Mapped[int] = mapped_column(primary_key=True)
    reward_id: Mapped[int] = mapped_column(ForeignKey("rewards.id", ondelete="CASCADE"))
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"))
    quantity: Mapped[int] = mapped_column(Integer, default=0)

    reward: Mapped[Reward] = relationship(back_populates="stock")
    branch: Mapped[Branch] = relationship()

    __table_args__ = (
        UniqueConstraint("reward_id", "branch_id"),
        CheckConstraint("quantity >= 0", name="quantity_nonnegative"),
    )


class Redemption(Base):
    """A reader's claim on a reward: points and stock are held until staff hand it out
    (``settled``) or it lapses or is cancelled (``released``)."""

    __tablename__ = "redemptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    reader_id: Mapped[int] = mapped_column(ForeignKey("readers.id"), index=True)
    reward_id: Mapped[int] = mapped_column(ForeignKey("rewards.id"), index=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"), index=True)
    points: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(10), default="held")
    idempotency_key: Mapped[str] = mapped_column(String(150), unique=True)
    hold_entry_id: Mapped[int] = mapped_column(ForeignKey("points_entries.id"), unique=True)
    closing_entry_id: Mapped[int | None] = mapped_column(ForeignKey("points_entries.id"), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))

    reader: Mapped[Reader] = relationship()
    reward: Mapped[Reward] = relationship()
    branch: Mapped[Branch] = relationship()
    closed_by: Mapped[StaffUser | None] = relationship()

    __table_args__ = (
        CheckConstraint("points > 0", name="points_positive"),
        CheckConstraint(f"status IN {REDEMPTION_STATUSES!r}", name="status_valid"),
        CheckConstraint("(status = 'held') = (closing_entry_id IS NULL)", name="closed_has_entry"),
        Index("ix_redemptions_open", "status", "expires_at"),
    )


class RewardBenefit(Base):
    """A non-goods reward in force: extra loans until ``valid_until``, or an overdue-penalty
    waiver (used once: ``used_at``)."""

    __tablename__ = "reward_benefits"

    id: Mapped[int] = mapped_column(primary_key=True)
    reader_id: Mapped[int] = mapped_column(ForeignKey("readers.id"), index=True)
    redemption_id: Mapped[int] = mapped_column(ForeignKey("redemptions.id"), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    extra_loans: Mapped[int] = mapped_column(Integer, default=0)
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_until: Mapped[dt.date] = mapped_column(Date)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    used_by_entry: Mapped[str] = mapped_column(String(150), default="")

    __table_args__ = (CheckConstraint("kind IN ('extra_loans', 'penalty_waiver')", name="kind_valid"),)


class LedgerIsAppendOnly(RuntimeError):
    """Raised when code tries to change or delete a posted ledger entry."""


@event.listens_for(PointsEntry, "before_update")
@event.listens_for(PointsLotUse, "before_update")
def _refuse_update(_mapper: Any, _conn: Any, target: Any) -> None:
    raise LedgerIsAppendOnly(f"{type(target).__name__} {target.id} cannot be changed")


@event.listens_for(PointsEntry, "before_delete")
@event.listens_for(PointsLotUse, "before_delete")
def _refuse_delete(_mapper: Any, _conn: Any, target: Any) -> None:
    raise LedgerIsAppendOnly(f"{type(target).__name__} {target.id} cannot be deleted")
