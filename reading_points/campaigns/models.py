"""Campaign and event models: reading campaigns (World Book Day ...), events with sessions,
registrations with a waitlist, attendance, the reading challenge and the organisers' settings."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from library.db import Base, UTCDateTime
from library.models import Branch, Reader, StaffUser

CAMPAIGN_KINDS = ("world_book_day", "service_week", "reading_month", "summer_reading", "custom")
CAMPAIGN_STATUSES = ("draft", "published", "active", "ended")
CHALLENGE_MODES = ("borrow", "log", "either")
AUDIENCES = ("children", "teens", "adults", "seniors", "families")
EVENT_STATUSES = ("draft", "published", "cancelled")
SESSION_STATUSES = ("scheduled", "cancelled")
REGISTRATION_STATUSES = ("registered", "waitlisted", "cancelled")
REGISTRATION_SOURCES = ("opac", "counter", "walk_in")

campaign_branches = Table(
    "campaign_branches",
    Base.metadata,
    Column("campaign_id", ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True),
    Column("branch_id", ForeignKey("branches.id", ondelete="CASCADE"), primary_key=True),
)


class CampaignSettings(Base):
    """The organisers' defaults (one row, id 1): how ``library campaigns plan YEAR`` drafts a
    year, reminder lead time, the no-show consequence and whether blocked readers may register."""

    __tablename__ = "campaign_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    world_book_day_days_before: Mapped[int] = mapped_column(Integer, default=3)
    world_book_day_days_after: Mapped[int] = mapped_column(Integer, default=3)
    world_book_day_multiplier: Mapped[Decimal] = mapped_column(Numeric(4, 2), default=Decimal("2.00"))
    service_week_multiplier: Mapped[Decimal] = mapped_column(Numeric(4, 2), default=Decimal("1.50"))
    reading_month: Mapped[int] = mapped_column(Integer, default=11)
    reading_month_multiplier: Mapped[Decimal] = mapped_column(Numeric(4, 2), default=Decimal("1.50"))
    summer_start_month: Mapped[int] = mapped_column(Integer, default=7)
    summer_end_month: Mapped[int] = mapped_column(Integer, default=8)
    summer_multiplier: Mapped[Decimal] = mapped_column(Numeric(4, 2), default=Decimal("1.50"))
    summer_challenge_books: Mapped[int] = mapped_column(Integer, default=10)
    summer_challenge_bonus: Mapped[int] = mapped_column(Integer, default=50)
    reminder_lead_hours: Mapped[int] = mapped_column(Integer, default=24)
    no_show_penalty: Mapped[bool] = mapped_column(Boolean, default=True)
    attendance_points: Mapped[bool] = mapped_column(Boolean, default=True)
    refuse_blocked_readers: Mapped[bool] = mapped_column(Boolean, default=True)

    __table_args__ = (
        CheckConstraint("reading_month BETWEEN 1 AND 12", name="reading_month_valid"),
        CheckConstraint("summer_start_month BETWEEN 1 AND 12 AND summer_end_month BETWEEN 1 AND 12"
                        " AND summer_start_month <= summer_end_month", name="summer_valid"),
        CheckConstraint("reminder_lead_hours >= 0", name="lead_nonnegative"),
        CheckConstraint("world_book_day_days_before >= 0 AND world_book_day_days_after >= 0", name="wbd_valid"),
    )


class Campaign(Base):
    """A reading campaign: dates, branches taking part (none = the whole network), a points
    multiplier and an optional reading challenge. draft → published → active → ended."""

    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default="draft", index=True)
    start_date: Mapped[dt.date] = mapped_column(Date)
    end_date: Mapped[dt.date] = mapped_column(Date)
    description: Mapped[str] = mapped_column(Text, default="")
    multiplier: Mapped[Decimal] = mapped_column(Numeric(4, 2), default=Decimal("1.00"))
    challenge_books: Mapped[int | None] = mapped_column(Integer)
    challenge_mode: Mapped[str] = mapped_column(String(10), default="either")
    challenge_badge: Mapped[str] = mapped_column(String(100), default="")
    challenge_bonus: Mapped[int] = mapped_column(Integer, default=0)
    poster_filename: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    opened_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    branches: Mapped[list[Branch]] = relationship(secondary=campaign_branches, order_by="Branch.code")
    events: Mapped[list[Event]] = relationship(back_populates="campaign", order_by="Event.first_starts_at")

    __table_args__ = (
        CheckConstraint(f"kind IN {CAMPAIGN_KINDS!r}", name="kind_valid"),
        CheckConstraint(f"status IN {CAMPAIGN_STATUSES!r}", name="status_valid"),
        CheckConstraint(f"challenge_mode IN {CHALLENGE_MODES!r}", name="challenge_mode_valid"),
        CheckConstraint("start_date <= end_date", name="dates_ordered"),
        CheckConstraint("multiplier >= 1 AND multiplier <= 10", name="multiplier_range"),
        CheckConstraint("challenge_books IS NULL OR challenge_books > 0", name="challenge_positive"),
        CheckConstraint("challenge_bonus >= 0", name="bonus_nonnegative"),
        Index("ix_campaigns_dates", "start_date", "end_date"),
    )

    def covers(self, day: dt.date) -> bool:
        return self.start_date <= day <= self.end_date

    def includes_branch(self, branch_id: int | None) -> bool:
        return not self.branches or any(b.id == branch_id for b in self.branches)


class Event(Base):
    """An event (talk, story time, reading club, book swap) at a branch, one-off or recurring
    (an RFC 5545 RRULE); each occurrence is an :class:`EventSession` with the event's capacity."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id", ondelete="SET NULL"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"), index=True)
    room: Mapped[str] = mapped_column(String(100), default="")
    audience: Mapped[str] = mapped_column(String(20), default="adults")
    capacity: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default="published")
    first_starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    duration_minutes: Mapped[int] = mapped_column(Integer, default=60)
    recurrence_rule: Mapped[str | None] = mapped_column(String(200))
    registration_opens_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    registration_closes_hours: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    campaign: Mapped[Campaign | None] = relationship(back_populates="events")
    branch: Mapped[Branch] = relationship()
    sessions: Mapped[list[EventSession]] = relationship(
        back_populates="event", cascade="all, delete-orphan", order_by="EventSession.starts_at"
    )

    __table_args__ = (
        CheckConstraint(f"audience IN {AUDIENCES!r}", name="audience_valid"),
        CheckConstraint(f"status IN {EVENT_STATUSES!r}", name="status_valid"),
        CheckConstraint("capacity > 0", name="capacity_positive"),
        CheckConstraint("duration_minutes > 0", name="duration_positive"),
        CheckConstraint("registration_closes_hours >= 0", name="closes_nonnegative"),
    )


