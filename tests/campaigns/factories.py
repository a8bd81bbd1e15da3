"""Factories for campaigns and events."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from library import clock
from library.models import Branch
from reading_points.campaigns import events, services
from reading_points.campaigns.models import Campaign, Event
from tests.factories import make_branch, make_staff


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    """An aware UTC datetime for a Beijing wall-clock time."""
    return dt.datetime(year, month, day, hour, minute, tzinfo=clock.DEFAULT_TZ).astimezone(dt.UTC)


def make_campaign(session: Session, *, start: dt.date, end: dt.date, branches: list[Branch] | None = None,
                  multiplier: str = "2", publish: bool = True, kind: str = "custom", name: str = "测试活动季",
                  now: dt.datetime | None = None, **fields: Any) -> Campaign:
    now = now or local(start.year, start.month, start.day) - dt.timedelta(days=30)
    data = services.CampaignData(name=name, kind=kind, start_date=start, end_date=end,
                                 branch_ids=[b.id for b in branches or []], multiplier=Decimal(multiplier), **fields)
    campaign = services.create_campaign(session, data, now=now)
    if publish:
        services.publish_campaign(session, campaign, now=now)
    session.flush()
    return campaign


def make_event(session: Session, *, starts_at: dt.datetime, capacity: int = 2, branch: Branch | None = None,
               campaign: Campaign | None = None, rule: str | None = None, duration: int = 60,
               now: dt.datetime | None = None, title: str = "绘本故事会", **fields: Any) -> Event:
    branch = branch or make_branch(session)
    data = events.EventData(title=title, branch_id=branch.id, capacity=capacity, starts_at=starts_at,
                            duration_minutes=duration, campaign_id=campaign.id if campaign else None,
                            recurrence_rule=rule, room="少儿阅览室", **fields)
    return events.create_event(session, data, now=now or starts_at - dt.timedelta(days=10))


def notices(session: Session, kind: str | None = None) -> list[Any]:
    from circulation.models import Notice

    stmt = select(Notice).order_by(Notice.id)
    if kind:
        stmt = stmt.where(Notice.kind == kind)
    return list(session.scalars(stmt))


def ledger(session: Session, key_prefix: str) -> list[Any]:
    from reading_points.points.models import PointsEntry

    return list(session.scalars(select(PointsEntry).where(PointsEntry.idempotency_key.startswith(key_prefix))
                                .order_by(PointsEntry.id)))


def count(session: Session, model: Any, *where: Any) -> int:
    return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def organiser(session: Session) -> Any:
    return make_staff(session, role="organiser")
