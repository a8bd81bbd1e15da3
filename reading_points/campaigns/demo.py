"""Demo step (order 50): this year's campaigns, events at several branches with registrations,
a full session with a waitlist, and past sessions with attendance and no-shows."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from library import clock
from library.errors import LibraryError
from library.models import Branch, Reader, StaffUser
from reading_points.campaigns import events, services
from reading_points.campaigns.models import Campaign

TITLES = [
    ("世界读书日主题讲座：我们为什么读书", "adults", "报告厅"),
    ("亲子绘本共读", "families", "少儿阅览室"),
    ("青少年读书分享会", "teens", "多功能厅"),
    ("银发读书会：读《红楼梦》", "seniors", "老年阅览室"),
    ("图书漂流与换书集市", "adults", "大厅"),
    ("少儿科普故事会", "children", "少儿阅览室"),
]


def _local(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=clock.DEFAULT_TZ).astimezone(dt.UTC)


def _campaign_for(campaigns: list[Campaign], day: dt.date) -> int | None:
    for c in campaigns:
        if c.covers(day):
            return c.id
    return None


def build_demo(session: Session, ctx: Any) -> None:
    now: dt.datetime = ctx.now
    today = clock.to_local(now).date()
    organiser = session.scalar(select(StaffUser).where(StaffUser.username == "organiser")) \
        or session.scalar(select(StaffUser).order_by(StaffUser.id))
    branch_ids: list[int] = ctx.data.get("branch_ids", [])
    found = [session.get(Branch, i) for i in branch_ids[:6]]
    branches = [b for b in found if b is not None and b.kind in ("central", "branch")] or \
        list(session.scalars(select(Branch).limit(4)))
    readers = [r for r in session.scalars(select(Reader).where(Reader.id.in_(ctx.data.get("reader_ids", []))))
               if r.status == "active"]
    if not branches or not readers:
        return
    year = today.year
    services.plan_year(session, year, now=now, staff=organiser)
    campaigns = list(session.scalars(select(Campaign).where(
        Campaign.start_date >= dt.date(year, 1, 1), Campaign.start_date <= dt.date(year, 12, 31))
        .order_by(Campaign.start_date)))
    for c in campaigns:
        services.publish_campaign(session, c, now=now, staff=organiser)
    winter = services.create_campaign(session, services.CampaignData(
        name=f"{year} 年冬季悦读", kind="custom", start_date=today - dt.timedelta(days=7),
        end_date=today + dt.timedelta(days=45), branch_ids=[b.id for b in branches], multiplier=Decimal("1.2"),
        description="冬日围炉读书：讲座、故事会、读书会，参加活动可得积分。", challenge_books=3,
        challenge_badge="冬季悦读之星", challenge_bonus=20), now=now, staff=organiser)
    services.publish_campaign(session, winter, now=now, staff=organiser)
    campaigns.append(winter)

    # Sessions: World Book Day itself, some in the past few weeks and some in the next days.
    plans: list[tuple[dt.datetime, int]] = [(_local(dt.date(year, 4, 23), 14, 30), 0)]
    plans += [(_local(today - dt.timedelta(days=d), 10), i) for i, d in enumerate((20, 13, 6), start=1)]
    plans += [(_local(today + dt.timedelta(days=d), 15), i) for i, d in enumerate((2, 4, 9), start=4)]
    rng = ctx.rng
    reader_pool = list(readers)
    created = []
    waitlist_session_id = None
    for n, (starts, title_i) in enumerate(plans):
        title, audience, room = TITLES[title_i % len(TITLES)]
        branch = branches[n % len(branches)]
        local_day = clock.to_local(starts).date()
        capacity = 4 if n == len(plans) - 2 else rng.choice((20, 30, 40))
        rule = "FREQ=WEEKLY;COUNT=4" if n == len(plans) - 1 else None
        event = events.create_event(session, events.EventData(
            title=title, branch_id=branch.id, capacity=capacity, starts_at=starts, duration_minutes=90,
            audience=audience, room=room, campaign_id=_campaign_for(campaigns, local_day), recurrence_rule=rule,
            registration_opens_at=starts - dt.timedelta(days=14),
            description=f"{branch.name}{room}。免费参加，请提前报名；名额已满时可加入候补名单。"),
            now=now - dt.timedelta(days=30) if starts < now else now, staff=organiser)
        created.append(event)
        for s in event.sessions[:2]:
            wanted = capacity + 4 if capacity == 4 else rng.randint(capacity // 3, capacity - 2)
            rng.shuffle(reader_pool)
            at = max(s.starts_at - dt.timedelta(days=5), event.registration_opens_at or s.starts_at)
            for k, reader in enumerate(reader_pool[:wanted]):
                try:
                    events.register(session, session_id=s.id, reader=reader, now=min(at + dt.timedelta(minutes=k), now),
                                    source="opac" if k % 3 else "counter", staff=None)
                except LibraryError:
                    continue
            if capacity == 4:
                waitlist_session_id = s.id
            if s.ends_at < now:
                regs = [r for r in events.active_registrations(session, s.id) if r.status == "registered"]
                for r in regs[: max(1, int(len(regs) * 0.8))]:
                    if organiser is not None:
                        events.check_in(session, session_id=s.id, card_number=r.reader.card_number,
                                        now=s.starts_at + dt.timedelta(minutes=5), staff=organiser)
    # Last year's World Book Day talks, so that the statistics show growth year on year.
    for n, branch in enumerate(branches[:3]):
        events.create_event(session, events.EventData(
            title="世界读书日讲座", branch_id=branch.id, capacity=40, audience="adults", room="报告厅",
            starts_at=_local(dt.date(year - 1, 4, 23), 14 + n), duration_minutes=90),
            now=_local(dt.date(year - 1, 4, 1), 9), staff=organiser)
    events.process_no_shows(session, now)
    services.sync_campaign_states(session, now)
    session.flush()
    ctx.out["campaigns"] = {
        "campaigns": [{"id": c.id, "name": c.name, "kind": c.kind, "status": c.status,
                       "start": c.start_date.isoformat(), "end": c.end_date.isoformat(),
                       "multiplier": str(c.multiplier)} for c in campaigns],
        "events": [{"id": e.id, "title": e.title, "branch": e.branch.code, "sessions": len(e.sessions),
                    "page": f"/events/{e.id}", "ics": f"/events/{e.id}.ics"} for e in created],
        "waitlist_session_id": waitlist_session_id,
        "organiser_pages": ["/campaigns/", "/campaigns/calendar", "/campaigns/stats", "/admin/scheduler/"],
    }
