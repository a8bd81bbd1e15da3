"""Campaigns: drafting the year, opening and closing on their dates (time travel), the points
multiplier only inside the campaign, and the reading challenge."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from library import clock
from library.db import get_database
from reading_points.campaigns import jobs, services
from reading_points.campaigns.errors import CampaignNotRunning, InvalidCampaign
from reading_points.campaigns.models import Campaign, ChallengeCompletion
from tests.campaigns.factories import ledger, local, make_campaign
from tests.factories import make_branch, make_reader


def test_service_week_is_last_full_week_of_may() -> None:
    assert services.service_week(2026) == (dt.date(2026, 5, 25), dt.date(2026, 5, 31))
    assert services.service_week(2027) == (dt.date(2027, 5, 24), dt.date(2027, 5, 30))
    start, end = services.service_week(2028)  # 31 May 2028 is a Wednesday
    assert (start.weekday(), end.weekday(), end) == (0, 6, dt.date(2028, 5, 28))


def test_plan_year_drafts_defaults_once(db_session: Session) -> None:
    make_branch(db_session)
    settings = services.get_settings(db_session)
    settings.reading_month = 9
    now = local(2026, 12, 1)
    created = services.plan_year(db_session, 2027, now=now)
    by_kind = {c.kind: c for c in created}
    assert set(by_kind) == {"world_book_day", "service_week", "reading_month", "summer_reading"}
    assert all(c.status == "draft" for c in created)
    wbd = by_kind["world_book_day"]
    assert wbd.start_date <= dt.date(2027, 4, 23) <= wbd.end_date
    assert (wbd.start_date, wbd.end_date) == (dt.date(2027, 4, 20), dt.date(2027, 4, 26))
    assert (by_kind["service_week"].start_date, by_kind["service_week"].end_date) == services.service_week(2027)
    assert (by_kind["reading_month"].start_date, by_kind["reading_month"].end_date) == (
        dt.date(2027, 9, 1), dt.date(2027, 9, 30))
    summer = by_kind["summer_reading"]
    assert (summer.start_date, summer.end_date) == (dt.date(2027, 7, 1), dt.date(2027, 8, 31))
    assert summer.challenge_books == settings.summer_challenge_books
    assert wbd.multiplier == Decimal("2.00") and len(wbd.branches) == 1
    assert services.plan_year(db_session, 2027, now=now) == []


def test_plan_command(app: Flask) -> None:
    with get_database(app).transaction() as session:
        make_branch(session)
    result = app.test_cli_runner().invoke(args=["campaigns", "plan", "2027"])
    assert result.exit_code == 0, result.output
    assert "drafted 4 campaigns" in result.output
    again = app.test_cli_runner().invoke(args=["campaigns", "plan", "2027"])
    assert "nothing drafted" in again.output
    with get_database(app).transaction() as session:
        assert len(session.scalars(select(Campaign)).all()) == 4


def test_invalid_campaign_refused(db_session: Session) -> None:
    with pytest.raises(InvalidCampaign):
        make_campaign(db_session, start=dt.date(2026, 5, 2), end=dt.date(2026, 5, 1))
    with pytest.raises(InvalidCampaign):
        make_campaign(db_session, start=dt.date(2026, 5, 1), end=dt.date(2026, 5, 2), multiplier="0.5")


def test_campaign_opens_and_closes_on_its_dates(app: Flask) -> None:
    """Time travel: the state job opens the campaign at local midnight of its first day and
    closes it after its last day; running the job again changes nothing."""
    db = get_database(app)
    with db.transaction() as session:
        cid = make_campaign(session, start=dt.date(2026, 4, 20), end=dt.date(2026, 4, 26),
                            now=local(2026, 4, 1)).id

    def status_at(when: dt.datetime) -> str:
        with clock.frozen(when):
            jobs.campaign_states(app)
        with db.transaction() as session:
            return session.get(Campaign, cid).status  # type: ignore[union-attr]

    assert status_at(local(2026, 4, 19, 23, 59)) == "published"
    assert status_at(local(2026, 4, 20, 0, 0)) == "active"
    assert status_at(local(2026, 4, 20, 0, 10)) == "active"
    assert status_at(local(2026, 4, 26, 23, 59)) == "active"
    assert status_at(local(2026, 4, 27, 0, 0)) == "ended"
    assert status_at(local(2026, 4, 28, 0, 0)) == "ended"
    with db.transaction() as session:
        c = session.get(Campaign, cid)
        assert c is not None and c.opened_at == local(2026, 4, 20) and c.closed_at == local(2026, 4, 27)
        from library.models import AuditEntry

        actions = session.scalars(select(AuditEntry.action).where(AuditEntry.target_id == str(cid))).all()
        assert actions.count("campaign.open") == 1 and actions.count("campaign.close") == 1


def test_draft_campaign_never_opens(app: Flask) -> None:
    with get_database(app).transaction() as session:
        cid = make_campaign(session, start=dt.date(2026, 4, 20), end=dt.date(2026, 4, 26), publish=False).id
    with clock.frozen(local(2026, 4, 21, 9)):
        jobs.campaign_states(app)
    with get_database(app).transaction() as session:
        assert session.get(Campaign, cid).status == "draft"  # type: ignore[union-attr]


def test_multiplier_only_inside_campaign_dates_and_branches(db_session: Session) -> None:
    inside = make_branch(db_session)
    outside = make_branch(db_session)
    reader = make_reader(db_session, home_branch=inside)
    stranger = make_reader(db_session, home_branch=outside)
    make_campaign(db_session, start=dt.date(2026, 4, 20), end=dt.date(2026, 4, 26), branches=[inside], multiplier="2")
    m = services.campaign_multiplier
    assert m(db_session, reader.id, "checkout", local(2026, 4, 19, 23, 59)) == 1
    assert m(db_session, reader.id, "checkout", local(2026, 4, 20, 0, 0)) == 2
    assert m(db_session, reader.id, "checkout", local(2026, 4, 26, 23, 59)) == 2
    assert m(db_session, reader.id, "checkout", local(2026, 4, 27, 0, 0)) == 1
    assert m(db_session, stranger.id, "checkout", local(2026, 4, 22, 12)) == 1
    assert m(db_session, reader.id, "challenge_bonus", local(2026, 4, 22, 12)) == 1
    # The branch where the points are earned decides, not the reader's home branch: a reader of
    # another branch borrowing at a participating branch gets the multiplier, and back.
    assert m(db_session, stranger.id, "checkout", local(2026, 4, 22, 12), inside.id) == 2
    assert m(db_session, reader.id, "checkout", local(2026, 4, 22, 12), outside.id) == 1


def test_multiplier_applies_through_the_points_ledger(db_session: Session) -> None:
    """Earning through the points service: doubled inside the campaign, plain outside."""
    from reading_points.points.services import earn

    branch = make_branch(db_session)
    reader = make_reader(db_session, home_branch=branch)
    make_campaign(db_session, start=dt.date(2026, 4, 20), end=dt.date(2026, 4, 26), branches=[branch], multiplier="2")
    before = earn(db_session, reader_id=reader.id, kind="volunteer_hour", idempotency_key="t:before", reason="t",
                  now=local(2026, 4, 19, 10), points=5)
    during = earn(db_session, reader_id=reader.id, kind="volunteer_hour", idempotency_key="t:during", reason="t",
                  now=local(2026, 4, 22, 10), points=5)
    after = earn(db_session, reader_id=reader.id, kind="volunteer_hour", idempotency_key="t:after", reason="t",
                 now=local(2026, 4, 27, 10), points=5)
    assert (before.amount, during.amount, after.amount) == (5, 10, 5)


def test_reading_challenge_awards_badge_and_bonus_once(db_session: Session) -> None:
    branch = make_branch(db_session)
    reader = make_reader(db_session, home_branch=branch)
    campaign = make_campaign(db_session, start=dt.date(2026, 7, 1), end=dt.date(2026, 8, 31), multiplier="1",
                             challenge_books=3, challenge_mode="log", challenge_badge="暑期阅读之星",
                             challenge_bonus=30)
    now = local(2026, 7, 10, 10)
    for title in ("西游记", "水浒传"):
        services.log_book(db_session, campaign, reader, title=title, author="", now=now)
    assert db_session.scalar(select(ChallengeCompletion)) is None
    services.log_book(db_session, campaign, reader, title="三国演义", author="罗贯中", now=now)
    services.log_book(db_session, campaign, reader, title="红楼梦", author="曹雪芹", now=now)
    done = db_session.scalars(select(ChallengeCompletion)).all()
    assert len(done) == 1 and done[0].badge == "暑期阅读之星" and done[0].books == 3
    entries = ledger(db_session, f"campaign:{campaign.id}:challenge:")
    assert [e.amount for e in entries] == [30]
    with pytest.raises(CampaignNotRunning):
        services.log_book(db_session, campaign, reader, title="围城", author="", now=local(2026, 9, 1, 10))


def test_loans_count_towards_borrow_challenge(db_session: Session) -> None:
    """A checkout during the campaign (circulation's signal) completes a borrow challenge."""
    from circulation import signals

    branch = make_branch(db_session)
    reader = make_reader(db_session, home_branch=branch)
    campaign = make_campaign(db_session, start=dt.date(2026, 7, 1), end=dt.date(2026, 8, 31), multiplier="1",
                             challenge_books=1, challenge_mode="borrow", challenge_bonus=10)
    loan = _make_loan(db_session, reader_id=reader.id, branch_id=branch.id, at=local(2026, 7, 3, 10))
    signals.checked_out.send(db_session, loan=loan, now=local(2026, 7, 3, 10))
    assert services.challenge_progress(db_session, campaign, reader.id) == 1
    assert db_session.scalar(select(ChallengeCompletion.reader_id)) == reader.id


def _make_loan(session: Session, *, reader_id: int, branch_id: int, at: dt.datetime) -> object:
    from circulation.models import Loan
    from library.models import Branch
    from tests.circulation.factories import make_item

    item = make_item(session, branch=session.get(Branch, branch_id))
    loan = Loan(item_id=item.id, reader_id=reader_id, branch_id=branch_id, state="on_loan", checked_out_at=at,
                due_on=at.date() + dt.timedelta(days=30))
    session.add(loan)
    session.flush()
    return loan


def test_a_running_borrowing_challenge_keeps_its_loans_from_anonymisation(app: Flask) -> None:
    """A reader who keeps no history still sees their challenge progress: the privacy job leaves
    the loans a running borrowing challenge counts, and anonymises them once it has ended."""
    from circulation import jobs as circulation_jobs
    from circulation.models import Loan
    from circulation.services import checkin, checkout
    from tests.circulation.factories import make_item

    start, end = dt.date(2026, 7, 1), dt.date(2026, 7, 31)
    with get_database(app).transaction() as s:
        branch = make_branch(s)
        other = make_branch(s)
        campaign = make_campaign(s, start=start, end=end, branches=[branch], challenge_books=2,
                                 challenge_mode="borrow")
        reader = make_reader(s, home_branch=branch)
        assert not reader.keep_history
        ids = {}
        for where, n in ((branch, 1), (other, 2)):
            item = make_item(s, branch=where)
            lent = checkout(s, item_barcode=item.barcode, card_number=reader.card_number, branch=where,
                            now=local(2026, 7, n + 1, 10))
            checkin(s, item_barcode=item.barcode, branch=where, now=local(2026, 7, n + 3, 10))
            ids[where.code] = lent.id
        campaign_id, reader_id = campaign.id, reader.id
    clock.set_now(local(2026, 7, 10, 3))
    assert circulation_jobs.anonymise_history(app) == 1  # the loan at a branch outside the campaign
    with get_database(app).transaction() as s:
        assert s.get_one(Loan, ids[branch.code]).reader_id == reader_id
        assert s.get_one(Loan, ids[other.code]).reader_id is None
        assert services.challenge_progress(s, s.get_one(Campaign, campaign_id), reader_id) == 1
    clock.set_now(local(2026, 8, 1, 3))  # the campaign is over: nothing counts the loan any more
    assert circulation_jobs.anonymise_history(app) == 1
    with get_database(app).transaction() as s:
        assert s.get_one(Loan, ids[branch.code]).reader_id is None
