"""The ledger: earning by rule with caps and multipliers, penalties, FIFO lots, expiry,
reversals, append-only entries, idempotency, verify."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from flask import Flask
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from library.db import get_database
from reading_points.points import hooks, ledger, services
from reading_points.points.errors import AlreadyReversed, InsufficientPoints, NotReversible, UnknownPointsKind
from reading_points.points.models import LedgerIsAppendOnly, PointsEntry, PointsLot, PointsLotUse, PointsRule
from reading_points.points.verify import verify_ledger
from tests import factories
from tests.points.factories import NOW


def _reader(session: Session) -> int:
    return factories.make_reader(session).id


def test_earn_by_rule_and_idempotency_key(db_session: Session) -> None:
    rid = _reader(db_session)
    e = services.earn(db_session, reader_id=rid, kind="checkout", idempotency_key="loan:1:checkout",
                      reason="借阅", now=NOW)
    assert e is not None and e.amount == 2 and e.rule == "checkout" and e.kind == "earn"
    assert services.earn(db_session, reader_id=rid, kind="checkout", idempotency_key="loan:1:checkout",
                         reason="借阅", now=NOW) is None
    account = ledger.account_for(db_session, rid)
    assert account is not None and account.balance == 2 and account.lifetime_earned == 2
    lot = db_session.scalar(select(PointsLot).where(PointsLot.entry_id == e.id))
    assert lot is not None and lot.remaining == 2
    assert lot.expires_on == dt.date(2027, 12, 31)  # end of the second calendar year
    with pytest.raises(UnknownPointsKind):
        services.earn(db_session, reader_id=rid, kind="nonsense", idempotency_key="x", reason="", now=NOW)


def test_daily_and_monthly_caps(db_session: Session) -> None:
    rid = _reader(db_session)
    # checkout: 2 points, 20 a day, 100 a month
    got = [services.earn(db_session, reader_id=rid, kind="checkout", idempotency_key=f"c{i}", reason="借阅", now=NOW)
           for i in range(12)]
    assert sum(e.amount for e in got if e) == 20
    assert got[10] is None and got[11] is None
    for day in range(1, 10):
        at = NOW + dt.timedelta(days=day)
        for i in range(10):
            services.earn(db_session, reader_id=rid, kind="checkout", idempotency_key=f"d{day}:{i}", reason="借阅", now=at)
    account = ledger.account_for(db_session, rid)
    assert account is not None and account.balance == 100  # monthly cap
    nxt = services.earn(db_session, reader_id=rid, kind="checkout", idempotency_key="july", reason="借阅",
                        now=dt.datetime(2026, 7, 1, 2, tzinfo=dt.UTC))
    assert nxt is not None and nxt.amount == 2


def test_inactive_rule_earns_nothing(db_session: Session) -> None:
    rid = _reader(db_session)
    rule = db_session.get(PointsRule, "review")
    assert rule is not None
    rule.active = False
    db_session.flush()
    assert services.earn(db_session, reader_id=rid, kind="review", idempotency_key="r1", reason="书评", now=NOW) is None


def test_largest_campaign_multiplier_applies(db_session: Session) -> None:
    rid = _reader(db_session)

    def double(session: Session, reader_id: int, kind: str, now: dt.datetime, branch_id: int | None) -> Decimal:
        return Decimal(2) if kind == "event_attended" else Decimal(1)

    def one_and_half(session: Session, reader_id: int, kind: str, now: dt.datetime,
                     branch_id: int | None) -> Decimal:
        return Decimal("1.5")

    hooks.register_multiplier_provider(double)
    hooks.register_multiplier_provider(one_and_half)
    try:
        e = services.earn(db_session, reader_id=rid, kind="event_attended", idempotency_key="ev1", reason="活动",
                          now=NOW)
        c = services.earn(db_session, reader_id=rid, kind="checkout", idempotency_key="c1", reason="借阅", now=NOW)
    finally:
        hooks.unregister_multiplier_provider(double)
        hooks.unregister_multiplier_provider(one_and_half)
    assert e is not None and e.amount == 20  # 10 x 2 (cap 20 a day)
    assert c is not None and c.amount == 3  # 2 x 1.5, rounded half up


def test_penalty_never_overdraws_and_caps_per_item(db_session: Session) -> None:
    rid = _reader(db_session)
    for key in ("ev1", "ev2"):
        services.earn(db_session, reader_id=rid, kind="event_attended", idempotency_key=key, reason="活动", now=NOW)
    p = services.penalise(db_session, reader_id=rid, kind="overdue", idempotency_key="o1", reason="逾期",
                          now=NOW, points=30, source="loan:9")
    assert p is not None and p.amount == -10  # per-item cap 10
    again = services.penalise(db_session, reader_id=rid, kind="overdue", idempotency_key="o2", reason="逾期",
                              now=NOW, points=5, source="loan:9")
    assert again is None  # this loan already cost its cap
    ns = services.penalise(db_session, reader_id=rid, kind="no_show", idempotency_key="ns", reason="未到场", now=NOW,
                           points=50)
    assert ns is not None and ns.amount == -10 and ns.balance_after == 0  # only what was left
    assert services.penalise(db_session, reader_id=rid, kind="no_show", idempotency_key="ns2", reason="x",
                             now=NOW) is None  # nothing left to take
    assert verify_ledger(db_session) == []


def test_fifo_lots_and_expiry(db_session: Session) -> None:
    rid = _reader(db_session)
    old = services.earn(db_session, reader_id=rid, kind="volunteer_hour", idempotency_key="v2025", reason="志愿",
                        now=dt.datetime(2025, 3, 1, tzinfo=dt.UTC))
    new = services.earn(db_session, reader_id=rid, kind="volunteer_hour", idempotency_key="v2026", reason="志愿",
                        now=NOW)
    assert old and new
    account = ledger.lock_account(db_session, rid, NOW)
    spend = ledger.post(db_session, account, ledger.Posting(kind="adjust", amount=-15, reason="测试",
                                                            idempotency_key="spend"), NOW)
    assert spend is not None
    uses = {u.lot.entry_id: u.amount for u in db_session.scalars(
        select(PointsLotUse).where(PointsLotUse.entry_id == spend.id))}
    assert uses == {old.id: 10, new.id: 5}  # the oldest lot first
    # 2025 points expire at the end of 2026: nothing left of them; 2026 points expire end of 2027
    services.earn(db_session, reader_id=rid, kind="volunteer_hour", idempotency_key="v2025b", reason="志愿",
                  now=dt.datetime(2025, 5, 1, tzinfo=dt.UTC))
    jan = dt.datetime(2027, 1, 1, 1, tzinfo=dt.UTC)
    assert ledger.expire_due_lots(db_session, now=jan) == 1
    assert ledger.expire_due_lots(db_session, now=jan) == 0  # idempotent
    after = ledger.account_for(db_session, rid)
    assert after is not None and after.balance == 5
    assert verify_ledger(db_session) == []


def test_reversal_points_back_once(db_session: Session) -> None:
    rid = _reader(db_session)
    e = services.earn(db_session, reader_id=rid, kind="donation", idempotency_key="d1", reason="捐书", now=NOW)
    assert e is not None
    r = ledger.reverse(db_session, entry_id=e.id, reason="误登记", now=NOW)
    assert r is not None and r.amount == -e.amount and r.reverses_id == e.id
    with pytest.raises(AlreadyReversed):
        ledger.reverse(db_session, entry_id=e.id, reason="again", now=NOW, idempotency_key="other")
    with pytest.raises(NotReversible):
        ledger.reverse(db_session, entry_id=r.id, reason="reverse the reversal", now=NOW)
    p = services.adjust(db_session, reader_id=rid, points=7, reason="补登", now=NOW)
    assert p is not None
    spend = services.adjust(db_session, reader_id=rid, points=-7, reason="兑换线下", now=NOW)
    assert spend is not None
    with pytest.raises(InsufficientPoints):
        ledger.reverse(db_session, entry_id=p.id, reason="spent already", now=NOW)
    assert verify_ledger(db_session) == []


def test_reversal_unique_in_database(app: Flask) -> None:
    db = get_database(app)
    with db.transaction() as s:
        rid = _reader(s)
        e = services.earn(s, reader_id=rid, kind="donation", idempotency_key="d1", reason="捐书", now=NOW)
        assert e is not None
        ledger.reverse(s, entry_id=e.id, reason="x", now=NOW)
        eid = e.id
    with pytest.raises(Exception, match="(?i)unique|duplicate"), db.transaction() as s:
        account = ledger.lock_account(s, rid, NOW)
        original = s.get(PointsEntry, eid)
        s.add(PointsEntry(account_id=account.id, kind="reverse", amount=-1, held_change=0, balance_after=0,
                          reason="twice", idempotency_key="twice", reverses_id=original.id if original else None,
                          created_at=NOW, day=NOW.date(), month="2026-06"))
        s.flush()


def test_entries_are_append_only(app: Flask) -> None:
    db = get_database(app)
    with db.transaction() as s:
        rid = _reader(s)
        e = services.earn(s, reader_id=rid, kind="donation", idempotency_key="d1", reason="捐书", now=NOW)
        assert e is not None
        eid = e.id
    with pytest.raises(LedgerIsAppendOnly), db.transaction() as s:
        entry = s.get(PointsEntry, eid)
        assert entry is not None
        entry.amount = 500
        s.flush()
    with pytest.raises(LedgerIsAppendOnly), db.transaction() as s:
        entry = s.get(PointsEntry, eid)
        s.delete(entry)
        s.flush()
    # The database refuses too (a trigger), whatever the client.
    with pytest.raises(Exception, match="append-only"), db.engine.begin() as conn:
        conn.execute(text("UPDATE points_entries SET amount = 500 WHERE id = :id"), {"id": eid})
    with pytest.raises(Exception, match="append-only"), db.engine.begin() as conn:
        conn.execute(text("DELETE FROM points_entries WHERE id = :id"), {"id": eid})


def test_balance_check_constraint_in_database(app: Flask) -> None:
    db = get_database(app)
    with db.transaction() as s:
        rid = _reader(s)
        services.earn(s, reader_id=rid, kind="donation", idempotency_key="d1", reason="捐书", now=NOW)
    with pytest.raises(Exception, match="(?i)check|constraint"), db.engine.begin() as conn:
        conn.execute(text("UPDATE points_accounts SET balance = -1 WHERE reader_id = :r"), {"r": rid})


def test_adjust_requires_reason_and_is_audited(db_session: Session) -> None:
    from library.models import AuditEntry
    from reading_points.points.errors import ReasonRequired

    rid = _reader(db_session)
    with pytest.raises(ReasonRequired):
        services.adjust(db_session, reader_id=rid, points=5, reason="  ", now=NOW)
    e = services.adjust(db_session, reader_id=rid, points=5, reason="活动补录", now=NOW, idempotency_key="a1")
    assert e is not None
    assert services.adjust(db_session, reader_id=rid, points=5, reason="活动补录", now=NOW,
                           idempotency_key="a1") is None
    audit = db_session.scalars(select(AuditEntry).where(AuditEntry.action == "points.adjust")).all()
    assert len(audit) == 1 and audit[0].details["reason"] == "活动补录"
