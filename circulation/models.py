"""Circulation models: loans, holds, transits, the rules matrix, charges, suspensions, block
overrides, the notices outbox and the circulation event log (statistics).

Invariants the database enforces (not only Python):
- at most one open loan per item (partial unique index on ``loans.item_id``);
- a copy is trapped for at most one active hold (partial unique index on ``holds.trapped_item_id``);
- a reader holds a title at most once at a time (partial unique index);
- at most one open transit per item; one rule per (branch, category, item type) scope;
- one overdue fine and one suspension per loan; one notice per dedup key.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from catalog.models import BibRecord, Item
from library.db import Base, UTCDateTime
from library.models import Branch, Reader, StaffUser

LOAN_STATES = ("on_loan", "returned", "lost")
OPEN_LOAN_STATES = ("on_loan", "lost")
HOLD_STATES = ("waiting", "in_transit", "ready", "collected", "expired", "cancelled")
ACTIVE_HOLD_STATES = ("waiting", "in_transit", "ready")
TRANSIT_REASONS = ("home", "hold", "manual")
CONSEQUENCES = ("fine", "suspension")
CHARGE_KINDS = ("overdue_fine", "replacement", "damage")
CHARGE_STATES = ("open", "paid", "waived")
EVENT_KINDS = ("checkout", "checkin", "renewal", "hold_placed", "visit")

# The loan state machine as a decision table: (state, event) -> new state. Anything not listed
# is refused (see circulation.loans.transition).
LOAN_TRANSITIONS: dict[tuple[str, str], str] = {
    ("on_loan", "renew"): "on_loan",
    ("on_loan", "return"): "returned",
    ("on_loan", "mark_lost"): "lost",
    ("lost", "return"): "returned",
}

# The hold state machine: (state, event) -> new state.
HOLD_TRANSITIONS: dict[tuple[str, str], str] = {
    ("waiting", "trap_here"): "ready",
    ("waiting", "trap_elsewhere"): "in_transit",
    ("in_transit", "arrive"): "ready",
    ("ready", "collect"): "collected",
    ("waiting", "collect"): "collected",  # the reader borrows a copy from the open shelf
    ("ready", "expire"): "expired",
    ("waiting", "cancel"): "cancelled",
    ("in_transit", "cancel"): "cancelled",
    ("ready", "cancel"): "cancelled",
}


def _in(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


class CirculationRule(Base):
    """One row of the rules matrix. ``None`` in branch, reader category or item type means "any";
    the most specific matching row wins (branch counts more than category, category more than
    item type). ``scope_key`` makes each scope unique in the database."""

    __tablename__ = "circulation_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    scope_key: Mapped[str] = mapped_column(String(80), unique=True)
    branch_id: Mapped[int | None] = mapped_column(ForeignKey("branches.id", ondelete="CASCADE"))
    reader_category_code: Mapped[str | None] = mapped_column(ForeignKey("reader_categories.code", ondelete="CASCADE"))
    item_type_code: Mapped[str | None] = mapped_column(ForeignKey("item_types.code", ondelete="CASCADE"))
    loan_days: Mapped[int] = mapped_column(Integer, default=30)
    renewals: Mapped[int] = mapped_column(Integer, default=1)
    max_items: Mapped[int] = mapped_column(Integer, default=10)
    max_holds: Mapped[int] = mapped_column(Integer, default=5)
    grace_days: Mapped[int] = mapped_column(Integer, default=0)
    consequence: Mapped[str] = mapped_column(String(12), default="suspension")
    fine_per_day: Mapped[Decimal] = mapped_column(Numeric(8, 2), default=Decimal("0.10"))
    fine_cap: Mapped[Decimal] = mapped_column(Numeric(8, 2), default=Decimal("20.00"))
    suspension_factor: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal("1.00"))
    max_suspension_days: Mapped[int] = mapped_column(Integer, default=90)
    hold_shelf_days: Mapped[int] = mapped_column(Integer, default=7)
    charge_limit: Mapped[Decimal] = mapped_column(Numeric(8, 2), default=Decimal("10.00"))
    note: Mapped[str] = mapped_column(String(200), default="")

    branch: Mapped[Branch | None] = relationship()

    __table_args__ = (
        CheckConstraint(f"consequence IN {_in(CONSEQUENCES)}", name="consequence_valid"),
        CheckConstraint(
            "loan_days > 0 AND renewals >= 0 AND max_items >= 0 AND max_holds >= 0 AND grace_days >= 0"
            " AND hold_shelf_days > 0 AND max_suspension_days >= 0",
            name="numbers_valid",
        ),
        CheckConstraint("fine_per_day >= 0 AND fine_cap >= 0 AND suspension_factor >= 0 AND charge_limit >= 0",
                        name="amounts_valid"),
    )

    @staticmethod
    def make_scope_key(branch_id: int | None, category: str | None, item_type: str | None) -> str:
        return f"{branch_id or '*'}|{category or '*'}|{item_type or '*'}"

    def specificity(self) -> int:
        return (4 if self.branch_id else 0) + (2 if self.reader_category_code else 0) + (
            1 if self.item_type_code else 0)


class Loan(Base):
    """A copy lent to a reader at a branch. ``due_on`` is a local date (the loan is due at the end
    of that day); ``state`` follows LOAN_TRANSITIONS.

    A returned loan of a reader who does not keep a reading history is anonymised by a nightly
    job (``circulation.privacy``): ``reader_id`` becomes NULL and ``anonymised_at`` is set; the
    copy, branches and dates stay (the copy's circulation history). Only a returned loan can lose
    its reader (check ``anonymised_consistent``)."""

    __tablename__ = "loans"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    reader_id: Mapped[int | None] = mapped_column(ForeignKey("readers.id"), index=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"))
    rule_id: Mapped[int | None] = mapped_column(ForeignKey("circulation_rules.id", ondelete="SET NULL"))
    state: Mapped[str] = mapped_column(String(12), default="on_loan")
    checked_out_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    due_on: Mapped[dt.date] = mapped_column(Date, index=True)
    renewals: Mapped[int] = mapped_column(Integer, default=0)
    last_renewed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    returned_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    return_branch_id: Mapped[int | None] = mapped_column(ForeignKey("branches.id"))
    overdue_days: Mapped[int] = mapped_column(Integer, default=0)
    on_time: Mapped[bool | None] = mapped_column(Boolean)
    lost_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    actor: Mapped[str] = mapped_column(String(100), default="")
    hold_id: Mapped[int | None] = mapped_column(Integer)  # the hold this loan collected, if any
    anonymised_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    item: Mapped[Item] = relationship()
    reader: Mapped[Reader | None] = relationship()
    branch: Mapped[Branch] = relationship(foreign_keys=[branch_id])
    return_branch: Mapped[Branch | None] = relationship(foreign_keys=[return_branch_id])

    __table_args__ = (
        CheckConstraint(f"state IN {_in(LOAN_STATES)}", name="state_valid"),
        CheckConstraint("renewals >= 0 AND overdue_days >= 0", name="counts_valid"),
        CheckConstraint("(state = 'returned') = (returned_at IS NOT NULL)", name="returned_consistent"),
        CheckConstraint("(reader_id IS NULL) = (anonymised_at IS NOT NULL)"
                        " AND (reader_id IS NOT NULL OR state = 'returned')", name="anonymised_consistent"),
        Index(
            "uq_loans_open_item", "item_id", unique=True,
            postgresql_where=text(f"state IN {_in(OPEN_LOAN_STATES)}"),
            sqlite_where=text(f"state IN {_in(OPEN_LOAN_STATES)}"),
        ),
        Index("ix_loans_item_id", "item_id"),
        Index("ix_loans_reader_state", "reader_id", "state"),
        Index("ix_loans_state_due", "state", "due_on"),
    )

    def is_overdue(self, today: dt.date) -> bool:
        return self.state == "on_loan" and self.due_on < today


class Hold(Base):
    """A reader's request (预约) for a title (any copy, ``item_id`` None) or one copy, collected at
    ``pickup_branch``. The queue is first come, first served (``created_at``, then ``id``)."""

    __tablename__ = "holds"

    id: Mapped[int] = mapped_column(primary_key=True)
    reader_id: Mapped[int] = mapped_column(ForeignKey("readers.id"), index=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("bib_records.id"))
    item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id"))  # item-level hold
    pickup_branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"), index=True)
    state: Mapped[str] = mapped_column(String(12), default="waiting")
    trapped_item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    trapped_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    ready_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    expires_on: Mapped[dt.date | None] = mapped_column(Date)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    loan_id: Mapped[int | None] = mapped_column(ForeignKey("loans.id", ondelete="SET NULL"))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))

    reader: Mapped[Reader] = relationship()
    record: Mapped[BibRecord] = relationship()
    item: Mapped[Item | None] = relationship(foreign_keys=[item_id])
    trapped_item: Mapped[Item | None] = relationship(foreign_keys=[trapped_item_id])
    pickup_branch: Mapped[Branch] = relationship()

    __table_args__ = (
        CheckConstraint(f"state IN {_in(HOLD_STATES)}", name="state_valid"),
        CheckConstraint(
            "(state IN ('in_transit', 'ready', 'collected')) = (trapped_item_id IS NOT NULL)"
            " OR state IN ('expired', 'cancelled')",
            name="trapped_consistent",
        ),
        Index(
            "uq_holds_trapped_item", "trapped_item_id", unique=True,
            postgresql_where=text("state IN ('in_transit', 'ready')"),
            sqlite_where=text("state IN ('in_transit', 'ready')"),
        ),
        Index(
            "uq_holds_reader_record_active", "reader_id", "record_id", unique=True,
            postgresql_where=text(f"state IN {_in(ACTIVE_HOLD_STATES)}"),
            sqlite_where=text(f"state IN {_in(ACTIVE_HOLD_STATES)}"),
        ),
        Index("ix_holds_record_state", "record_id", "state", "created_at"),
        Index("ix_holds_state_expires", "state", "expires_on"),
    )

    @property
    def is_active(self) -> bool:
        return self.state in ACTIVE_HOLD_STATES


class Transit(Base):
    """A move of a copy between branches: created at check-in (``sent_at`` empty until it leaves
    on the van), received at the destination."""

    __tablename__ = "transits"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    from_branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"))
    to_branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"))
    reason: Mapped[str] = mapped_column(String(10))
    hold_id: Mapped[int | None] = mapped_column(ForeignKey("holds.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    received_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))

    item: Mapped[Item] = relationship()
    from_branch: Mapped[Branch] = relationship(foreign_keys=[from_branch_id])
    to_branch: Mapped[Branch] = relationship(foreign_keys=[to_branch_id])
    hold: Mapped[Hold | None] = relationship()

    __table_args__ = (
        CheckConstraint(f"reason IN {_in(TRANSIT_REASONS)}", name="reason_valid"),
        Index(
            "uq_transits_open_item", "item_id", unique=True,
            postgresql_where=text("received_at IS NULL AND cancelled_at IS NULL"),
            sqlite_where=text("received_at IS NULL AND cancelled_at IS NULL"),
        ),
        Index("ix_transits_item_id", "item_id"),
        Index("ix_transits_to_open", "to_branch_id", "received_at"),
        Index("ix_transits_from_open", "from_branch_id", "sent_at"),
    )

    @property
    def is_open(self) -> bool:
        return self.received_at is None and self.cancelled_at is None


class Charge(Base):
    """Money a reader owes: an overdue fine (accrued per day, capped), a replacement or a damage
    charge. Settled by payment or waived (with a reason)."""

    __tablename__ = "charges"

    id: Mapped[int] = mapped_column(primary_key=True)
    reader_id: Mapped[int] = mapped_column(ForeignKey("readers.id"), index=True)
    loan_id: Mapped[int | None] = mapped_column(ForeignKey("loans.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(16))
    amount: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    state: Mapped[str] = mapped_column(String(10), default="open")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    settled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str] = mapped_column(String(200), default="")
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))

    reader: Mapped[Reader] = relationship()
    loan: Mapped[Loan | None] = relationship()

    __table_args__ = (
        CheckConstraint(f"kind IN {_in(CHARGE_KINDS)}", name="kind_valid"),
        CheckConstraint(f"state IN {_in(CHARGE_STATES)}", name="state_valid"),
        CheckConstraint("amount >= 0", name="amount_nonnegative"),
        Index(
            "uq_charges_overdue_loan", "loan_id", unique=True,
            postgresql_where=text("kind = 'overdue_fine'"),
            sqlite_where=text("kind = 'overdue_fine'"),
        ),
        Index("ix_charges_loan_id", "loan_id"),
    )


class Suspension(Base):
    """Borrowing suspended (以停代金) from ``starts_on`` to ``ends_on`` inclusive (local dates)."""

    __tablename__ = "suspensions"

    id: Mapped[int] = mapped_column(primary_key=True)
    reader_id: Mapped[int] = mapped_column(ForeignKey("readers.id"), index=True)
    loan_id: Mapped[int | None] = mapped_column(ForeignKey("loans.id", ondelete="SET NULL"))
    starts_on: Mapped[dt.date] = mapped_column(Date)
    ends_on: Mapped[dt.date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    lifted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))

    __table_args__ = (
        CheckConstraint("starts_on <= ends_on", name="dates_ordered"),
        Index(
            "uq_suspensions_loan", "loan_id", unique=True,
            postgresql_where=text("loan_id IS NOT NULL"),
            sqlite_where=text("loan_id IS NOT NULL"),
        ),
    )


class BlockOverride(Base):
    """A member of staff lending despite blocks, with the reason (also in the audit log)."""

    __tablename__ = "block_overrides"

    id: Mapped[int] = mapped_column(primary_key=True)
    reader_id: Mapped[int] = mapped_column(ForeignKey("readers.id"), index=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    branch_id: Mapped[int | None] = mapped_column(ForeignKey("branches.id", ondelete="SET NULL"))
    loan_id: Mapped[int | None] = mapped_column(ForeignKey("loans.id", ondelete="SET NULL"))
    block_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    reason: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    staff: Mapped[StaffUser] = relationship()

    __table_args__ = (CheckConstraint("length(reason) > 0", name="reason_given"),)


class Notice(Base):
    """The notices outbox. A row is written once per ``dedup_key`` (unique) in the transaction of
    the event; a channel sends it later, at most once (``claimed_at`` before sending,
    ``sent_at`` after)."""

    __tablename__ = "notices"

    id: Mapped[int] = mapped_column(primary_key=True)
    reader_id: Mapped[int] = mapped_column(ForeignKey("readers.id", ondelete="CASCADE"), index=True)
    branch_id: Mapped[int | None] = mapped_column(ForeignKey("branches.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(20), default="log")
    address: Mapped[str] = mapped_column(String(200), default="")
    dedup_key: Mapped[str] = mapped_column(String(200), unique=True)
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    claimed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(String(500), default="")

    reader: Mapped[Reader] = relationship()
    branch: Mapped[Branch | None] = relationship()

    __table_args__ = (
        CheckConstraint("attempts >= 0", name="attempts_nonnegative"),
        Index("ix_notices_pending", "sent_at", "claimed_at"),
    )


class AnonymisedReaderCount(Base):
    """Readers that anonymisation removed from the events of a (branch, local day): the
    statistics add them to the distinct readers still named in the events, so "active readers"
    reads the same before and after. Only a count is kept, never who."""

    __tablename__ = "circulation_anonymised_readers"

    id: Mapped[int] = mapped_column(primary_key=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id", ondelete="CASCADE"))
    day: Mapped[dt.date] = mapped_column(Date)
    readers: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (
        CheckConstraint("readers >= 0", name="readers_nonnegative"),
        Index("uq_circulation_anonymised_readers_branch_day", "branch_id", "day", unique=True),
    )


class CirculationEvent(Base):
    """One countable event for the statistics (per branch and local day): checkout, checkin,
    renewal, hold placed, visit (a reader served at a counter or kiosk, once per day and branch)."""

    __tablename__ = "circulation_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(12))
    reader_id: Mapped[int | None] = mapped_column(ForeignKey("readers.id", ondelete="SET NULL"))
    item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id", ondelete="SET NULL"))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    __table_args__ = (
        CheckConstraint(f"kind IN {_in(EVENT_KINDS)}", name="kind_valid"),
        Index("ix_circulation_events_branch_day", "branch_id", "day", "kind"),
        Index(
            "uq_circulation_events_visit", "branch_id", "day", "reader_id", unique=True,
            postgresql_where=text("kind = 'visit'"),
            sqlite_where=text("kind = 'visit'"),
        ),
    )
