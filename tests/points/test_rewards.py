"""Rewards and redemptions: hold, settle, release, stock, limits, benefits, stale release job."""

from __future__ import annotations

import datetime as dt

import pytest
from flask import Flask
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from library import clock
from library.db import get_database
from reading_points.points import jobs, ledger, services
from reading_points.points.errors import (
    InsufficientPoints,
    OutOfStock,
    RedemptionLimitReached,
    RedemptionNotOpen,
    RewardNotAvailable,
)
from reading_points.points.models import RewardBenefit, RewardStock
from reading_points.points.verify import verify_ledger
from tests import factories
from tests.points.factories import NOW, make_reward


def _funded_reader(session: Session, points: int) -> tuple[int, int]:
    reader = factories.make_reader(session)
    services.adjust(session, reader_id=reader.id, points=points, reason="初始积分", now=NOW,
                    idempotency_key=f"fund:{reader.id}")
    return reader.id, reader.home_branch_id


def _stock(session: Session, reward_id: int, branch_id: int) -> int:
    return session.scalar(select(RewardStock.quantity).where(RewardStock.reward_id == reward_id,
                                                             RewardStock.branch_id == branch_id)) or 0


def test_redeem_holds_points_and_stock_then_settle(db_session: Session) -> None:
    rid, bid = _funded_reader(db_session, 100)
    reward = make_reward(db_session, cost=60, stock={bid: 2})
    r = services.redeem(db_session, reader_id=rid, reward_id=reward.id, branch_id=bid, now=NOW)
    account = ledger.account_for(db_session, rid)
    assert account is not None and (account.balance, account.held) == (40, 60)
    assert _stock(db_session, reward.id, bid) == 1
    with pytest.raises(InsufficientPoints):
        services.redeem(db_session, reader_id=rid, reward_id=reward.id, branch_id=bid, now=NOW)
    services.settle_redemption(db_session, redemption_id=r.id, now=NOW)
    assert (account.balance, account.held) == (40, 0) and r.status == "settled"
    with pytest.raises(RedemptionNotOpen):
        services.settle_redemption(db_session, redemption_id=r.id, now=NOW)
    with pytest.raises(RedemptionNotOpen):
        services.release_redemption(db_session, redemption_id=r.id, now=NOW, reason="x")
    assert verify_ledger(db_session) == []


def test_release_gives_points_back_to_their_lots_and_stock(db_session: Session) -> None:
    rid, bid = _funded_reader(db_session, 100)
    reward = make_reward(db_session, cost=30, stock={bid: 1})
    r = services.redeem(db_session, reader_id=rid, reward_id=reward.id, branch_id=bid, now=NOW)
    assert _stock(db_session, reward.id, bid) == 0
    other = factories.make_reader(db_session)
    services.adjust(db_session, reader_id=other.id, points=50, reason="x", now=NOW, idempotency_key="o")
    with pytest.raises(OutOfStock):
        services.redeem(db_session, reader_id=other.id, reward_id=reward.id, branch_id=bid, now=NOW)
    services.cancel_redemption(db_session, redemption_id=r.id, reader_id=rid, now=NOW)
    account = ledger.account_for(db_session, rid)
    assert account is not None and (account.balance, account.held) == (100, 0)
    assert _stock(db_session, reward.id, bid) == 1
    assert verify_ledger(db_session) == []


def test_limit_per_reader_and_active_dates(db_session: Session) -> None:
    rid, bid = _funded_reader(db_session, 500)
    reward = make_reward(db_session, cost=10, stock={bid: 10}, limit_per_reader=1)
    services.redeem(db_session, reader_id=rid, reward_id=reward.id, branch_id=bid, now=NOW)
    with pytest.raises(RedemptionLimitReached):
        services.redeem(db_session, reader_id=rid, reward_id=reward.id, branch_id=bid, now=NOW)
    later = make_reward(db_session, cost=10, stock={bid: 10}, active_from=dt.date(2026, 7, 1))
    with pytest.raises(RewardNotAvailable):
        services.redeem(db_session, reader_id=rid, reward_id=later.id, branch_id=bid, now=NOW)


def test_same_idempotency_key_returns_the_first_redemption(db_session: Session) -> None:
    rid, bid = _funded_reader(db_session, 100)
    reward = make_reward(db_session, cost=10, stock={bid: 10})
    a = services.redeem(db_session, reader_id=rid, reward_id=reward.id, branch_id=bid, now=NOW, idempotency_key="k")
    b = services.redeem(db_session, reader_id=rid, reward_id=reward.id, branch_id=bid, now=NOW, idempotency_key="k")
    assert a.id == b.id
    account = ledger.account_for(db_session, rid)
    assert account is not None and account.balance == 90


