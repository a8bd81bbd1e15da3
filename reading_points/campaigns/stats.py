"""Figures for organisers: the month calendar, a campaign's dashboard (with loans compared to
the same dates last year) and the district plan's statistics (events held per 10,000
residents per year by branch and township, growth year on year against a 5% target)."""

from __future__ import annotations

import calendar
import csv
import datetime as dt
import io
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session, selectinload

from library import clock
from library.models import Branch, Township
from reading_points.campaigns import integration
from reading_points.campaigns.models import Campaign, Event, EventSession, Registration
from reading_points.campaigns.services import campaign_bounds, local_midnight

GROWTH_TARGET = 0.05


def same_dates_last_year(day: dt.date) -> dt.date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


# -- month calendar ----------------------------------------------------------------------------


def month_sessions(session: Session, year: int, month: int, *, branch_id: int | None = None,
                   include_unpublished: bool = True) -> dict[dt.date, list[EventSession]]:
    """Sessions of a month by local day."""
    first = dt.date(year, month, 1)
    last = dt.date(year, month, calendar.monthrange(year, month)[1])
    stmt = (select(EventSession).join(Event).where(
        EventSession.starts_at >= local_midnight(first),
        EventSession.starts_at < local_midnight(last + dt.timedelta(days=1)))
        .options(selectinload(EventSession.event).selectinload(Event.branch))
        .order_by(EventSession.starts_at))
    if branch_id:
        stmt = stmt.where(Event.branch_id == branch_id)
    if not include_unpublished:
        stmt = stmt.where(Event.status == "published", EventSession.status == "scheduled")
    by_day: dict[dt.date, list[EventSession]] = defaultdict(list)
    for s in session.scalars(stmt):
        by_day[clock.to_local(s.starts_at).date()].append(s)
    return by_day


def month_grid(year: int, month: int) -> list[list[dt.date | None]]:
    """Weeks (Monday first) of the month; days of other months are None."""
    return [[d if d.month == month else None for d in week]
            for week in calendar.Calendar(firstweekday=0).monthdatescalendar(year, month)]


# -- campaign dashboard ------------------------------------------------------------------------


@dataclass
class Dashboard:
    campaign: Campaign
    sessions: int = 0
    registrations: int = 0
    waitlisted: int = 0
    cancelled: int = 0
    attended: int = 0
    no_shows: int = 0
    event_points: int = 0
    points_during: int = 0
    loans: int = 0
    loans_last_year: int = 0
    challenge_completions: int = 0
    per_event: list[dict[str, Any]] = field(default_factory=list)
    loans_by_day: list[tuple[dt.date, int, int]] = field(default_factory=list)

    @property
    def loan_change(self) -> float | None:
        if not self.loans_last_year:
            return None
        return (self.loans - self.loans_last_year) / self.loans_last_year

    @property
    def attendance_rate(self) -> float | None:
        expected = self.attended + self.no_shows
        return self.attended / expected if expected else None


def dashboard(session: Session, campaign: Campaign) -> Dashboard:
    """Registrations, attendance, no-shows, points earned and loans during the campaign against
    the same dates a year earlier (at the campaign's branches)."""
    from reading_points.campaigns.models import ChallengeCompletion

    d = Dashboard(campaign=campaign)
    events = session.scalars(select(Event).where(Event.campaign_id == campaign.id)
                             .options(selectinload(Event.sessions), selectinload(Event.branch))
                             .order_by(Event.first_starts_at)).all()
    prefixes: list[str] = []
    for ev in events:
        row: dict[str, Any] = {"event": ev, "sessions": len(ev.sessions), "registered": 0, "waitlisted": 0, "attended": 0,
               "no_shows": 0, "capacity": ev.capacity * len(ev.sessions)}
        ids = [s.id for s in ev.sessions]
        prefixes += [f"event-session:{sid}:attended:" for sid in ids]
        if ids:
            for status, attended, no_show, n in session.execute(
                    select(Registration.status, Registration.attended_at.is_not(None), Registration.no_show, func.count())
                    .where(Registration.session_id.in_(ids))
                    .group_by(Registration.status, Registration.attended_at.is_not(None), Registration.no_show)):
                if status == "registered":
                    row["registered"] += n
                    if attended:
                        row["attended"] += n
                    if no_show:
                        row["no_shows"] += n
                elif status == "waitlisted":
                    row["waitlisted"] += n
                else:
                    d.cancelled += n
        d.sessions += row["sessions"]
        d.registrations += row["registered"]
        d.waitlisted += row["waitlisted"]
        d.attended += row["attended"]
        d.no_shows += row["no_shows"]
        d.per_event.append(row)
    start, end = campaign_bounds(campaign)
    prefixes.append(f"campaign:{campaign.id}:challenge:")
    d.event_points = integration.points_earned(session, start=start - dt.timedelta(days=1),
                                               end=end + dt.timedelta(days=2), key_prefixes=tuple(prefixes))
    d.points_during = integration.points_earned(session, start=start, end=end)
    d.challenge_completions = session.scalar(select(func.count()).select_from(ChallengeCompletion).where(
        ChallengeCompletion.campaign_id == campaign.id)) or 0
    branch_ids = [b.id for b in campaign.branches] or None
    last_start = local_midnight(same_dates_last_year(campaign.start_date))
    last_end = local_midnight(same_dates_last_year(campaign.end_date) + dt.timedelta(days=1))
    d.loans = integration.count_loans(session, start=start, end=end, branch_ids=branch_ids)
    d.loans_last_year = integration.count_loans(session, start=last_start, end=last_end, branch_ids=branch_ids)
    this_year = Counter(clock.to_local(t).date() for t in
                        integration.loans_per_day(session, start=start, end=end, branch_ids=branch_ids))
    last_year = Counter(clock.to_local(t).date() for t in
                        integration.loans_per_day(session, start=last_start, end=last_end, branch_ids=branch_ids))
    day = campaign.start_date
    while day <= campaign.end_date:
        d.loans_by_day.append((day, this_year.get(day, 0), last_year.get(same_dates_last_year(day), 0)))
        day += dt.timedelta(days=1)
    return d


