"""Campaign use cases: settings, drafting a year's calendar, editing and publishing, opening and
closing campaigns on their dates, the points multiplier, and the reading challenge.

Campaign dates are local dates (Asia/Shanghai): a campaign runs from the start of its first day
to the end of its last day at the library."""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from library import audit, clock
from library.models import Branch, Reader, StaffUser
from reading_points.campaigns import integration
from reading_points.campaigns.errors import CampaignNotFound, CampaignNotRunning, InvalidCampaign
from reading_points.campaigns.models import (
    CAMPAIGN_KINDS,
    CHALLENGE_MODES,
    Campaign,
    CampaignSettings,
    ChallengeCompletion,
    ReadingLogEntry,
)
from reading_points.campaigns.text import _

LIVE_STATUSES = ("published", "active")
WORLD_BOOK_DAY = (4, 23)


def local_day(now: dt.datetime) -> dt.date:
    return clock.to_local(now).date()


def local_midnight(day: dt.date) -> dt.datetime:
    """The UTC instant at which local ``day`` begins."""
    return dt.datetime.combine(day, dt.time(0), tzinfo=clock.DEFAULT_TZ).astimezone(dt.UTC)


def get_settings(session: Session) -> CampaignSettings:
    """The organisers' settings row (created with the defaults when missing)."""
    row = session.get(CampaignSettings, 1)
    if row is None:
        row = CampaignSettings(id=1)
        session.add(row)
        session.flush()
    return row


def seed_settings(session: Session) -> None:
    get_settings(session)


def get_campaign(session: Session, campaign_id: int) -> Campaign:
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise CampaignNotFound()
    return campaign


@dataclass
class CampaignData:
    """What an organiser fills in for a campaign."""

    name: str
    kind: str
    start_date: dt.date
    end_date: dt.date
    branch_ids: list[int]
    multiplier: Decimal = Decimal(1)
    description: str = ""
    challenge_books: int | None = None
    challenge_mode: str = "either"
    challenge_badge: str = ""
    challenge_bonus: int = 0


def _validate(data: CampaignData) -> None:
    if not data.name.strip():
        raise InvalidCampaign(reason=_("请填写名称"))
    if data.kind not in CAMPAIGN_KINDS:
        raise InvalidCampaign(reason=_("类型无效"))
    if data.start_date > data.end_date:
        raise InvalidCampaign(reason=_("结束日期早于开始日期"))
    try:
        multiplier = Decimal(data.multiplier)
    except (InvalidOperation, TypeError) as exc:
        raise InvalidCampaign(reason=_("积分倍数无效")) from exc
    if not Decimal(1) <= multiplier <= Decimal(10):
        raise InvalidCampaign(reason=_("积分倍数应在 1 到 10 之间"))
    if data.challenge_mode not in CHALLENGE_MODES:
        raise InvalidCampaign(reason=_("阅读挑战方式无效"))
    if data.challenge_books is not None and data.challenge_books <= 0:
        raise InvalidCampaign(reason=_("阅读挑战的册数应大于 0"))
    if data.challenge_bonus < 0:
        raise InvalidCampaign(reason=_("奖励积分不能为负数"))


def _apply(session: Session, campaign: Campaign, data: CampaignData) -> None:
    _validate(data)
    campaign.name = data.name.strip()
    campaign.kind = data.kind
    campaign.start_date = data.start_date
    campaign.end_date = data.end_date
    campaign.multiplier = Decimal(data.multiplier).quantize(Decimal("0.01"))
    campaign.description = data.description
    campaign.challenge_books = data.challenge_books
    campaign.challenge_mode = data.challenge_mode
    campaign.challenge_badge = data.challenge_badge.strip() or (campaign.name if data.challenge_books else "")
    campaign.challenge_bonus = data.challenge_bonus
    campaign.branches = list(session.scalars(select(Branch).where(Branch.id.in_(data.branch_ids)))) \
        if data.branch_ids else []


