"""The branch calendar: a due date that falls on a closed day moves to the next open day of the
branch where the loan was made; closed days do not count towards overdue days or fines.

A branch with no opening hours configured at all is treated as always open (rather than never),
so a half-configured branch cannot make due dates run away."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import inspect, literal, select, union_all
from sqlalchemy.orm import Session

from library.clock import DEFAULT_TZ
from library.config_cache import UNKNOWN, VersionedCache
from library.models import Branch, ClosedDay, OpeningHours

MAX_SEARCH_DAYS = 366
CONFIG_GROUP = "circulation"  # the configuration token of the calendars and the rules matrix


def local_date(now: dt.datetime) -> dt.date:
    """The library's local date (Asia/Shanghai) of an aware UTC time."""
    return now.astimezone(DEFAULT_TZ).date()


_CALENDARS = union_all(  # built once (see circulation.common)
    select(OpeningHours.branch_id, OpeningHours.weekday, literal(None, ClosedDay.day.type).label("day")),
    select(ClosedDay.branch_id, literal(None, OpeningHours.weekday.type), ClosedDay.day),
)


def _load_calendars(session: Session) -> dict[int, tuple[frozenset[int], frozenset[dt.date]]]:
    weekdays: dict[int, set[int]] = {}
    closed: dict[int, set[dt.date]] = {}
    for branch_id, weekday, day in session.execute(_CALENDARS):
        if weekday is not None:
            weekdays.setdefault(branch_id, set()).add(weekday)
        if day is not None:
            closed.setdefault(branch_id, set()).add(day)
    return {b: (frozenset(weekdays.get(b, ())), frozenset(closed.get(b, ()))) for b in {*weekdays, *closed}}


# Every branch's opening weekdays and closed days, in each process, read again when one changes
# (the same configuration token as the rules matrix).
CALENDARS: VersionedCache[dict[int, tuple[frozenset[int], frozenset[dt.date]]]] = VersionedCache(
    CONFIG_GROUP, _load_calendars)


class BranchCalendar:
    """Opening weekdays and closed days of one branch, read once."""

    def __init__(self, branch: Branch | None = None, *, weekdays: set[int] | None = None,
                 closed: set[dt.date] | None = None) -> None:
        if branch is not None:
            weekdays = {h.weekday for h in branch.opening_hours}
            closed = {c.day for c in branch.closed_days}
        self.weekdays: set[int] = weekdays or set()
        self.closed: set[dt.date] = closed or set()

    @classmethod
    def of(cls, session: Session, branch: Branch, version: int | None = UNKNOWN) -> BranchCalendar:
        """The branch's calendar: from its loaded relations, else from the process's copy of
        every calendar (checked against the configuration token: ``version`` when the caller
        has read it in this transaction, else one small query)."""
        unloaded = inspect(branch).unloaded
        if "opening_hours" not in unloaded and "closed_days" not in unloaded:
            return cls(branch)
        return cls.for_branch(session, branch.id, version)

    @classmethod
    def for_branch(cls, session: Session, branch_id: int, version: int | None = UNKNOWN) -> BranchCalendar:
        """The calendar of the branch with ``branch_id``, from the process's copy of every
        calendar (checked against the configuration token, as ``of``), without loading the branch."""
        weekdays, closed = CALENDARS.get(session, version).get(branch_id, (frozenset(), frozenset()))
        return cls(weekdays=set(weekdays), closed=set(closed))

    def is_open(self, day: dt.date) -> bool:
        if not self.weekdays:
            return day not in self.closed
        return day.weekday() in self.weekdays and day not in self.closed

    def next_open_day(self, day: dt.date) -> dt.date:
        """``day`` itself if open, else the first open day after it."""
        for offset in range(MAX_SEARCH_DAYS):
            candidate = day + dt.timedelta(days=offset)
            if self.is_open(candidate):
                return candidate
        return day

    def due_date(self, start: dt.date, days: int) -> dt.date:
        return self.next_open_day(start + dt.timedelta(days=days))

    def open_days_after(self, after: dt.date, until: dt.date) -> int:
        """Open days d with ``after < d <= until`` (the overdue days of a loan due on ``after``)."""
        if until <= after:
            return 0
        return sum(1 for i in range(1, (until - after).days + 1) if self.is_open(after + dt.timedelta(days=i)))