class EventSession(Base):
    """One occurrence of an event. Registrations lock this row, so capacity and waitlist order
    hold under concurrent registrations and cancellations."""

    __tablename__ = "event_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    ends_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20), default="scheduled")
    no_shows_processed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    event: Mapped[Event] = relationship(back_populates="sessions")
    registrations: Mapped[list[Registration]] = relationship(
        back_populates="session", order_by="(Registration.created_at, Registration.id)"
    )

    __table_args__ = (
        UniqueConstraint("event_id", "starts_at"),
        CheckConstraint(f"status IN {SESSION_STATUSES!r}", name="status_valid"),
        CheckConstraint("starts_at < ends_at", name="starts_before_ends"),
    )


class Registration(Base):
    """A reader's place at a session: registered or waitlisted (first come, first promoted) or
    cancelled. ``attended_at`` is set by check-in; ``no_show`` once the session was processed."""

    __tablename__ = "event_registrations"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("event_sessions.id", ondelete="CASCADE"), index=True)
    reader_id: Mapped[int] = mapped_column(ForeignKey("readers.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(20), default="opac")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    promoted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    attended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    checked_in_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    reminded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    no_show: Mapped[bool] = mapped_column(Boolean, default=False)

    session: Mapped[EventSession] = relationship(back_populates="registrations")
    reader: Mapped[Reader] = relationship()
    checked_in_by: Mapped[StaffUser | None] = relationship()

    __table_args__ = (
        CheckConstraint(f"status IN {REGISTRATION_STATUSES!r}", name="status_valid"),
        CheckConstraint(f"source IN {REGISTRATION_SOURCES!r}", name="source_valid"),
        CheckConstraint("attended_at IS NULL OR status = 'registered'", name="attended_registered"),
        Index(
            "uq_event_registrations_active",
            "session_id",
            "reader_id",
            unique=True,
            postgresql_where=text("status IN ('registered', 'waitlisted')"),
            sqlite_where=text("status IN ('registered', 'waitlisted')"),
        ),
    )


class ReadingLogEntry(Base):
    """A book a reader says they read during a campaign (counts towards its challenge)."""

    __tablename__ = "campaign_reading_logs"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), index=True)
    reader_id: Mapped[int] = mapped_column(ForeignKey("readers.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    author: Mapped[str] = mapped_column(String(100), default="")
    logged_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class ChallengeCompletion(Base):
    """A reader completed a campaign's reading challenge: the badge, and the bonus posted to the
    points ledger under the key ``campaign:<id>:challenge:<reader>``."""

    __tablename__ = "campaign_challenge_completions"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    reader_id: Mapped[int] = mapped_column(ForeignKey("readers.id", ondelete="CASCADE"), index=True)
    badge: Mapped[str] = mapped_column(String(100))
    books: Mapped[int] = mapped_column(Integer)
    bonus_points: Mapped[int] = mapped_column(Integer, default=0)
    completed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    campaign: Mapped[Campaign] = relationship()

    __table_args__ = (UniqueConstraint("campaign_id", "reader_id"),)


# The core scheduler's tables (library/scheduler.py) are created by this package's migration.
from library.scheduler_models import JobRun, SchedulerLease  # noqa: E402

__all__ = [
    "Campaign",
    "CampaignSettings",
    "ChallengeCompletion",
    "Event",
    "EventSession",
    "JobRun",
    "ReadingLogEntry",
    "Registration",
    "SchedulerLease",
    "campaign_branches",
]