def create_campaign(session: Session, data: CampaignData, *, now: dt.datetime,
                    staff: StaffUser | None = None) -> Campaign:
    """A new draft campaign. Raises InvalidCampaign."""
    campaign = Campaign(status="draft", created_at=now)
    _apply(session, campaign, data)
    session.add(campaign)
    session.flush()
    audit.record(session, action="campaign.create", staff=staff, target_type="campaign", target_id=campaign.id,
                 now=now, details={"name": campaign.name})
    return campaign


def update_campaign(session: Session, campaign: Campaign, data: CampaignData, *, now: dt.datetime,
                    staff: StaffUser | None = None) -> Campaign:
    """Edit a campaign (also a published one: organisers adjust dates). Raises InvalidCampaign."""
    _apply(session, campaign, data)
    if campaign.status in ("active", "ended"):
        # Moved dates: let the state follow them on the next sync.
        campaign.status = "published"
    sync_campaign_states(session, now, only=[campaign])
    audit.record(session, action="campaign.update", staff=staff, target_type="campaign", target_id=campaign.id,
                 now=now)
    return campaign


def publish_campaign(session: Session, campaign: Campaign, *, now: dt.datetime,
                     staff: StaffUser | None = None) -> Campaign:
    """draft → published (and at once active or ended when its dates say so)."""
    if campaign.status == "draft":
        campaign.status = "published"
        campaign.published_at = now
        sync_campaign_states(session, now, only=[campaign])
        audit.record(session, action="campaign.publish", staff=staff, target_type="campaign",
                     target_id=campaign.id, now=now)
    return campaign


def unpublish_campaign(session: Session, campaign: Campaign, *, now: dt.datetime,
                       staff: StaffUser | None = None) -> Campaign:
    """Back to draft (it disappears from readers' pages and its multiplier stops)."""
    if campaign.status != "draft":
        campaign.status = "draft"
        audit.record(session, action="campaign.unpublish", staff=staff, target_type="campaign",
                     target_id=campaign.id, now=now)
    return campaign


def sync_campaign_states(session: Session, now: dt.datetime, *,
                         only: list[Campaign] | None = None) -> dict[str, list[int]]:
    """Open published campaigns whose first day has come; close those whose last day has
    passed. Idempotent: a second call the same day changes nothing."""
    today = local_day(now)
    if only is None:
        candidates = list(session.scalars(select(Campaign).where(Campaign.status.in_(LIVE_STATUSES))))
    else:
        candidates = [c for c in only if c.status in LIVE_STATUSES]
    opened: list[int] = []
    closed: list[int] = []
    for c in candidates:
        if c.end_date < today:
            if c.opened_at is None:
                c.opened_at = now
            c.status = "ended"
            c.closed_at = now
            closed.append(c.id)
        elif c.start_date <= today and c.status == "published":
            c.status = "active"
            c.opened_at = now
            opened.append(c.id)
    session.flush()
    for cid in opened:
        audit.record(session, action="campaign.open", actor="scheduler", target_type="campaign", target_id=cid,
                     now=now)
    for cid in closed:
        audit.record(session, action="campaign.close", actor="scheduler", target_type="campaign", target_id=cid,
                     now=now)
    return {"opened": opened, "closed": closed}


# -- drafting a year ---------------------------------------------------------------------------


def service_week(year: int) -> tuple[dt.date, dt.date]:
    """Library Service Promotion Week: the last full Monday–Sunday week of May."""
    last = dt.date(year, 5, 31)
    sunday = last - dt.timedelta(days=(last.weekday() - 6) % 7)
    return sunday - dt.timedelta(days=6), sunday