def dashboard_csv(d: Dashboard) -> str:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["campaign", d.campaign.name, d.campaign.start_date.isoformat(), d.campaign.end_date.isoformat()])
    w.writerow(["sessions", "registrations", "waitlisted", "cancelled", "attended", "no_shows", "event_points",
                "points_during_campaign", "loans", "loans_same_dates_last_year", "challenge_completions"])
    w.writerow([d.sessions, d.registrations, d.waitlisted, d.cancelled, d.attended, d.no_shows, d.event_points,
                d.points_during, d.loans, d.loans_last_year, d.challenge_completions])
    w.writerow([])
    w.writerow(["event_id", "title", "branch", "sessions", "capacity", "registered", "waitlisted", "attended",
                "no_shows"])
    for row in d.per_event:
        ev = row["event"]
        w.writerow([ev.id, ev.title, ev.branch.code, row["sessions"], row["capacity"], row["registered"],
                    row["waitlisted"], row["attended"], row["no_shows"]])
    w.writerow([])
    w.writerow(["date", "loans", "loans_same_date_last_year"])
    for day, now_n, last_n in d.loans_by_day:
        w.writerow([day.isoformat(), now_n, last_n])
    return out.getvalue()


# -- district statistics -----------------------------------------------------------------------


def held_sessions_by_branch(session: Session, year: int) -> Counter[int]:
    """Sessions held (scheduled, not cancelled, started) in local calendar ``year`` per branch."""
    start = local_midnight(dt.date(year, 1, 1))
    end = local_midnight(dt.date(year + 1, 1, 1))
    rows = session.execute(select(Event.branch_id, func.count()).select_from(EventSession).join(Event).where(
        and_(EventSession.starts_at >= start, EventSession.starts_at < end,
             EventSession.status == "scheduled", Event.status != "cancelled"))
        .group_by(Event.branch_id)).all()
    return Counter({branch_id: n for branch_id, n in rows})


def _rate(n: int, population: int) -> float | None:
    return n * 10000 / population if population else None


def _growth(now_n: int, last_n: int) -> float | None:
    return (now_n - last_n) / last_n if last_n else None


def district_stats(session: Session, year: int) -> dict[str, Any]:
    """Events held per 10,000 residents in ``year`` and the year before, by branch (its
    township's population) and by township, with the growth against the 5% target."""
    this_year = held_sessions_by_branch(session, year)
    last_year = held_sessions_by_branch(session, year - 1)
    townships = session.scalars(select(Township).order_by(Township.code)).all()
    branches = session.scalars(select(Branch).where(Branch.active.is_(True)).order_by(Branch.code)).all()
    branch_rows = []
    for b in branches:
        pop = b.township.population if b.township is not None else 0
        n, m = this_year.get(b.id, 0), last_year.get(b.id, 0)
        if not n and not m and b.kind in ("service_point", "mobile"):
            continue
        branch_rows.append({"branch": b, "population": pop, "events": n, "events_last": m,
                            "rate": _rate(n, pop), "rate_last": _rate(m, pop), "growth": _growth(n, m)})
    township_rows = []
    for t in townships:
        ids = [b.id for b in branches if b.township_id == t.id]
        n = sum(this_year.get(i, 0) for i in ids)
        m = sum(last_year.get(i, 0) for i in ids)
        township_rows.append({"township": t, "population": t.population, "events": n, "events_last": m,
                              "rate": _rate(n, t.population), "rate_last": _rate(m, t.population),
                              "growth": _growth(n, m)})
    population = sum(t.population for t in townships)
    n_total, m_total = sum(this_year.values()), sum(last_year.values())
    return {
        "year": year, "branches": branch_rows, "townships": township_rows,
        "total": {"population": population, "events": n_total, "events_last": m_total,
                  "rate": _rate(n_total, population), "rate_last": _rate(m_total, population),
                  "growth": _growth(n_total, m_total)},
        "target": GROWTH_TARGET,
    }


def stats_csv(stats: dict[str, Any]) -> str:
    out = io.StringIO()
    w = csv.writer(out)
    year = stats["year"]
    w.writerow(["level", "code", "name", "population", f"events_{year - 1}", f"events_{year}",
                f"per_10000_{year - 1}", f"per_10000_{year}", "growth", "target_met"])

    def fmt(v: float | None) -> str:
        return "" if v is None else f"{v:.3f}"

    for row in stats["townships"]:
        t = row["township"]
        w.writerow(["township", t.code, t.name, row["population"], row["events_last"], row["events"],
                    fmt(row["rate_last"]), fmt(row["rate"]), fmt(row["growth"]),
                    "" if row["growth"] is None else int(row["growth"] >= GROWTH_TARGET)])
    for row in stats["branches"]:
        b = row["branch"]
        w.writerow(["branch", b.code, b.name, row["population"], row["events_last"], row["events"],
                    fmt(row["rate_last"]), fmt(row["rate"]), fmt(row["growth"]),
                    "" if row["growth"] is None else int(row["growth"] >= GROWTH_TARGET)])
    return out.getvalue()
