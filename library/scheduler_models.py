"""The scheduler's own tables: one row per job run (unique per job and scheduled time, so a run
happens once even when two processes race) and the leader lease used on SQLite.

Their migration ships with the campaigns package (0005), whose models module imports this one."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, CheckConstraint, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from library.db import Base, UTCDateTime

JOB_RUN_STATUSES = ("running", "success", "error", "missed", "interrupted")


class JobRun(Base):
    """One run of a scheduled job. The row is claimed (inserted and committed) before the job
    starts; a second claim of the same ``(job_id, scheduled_run_time)`` fails on the unique
    constraint and that process skips the run.

    While the job runs, its process renews ``heartbeat_at``; a "running" run whose heartbeat is
    older than the stale threshold belongs to a process that died: it is shown, and then marked,
    "interrupted", and ``heartbeat_at`` says when it was last seen alive."""

    __tablename__ = "scheduler_job_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[str] = mapped_column(String(100))
    scheduled_run_time: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    manual: Mapped[bool] = mapped_column(Boolean, default=False)
    runner: Mapped[str] = mapped_column(String(120), default="")
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20), default="running")
    result: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (
        UniqueConstraint("job_id", "scheduled_run_time"),
        CheckConstraint(f"status IN {JOB_RUN_STATUSES!r}", name="status_valid"),
        Index("ix_scheduler_job_runs_recent", "job_id", "started_at"),
    )

    def shown_status(self, now: dt.datetime, stale_after: dt.timedelta) -> str:
        """The status to show: a running run not heard from within ``stale_after`` is interrupted
        (its process died) even before the clean-up marks it so."""
        if self.status == "running" and self.heartbeat_at < now - stale_after:
            return "interrupted"
        return self.status


class SchedulerLease(Base):
    """The leader lease (SQLite; PostgreSQL uses an advisory lock instead): the holder renews
    ``expires_at`` while it lives; a standby takes the lease over once it has expired."""

    __tablename__ = "scheduler_leases"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    holder: Mapped[str] = mapped_column(String(120))
    acquired_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
