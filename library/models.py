"""Core models: the branch network (总分馆), the district's townships and villages, readers,
staff, API tokens, the audit log and login attempts."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from library.db import Base, UTCDateTime

BRANCH_KINDS = ("central", "branch", "service_point", "mobile")
READER_STATUSES = ("active", "expired", "lost_card", "blocked")
STAFF_ROLES = ("admin", "circulation", "cataloguer", "organiser", "ancient_books", "ancient_books_reviewer")


class Township(Base):
    """A township or street (乡镇/街道/园区) of the district, with its population."""

    __tablename__ = "townships"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20), default="township")  # township / street / park
    population: Mapped[int] = mapped_column(Integer, default=0)

    villages: Mapped[list[Village]] = relationship(back_populates="township", order_by="Village.name")

    __table_args__ = (
        CheckConstraint("population >= 0", name="population_nonnegative"),
        CheckConstraint("kind IN ('township', 'street', 'park')", name="kind_valid"),
    )


class Village(Base):
    """A village or community (村/社区) of a township."""

    __tablename__ = "villages"

    id: Mapped[int] = mapped_column(primary_key=True)
    township_id: Mapped[int] = mapped_column(ForeignKey("townships.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    population: Mapped[int] = mapped_column(Integer, default=0)

    township: Mapped[Township] = relationship(back_populates="villages")

    __table_args__ = (
        UniqueConstraint("township_id", "name"),
        CheckConstraint("population >= 0", name="population_nonnegative"),
    )


class Branch(Base):
    """A place that holds and lends books: the central library, a township branch, a village
    service point or the mobile van. ``floating`` items returned here stay here."""

    __tablename__ = "branches"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str | None] = mapped_column(String(150))
    kind: Mapped[str] = mapped_column(String(20))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("branches.id"), index=True)
    township_id: Mapped[int | None] = mapped_column(ForeignKey("townships.id"), index=True)
    village_id: Mapped[int | None] = mapped_column(ForeignKey("villages.id"), index=True)
    address: Mapped[str] = mapped_column(String(255), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    floating: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    parent: Mapped[Branch | None] = relationship(remote_side="Branch.id")
    township: Mapped[Township | None] = relationship()
    village: Mapped[Village | None] = relationship()
    opening_hours: Mapped[list[OpeningHours]] = relationship(
        back_populates="branch", cascade="all, delete-orphan", order_by="OpeningHours.weekday"
    )
    closed_days: Mapped[list[ClosedDay]] = relationship(
        back_populates="branch", cascade="all, delete-orphan", order_by="ClosedDay.day"
    )

    __table_args__ = (CheckConstraint(f"kind IN {BRANCH_KINDS!r}", name="kind_valid"),)

    def is_open_on(self, day: dt.date) -> bool:
        """Open on ``day``: it has hours on that weekday and it is not a closed day."""
        if any(c.day == day for c in self.closed_days):
            return False
        return any(h.weekday == day.weekday() for h in self.opening_hours)


class OpeningHours(Base):
    """Opening hours of a branch on one weekday (0 = Monday). No row: closed that weekday."""

    __tablename__ = "opening_hours"

    id: Mapped[int] = mapped_column(primary_key=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id", ondelete="CASCADE"))
    weekday: Mapped[int] = mapped_column(Integer)
    opens: Mapped[dt.time] = mapped_column(Time)
    closes: Mapped[dt.time] = mapped_column(Time)

    branch: Mapped[Branch] = relationship(back_populates="opening_hours")

    __table_args__ = (
        UniqueConstraint("branch_id", "weekday"),
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_valid"),
        CheckConstraint("opens < closes", name="opens_before_closes"),
    )


class ClosedDay(Base):
    """A day a branch is closed although its weekday has hours (Spring Festival, inventory)."""

    __tablename__ = "closed_days"

    id: Mapped[int] = mapped_column(primary_key=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id", ondelete="CASCADE"))
    day: Mapped[dt.date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(100), default="")

    branch: Mapped[Branch] = relationship(back_populates="closed_days")

    __table_args__ = (UniqueConstraint("branch_id", "day"),)


class ReaderCategory(Base):
    """A configurable reader category (成人、少儿、老年、视障、馆员 ...)."""

    __tablename__ = "reader_categories"

    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    name_en: Mapped[str] = mapped_column(String(50), default="")
    sort_order: Mapped[int] = mapped_column(Integer, default=0)


class Reader(Base):
    """A library card holder. The national ID is never stored: only a keyed hash (for look-up)
    and its last four characters."""

    __tablename__ = "readers"

    id: Mapped[int] = mapped_column(primary_key=True)
    card_number: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100), index=True)
    category_code: Mapped[str] = mapped_column(ForeignKey("reader_categories.code"))
    home_branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"), index=True)
    phone: Mapped[str] = mapped_column(String(40), default="", index=True)
    email: Mapped[str] = mapped_column(String(200), default="")
    card_expires_on: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default="active")
    pin_hash: Mapped[str] = mapped_column(String(200))
    keep_history: Mapped[bool] = mapped_column(Boolean, default=False)
    # when the reader last turned keep_history on: loans returned before it are still anonymised
    # (only loans returned from then on are kept); None with keep_history on keeps them all
    history_kept_since: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    show_on_leaderboards: Mapped[bool] = mapped_column(Boolean, default=False)
    national_id_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    national_id_last4: Mapped[str | None] = mapped_column(String(4))
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    category: Mapped[ReaderCategory] = relationship()
    home_branch: Mapped[Branch] = relationship()

    __table_args__ = (CheckConstraint(f"status IN {READER_STATUSES!r}", name="status_valid"),)

    # Flask-Login protocol (readers and staff share one login manager; ids are prefixed)
    is_authenticated = True
    is_active = True
    is_anonymous = False
    is_staff = False
    is_reader = True

    def get_id(self) -> str:
        return f"r:{self.id}"

    def card_expired(self, today: dt.date) -> bool:
        return self.card_expires_on < today


class ReplacedCard(Base):
    """A card number that was replaced (lost card); it can no longer be used."""

    __tablename__ = "replaced_cards"

    id: Mapped[int] = mapped_column(primary_key=True)
    reader_id: Mapped[int] = mapped_column(ForeignKey("readers.id", ondelete="CASCADE"), index=True)
    card_number: Mapped[str] = mapped_column(String(32), unique=True)
    replaced_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class StaffUser(Base):
    """A member of staff who logs in with a username and password."""

    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    roles: Mapped[list[StaffRole]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )

    is_authenticated = True
    is_anonymous = False
    is_staff = True
    is_reader = False

    @property
    def is_active(self) -> bool:  # type: ignore[override]
        return self.active

    def get_id(self) -> str:
        return f"s:{self.id}"

    def role_names(self) -> set[str]:
        return {r.role for r in self.roles}

    def has_role(self, *roles: str) -> bool:
        names = self.role_names()
        return "admin" in names or any(r in names for r in roles)

    def branch_ids_for(self, role: str) -> set[int] | None:
        """Branches where the user may act in ``role``; ``None`` means every branch."""
        if "admin" in self.role_names():
            return None
        rows = [r for r in self.roles if r.role == role]
        if any(r.branch_id is None for r in rows):
            return None
        return {r.branch_id for r in rows if r.branch_id is not None}

    def can_act_at(self, role: str, branch_id: int) -> bool:
        if not self.has_role(role):
            return False
        allowed = self.branch_ids_for(role)
        return allowed is None or branch_id in allowed


class StaffRole(Base):
    """A role held by a staff user, optionally scoped to one branch (circulation is)."""

    __tablename__ = "staff_roles"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(40))
    branch_id: Mapped[int | None] = mapped_column(ForeignKey("branches.id", ondelete="CASCADE"))

    user: Mapped[StaffUser] = relationship(back_populates="roles")
    branch: Mapped[Branch | None] = relationship()

    __table_args__ = (
        CheckConstraint(f"role IN {STAFF_ROLES!r}", name="role_valid"),
        UniqueConstraint("user_id", "role", "branch_id"),
    )


class ApiToken(Base):
    """A bearer token a staff user created for the JSON API; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[StaffUser] = relationship()