def planned_windows(settings: CampaignSettings, year: int) -> list[dict[str, Any]]:
    """The default calendar of ``year`` from the settings (kind, name, dates, multiplier ...)."""
    wbd = dt.date(year, *WORLD_BOOK_DAY)
    week_start, week_end = service_week(year)
    month = settings.reading_month
    summer_end_day = calendar.monthrange(year, settings.summer_end_month)[1]
    return [
        {"kind": "world_book_day", "name": f"{year} 年世界读书日",
         "start": wbd - dt.timedelta(days=settings.world_book_day_days_before),
         "end": wbd + dt.timedelta(days=settings.world_book_day_days_after),
         "multiplier": settings.world_book_day_multiplier, "challenge": None},
        {"kind": "service_week", "name": f"{year} 年图书馆服务宣传周",
         "start": week_start, "end": week_end, "multiplier": settings.service_week_multiplier, "challenge": None},
        {"kind": "reading_month", "name": f"{year} 年读书月",
         "start": dt.date(year, month, 1), "end": dt.date(year, month, calendar.monthrange(year, month)[1]),
         "multiplier": settings.reading_month_multiplier, "challenge": None},
        {"kind": "summer_reading", "name": f"{year} 年暑期阅读",
         "start": dt.date(year, settings.summer_start_month, 1),
         "end": dt.date(year, settings.summer_end_month, summer_end_day),
         "multiplier": settings.summer_multiplier,
         "challenge": (settings.summer_challenge_books, settings.summer_challenge_bonus)},
    ]


def plan_year(session: Session, year: int, *, now: dt.datetime, staff: StaffUser | None = None) -> list[Campaign]:
    """Draft the year's campaigns from the settings, at every active branch. A kind that already
    has a campaign starting that year is left alone, so planning twice drafts nothing twice."""
    settings = get_settings(session)
    branch_ids = list(session.scalars(select(Branch.id).where(Branch.active.is_(True))))
    created = []
    for w in planned_windows(settings, year):
        exists = session.scalar(select(Campaign.id).where(
            Campaign.kind == w["kind"], Campaign.start_date >= dt.date(year, 1, 1),
            Campaign.start_date <= dt.date(year, 12, 31)))
        if exists is not None:
            continue
        challenge = w["challenge"]
        data = CampaignData(
            name=w["name"], kind=w["kind"], start_date=w["start"], end_date=w["end"], branch_ids=branch_ids,
            multiplier=w["multiplier"],
            challenge_books=challenge[0] if challenge else None,
            challenge_bonus=challenge[1] if challenge else 0,
            challenge_badge="暑期阅读之星" if challenge else "",
        )
        created.append(create_campaign(session, data, now=now, staff=staff))
    return created


# -- points ------------------------------------------------------------------------------------


def running_campaigns(session: Session, now: dt.datetime) -> list[Campaign]:
    """Published campaigns whose dates cover today (local)."""
    today = local_day(now)
    return list(session.scalars(select(Campaign).where(
        Campaign.status.in_(("published", "active", "ended")),
        Campaign.start_date <= today, Campaign.end_date >= today)))


NOT_MULTIPLIED = ("challenge_bonus",)


def campaign_multiplier(session: Session, reader_id: int, kind: str, now: dt.datetime,
                        branch_id: int | None = None) -> Decimal:
    """The points multiplier for ``reader_id`` now: the largest of the published campaigns
    running today whose branches include the branch where the points are earned (the loan's
    branch; the reader's home branch when the posting names none). 1 outside any campaign.
    A challenge bonus is never multiplied."""
    if kind in NOT_MULTIPLIED:
        return Decimal(1)
    campaigns = running_campaigns(session, now)
    if not campaigns:
        return Decimal(1)
    where = branch_id
    if where is None:
        where = session.scalar(select(Reader.home_branch_id).where(Reader.id == reader_id))
    best = Decimal(1)
    for c in campaigns:
        if c.includes_branch(where) and c.multiplier > best:
            best = Decimal(c.multiplier)
    return best


# -- the reading challenge ---------------------------------------------------------------------


def campaign_bounds(campaign: Campaign) -> tuple[dt.datetime, dt.datetime]:
    return local_midnight(campaign.start_date), local_midnight(campaign.end_date + dt.timedelta(days=1))


