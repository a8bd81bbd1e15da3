"""The branch calendar: a due date that falls on a closed day moves to the next open day of the
branch where the loan was made; closed days do not count towards overdue days or fines.

A branch with no opening hours configured at all is treated as always open (rather than never),
so a half-configured branch cannot make due dates run away."""

from __future__ import annotations

import datetime as dt

from library.clock import DEFAULT_TZ
from library.models import Branch

MAX_SEARCH_DAYS = 366


def local_date(now: dt.datetime) -> dt.date:
    """The library's local date (Asia/Shanghai) of an aware UTC time."""
    return now.astimezone(DEFAULT_TZ).date()


class BranchCalendar:
    """Opening weekdays and closed days of one branch, read once."""

    def __init__(self, branch: Branch) -> None:
        self.weekdays = {h.weekday for h in branch.opening_hours}
        self.closed = {c.day for c in branch.closed_days}

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