class AuditEntry(Base):
    """Who did what, when, at which branch. Written by services in the same transaction."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"), index=True)
    actor: Mapped[str] = mapped_column(String(100), default="")  # "kiosk:KIOSK01", "scheduler" ...
    action: Mapped[str] = mapped_column(String(64), index=True)
    target_type: Mapped[str] = mapped_column(String(40), default="")
    target_id: Mapped[str] = mapped_column(String(64), default="")
    branch_id: Mapped[int | None] = mapped_column(ForeignKey("branches.id", ondelete="SET NULL"))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    staff: Mapped[StaffUser | None] = relationship()
    branch: Mapped[Branch | None] = relationship()


class LoginAttempt(Base):
    """One login attempt, for rate limiting across processes (kept in the database)."""

    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))  # staff / reader / api / sip2
    identifier: Mapped[str] = mapped_column(String(100))
    remote_addr: Mapped[str] = mapped_column(String(64), default="")
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    success: Mapped[bool] = mapped_column(Boolean)

    __table_args__ = (Index("ix_login_attempts_lookup", "kind", "identifier", "at"),)


class ConfigVersion(Base):
    """A token per group of configuration tables, replaced by database triggers on every write to
    them (any statement, any process, any tool): processes keep such configuration in memory (the
    circulation rules, the branch calendars: ``library.config_cache``) and compare the token
    instead of reading it all again. Random, not a counter, so a database emptied and seeded again
    cannot repeat a token some process has cached."""

    __tablename__ = "config_versions"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)