def test_penalty_waiver_reward_absorbs_the_next_overdue_penalty(db_session: Session) -> None:
    rid, bid = _funded_reader(db_session, 100)
    waiver = make_reward(db_session, cost=20, kind="penalty_waiver", benefit_days=180)
    r = services.redeem(db_session, reader_id=rid, reward_id=waiver.id, branch_id=bid, now=NOW)
    assert r.status == "settled"  # benefits take effect at once
    assert services.penalise(db_session, reader_id=rid, kind="overdue", idempotency_key="loan:1:overdue",
                             reason="逾期", now=NOW, points=3, source="loan:1") is None
    second = services.penalise(db_session, reader_id=rid, kind="overdue", idempotency_key="loan:2:overdue",
                               reason="逾期", now=NOW, points=3, source="loan:2")
    assert second is not None and second.amount == -3
    benefit = db_session.scalar(select(RewardBenefit).where(RewardBenefit.reader_id == rid))
    assert benefit is not None and benefit.used_by_entry == "loan:1:overdue"


def test_extra_loans_reward_grants_quota_for_its_days(db_session: Session) -> None:
    rid, bid = _funded_reader(db_session, 100)
    extra = make_reward(db_session, cost=80, kind="extra_loans", extra_loans=5, benefit_days=30)
    services.redeem(db_session, reader_id=rid, reward_id=extra.id, branch_id=bid, now=NOW)
    today = ledger.local_date(NOW)
    assert services.extra_loan_quota(db_session, rid, today) == 5
    assert services.extra_loan_quota(db_session, rid, today + dt.timedelta(days=30)) == 0


def test_release_stale_job_is_idempotent(app: Flask) -> None:
    db = get_database(app)
    with db.transaction() as s:
        rid, bid = _funded_reader(s, 100)
        reward = make_reward(s, cost=30, stock={bid: 3})
        rr = services.redeem(s, reader_id=rid, reward_id=reward.id, branch_id=bid, now=NOW)
        reward_id, redemption_id = reward.id, rr.id
    clock.set_now(NOW + dt.timedelta(days=13))
    assert jobs.release_stale_redemptions(app) == 0
    clock.set_now(NOW + dt.timedelta(days=15))
    assert jobs.release_stale_redemptions(app) == 1
    assert jobs.release_stale_redemptions(app) == 0
    with db.transaction() as s:
        account = ledger.account_for(s, rid)
        assert account is not None and (account.balance, account.held) == (100, 0)
        assert _stock(s, reward_id, bid) == 3
        assert verify_ledger(s) == []
        assert s.execute(text("SELECT status FROM redemptions WHERE id = :i"), {"i": redemption_id}).scalar() == "released"


def test_stock_check_constraint_in_database(app: Flask) -> None:
    db = get_database(app)
    with db.transaction() as s:
        branch = factories.make_branch(s)
        reward = make_reward(s, cost=5, stock={branch.id: 0})
        rid = reward.id
    with pytest.raises(Exception, match="(?i)check|constraint"), db.engine.begin() as conn:
        conn.execute(text("UPDATE reward_stock SET quantity = -1 WHERE reward_id = :r"), {"r": rid})


def test_extra_loans_reward_raises_the_limit_at_the_counter(db_session: Session) -> None:
    """The reward is real at the counter: a child reader at the rule's limit (5) is refused a
    sixth loan, and after redeeming "+5 loans" the same checkout goes through."""
    from circulation import services as circulation
    from circulation.errors import ReaderBlocked
    from tests.circulation.factories import make_item

    reader = factories.make_reader(db_session, category_code="child")
    branch = reader.home_branch
    services.adjust(db_session, reader_id=reader.id, points=100, reason="初始积分", now=NOW,
                    idempotency_key=f"fund:{reader.id}")
    barcodes = [make_item(db_session, branch=branch).barcode for _ in range(6)]
    for barcode in barcodes[:5]:
        circulation.checkout(db_session, item_barcode=barcode, card_number=reader.card_number, branch=branch, now=NOW)
    with pytest.raises(ReaderBlocked) as refused:
        circulation.checkout(db_session, item_barcode=barcodes[5], card_number=reader.card_number, branch=branch,
                             now=NOW)
    assert [b.code for b in refused.value.blocks] == ["too_many_items"]
    extra = make_reward(db_session, cost=80, kind="extra_loans", extra_loans=5, benefit_days=30)
    services.redeem(db_session, reader_id=reader.id, reward_id=extra.id, branch_id=branch.id, now=NOW)
    loan = circulation.checkout(db_session, item_barcode=barcodes[5], card_number=reader.card_number, branch=branch,
                                now=NOW)
    assert loan.reader_id == reader.id
