"""Test factories for the core models (with sequences). Packages keep theirs in
``tests/<package>/factories.py``."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from library import clock
from library.models import Branch, OpeningHours, Reader, StaffUser
from library.services import create_branch, create_reader, create_staff

_seq = itertools.count(1)
STAFF_PASSWORD = "correct-horse-battery"
READER_PIN = "135790"


def seq() -> int:
    return next(_seq)


def make_branch(session: Session, *, code: str | None = None, name: str | None = None, kind: str = "branch",
                open_days: tuple[int, ...] = (0, 1, 2, 3, 4, 5, 6), **fields: Any) -> Branch:
    """A branch open 09:00-17:00 on ``open_days`` (0 = Monday); reuses an existing code."""
    if code is not None:
        existing = session.scalar(select(Branch).where(Branch.code == code))
        if existing is not None:
            return existing
    n = seq()
    branch = create_branch(session, code=code or f"B{n:03d}", name=name or f"测试分馆{n}", kind=kind, **fields)
    for wd in open_days:
        branch.opening_hours.append(OpeningHours(weekday=wd, opens=dt.time(9), closes=dt.time(17)))
    session.flush()
    return branch


def make_reader(session: Session, *, card_number: str | None = None, name: str | None = None,
                category_code: str = "adult", home_branch: Branch | None = None, pin: str = READER_PIN,
                card_expires_on: dt.date | None = None, **fields: Any) -> Reader:
    n = seq()
    return create_reader(
        session,
        card_number=card_number or f"T{n:08d}",
        name=name or f"读者{n}",
        category_code=category_code,
        home_branch=home_branch or make_branch(session),
        pin=pin,
        card_expires_on=card_expires_on or (clock.now().date() + dt.timedelta(days=365)),
        fast_hash=True,
        **fields,
    )


def make_staff(session: Session, *, role: str = "admin", branch_code: str | None = None,
               username: str | None = None, password: str = STAFF_PASSWORD) -> StaffUser:
    branch = make_branch(session, code=branch_code) if branch_code else None
    return create_staff(session, username=username or f"staff{seq()}", password=password,
                        roles=[(role, branch)], fast_hash=True)