def challenge_retention(session: Session, now: dt.datetime) -> list[Any]:
    """The loans a borrowing challenge still counts per reader (campaign not ended): the privacy
    job of circulation leaves them with their reader until the campaign is over."""
    from circulation.hooks import RetentionWindow

    campaigns = session.scalars(select(Campaign).where(
        Campaign.challenge_books.is_not(None), Campaign.challenge_mode.in_(("borrow", "either")),
        Campaign.status != "draft", Campaign.end_date >= local_day(now)))
    windows = []
    for c in campaigns:
        start, end = campaign_bounds(c)
        windows.append(RetentionWindow(start, end, tuple(b.id for b in c.branches) or None))
    return windows


def challenge_progress(session: Session, campaign: Campaign, reader_id: int) -> int:
    """Books that count: loans during the campaign at its branches, books logged, or both."""
    total = 0
    if campaign.challenge_mode in ("borrow", "either"):
        start, end = campaign_bounds(campaign)
        total += integration.count_loans(session, start=start, end=end, reader_id=reader_id,
                                         branch_ids=[b.id for b in campaign.branches] or None)
    if campaign.challenge_mode in ("log", "either"):
        total += session.scalar(select(func.count()).select_from(ReadingLogEntry).where(
            ReadingLogEntry.campaign_id == campaign.id, ReadingLogEntry.reader_id == reader_id)) or 0
    return total


def check_challenge(session: Session, campaign: Campaign, reader_id: int, now: dt.datetime) -> ChallengeCompletion | None:
    """Award the badge and the bonus once the reader reached the target (once per campaign:
    unique row and ledger idempotency key). Returns the new completion, else None."""
    if not campaign.challenge_books or campaign.status == "draft" or not campaign.covers(local_day(now)):
        return None
    done = session.scalar(select(ChallengeCompletion).where(
        ChallengeCompletion.campaign_id == campaign.id, ChallengeCompletion.reader_id == reader_id))
    if done is not None:
        return None
    books = challenge_progress(session, campaign, reader_id)
    if books < campaign.challenge_books:
        return None
    completion = ChallengeCompletion(campaign_id=campaign.id, reader_id=reader_id, badge=campaign.challenge_badge,
                                     books=books, bonus_points=campaign.challenge_bonus, completed_at=now)
    session.add(completion)
    session.flush()
    if campaign.challenge_bonus > 0:
        integration.earn(session, reader_id=reader_id, kind="challenge_bonus",
                         idempotency_key=f"campaign:{campaign.id}:challenge:{reader_id}",
                         reason=f"完成阅读挑战：{campaign.name}", now=now,
                         points=campaign.challenge_bonus, source=f"campaign:{campaign.id}")
    return completion


def log_book(session: Session, campaign: Campaign, reader: Reader, *, title: str, author: str,
             now: dt.datetime) -> ReadingLogEntry:
    """A reader logs a book read during a running campaign with a challenge. Raises
    CampaignNotRunning or InvalidCampaign."""
    if campaign.status == "draft" or not campaign.covers(local_day(now)) or not campaign.challenge_books \
            or campaign.challenge_mode == "borrow":
        raise CampaignNotRunning()
    if not title.strip():
        raise InvalidCampaign(reason=_("请填写书名"))
    entry = ReadingLogEntry(campaign_id=campaign.id, reader_id=reader.id, title=title.strip()[:200],
                            author=author.strip()[:100], logged_at=now)
    session.add(entry)
    session.flush()
    check_challenge(session, campaign, reader.id, now)
    return entry


def on_checked_out(session: Session, *, loan: Any, now: dt.datetime, **_kw: Any) -> None:
    """circulation's ``checked_out`` signal: a loan may complete a reading challenge."""
    for campaign in running_campaigns(session, now):
        if campaign.challenge_books and campaign.challenge_mode != "log" and campaign.includes_branch(loan.branch_id):
            check_challenge(session, campaign, loan.reader_id, now)
