"""Real threads, separate sessions, the real database (SQLite or PostgreSQL)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from flask import Flask
from sqlalchemy import func, select

from library.db import get_database
from library.errors import LibraryError
from reading_points.points import ledger, services
from reading_points.points.models import PointsEntry, PointsRule, Redemption
from reading_points.points.verify import verify_ledger
from tests import factories
from tests.points.factories import NOW, make_reward

WORKERS = 8


def _race(app: Flask, work: Callable[[Any], Any]) -> list[Any]:
    db = get_database(app)
    barrier = threading.Barrier(WORKERS)
    results: list[Any] = [None] * WORKERS

    def run(i: int) -> None:
        barrier.wait()
        try:
            with db.transaction() as session:
                results[i] = work(session)
        except LibraryError as exc:
            results[i] = exc
        except Exception as exc:  # a database error must be visible in the assertion message
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(WORKERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_eight_workers_redeeming_for_a_reader_who_can_afford_one(app: Flask) -> None:
    db = get_database(app)
    with db.transaction() as s:
        reader = factories.make_reader(s)
        services.adjust(s, reader_id=reader.id, points=100, reason="初始积分", now=NOW, idempotency_key="fund")
        reward = make_reward(s, cost=60, stock={reader.home_branch_id: 50})
        rid, reward_id, bid = reader.id, reward.id, reader.home_branch_id

    def work(session: Any) -> Any:
        return services.redeem(session, reader_id=rid, reward_id=reward_id, branch_id=bid, now=NOW).id

    results = _race(app, work)
    wins = [r for r in results if isinstance(r, int)]
    refusals = [r for r in results if isinstance(r, LibraryError)]
    assert len(wins) == 1, results
    assert len(refusals) == WORKERS - 1 and {e.code for e in refusals} == {"insufficient_points"}, results
    with db.transaction() as s:
        account = ledger.account_for(s, rid)
        assert account is not None and (account.balance, account.held) == (40, 60)
        assert s.scalar(select(func.count()).select_from(Redemption)) == 1
        assert verify_ledger(s) == []


def test_eight_workers_posting_the_same_idempotency_key(app: Flask) -> None:
    db = get_database(app)
    with db.transaction() as s:
        rid = factories.make_reader(s).id

    def work(session: Any) -> Any:
        entry = services.earn(session, reader_id=rid, kind="donation", idempotency_key="donation:2026:7",
                              reason="捐书", now=NOW)
        return entry.id if entry is not None else None

    results = _race(app, work)
    assert len([r for r in results if isinstance(r, int)]) == 1, results
    assert results.count(None) == WORKERS - 1, results
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(PointsEntry)) == 1
        account = ledger.account_for(s, rid)
        assert account is not None and account.balance == 5
        assert verify_ledger(s) == []


def test_eight_workers_same_key_for_readers_without_accounts_yet(app: Flask) -> None:
    """Each worker first creates the account (insert ... on conflict do nothing) and then races
    on the key; still one entry and one account."""
    db = get_database(app)
    with db.transaction() as s:
        rid = factories.make_reader(s).id

    def work(session: Any) -> Any:
        entry = services.adjust(session, reader_id=rid, points=3, reason="补录", now=NOW, idempotency_key="same")
        return entry.id if entry is not None else None

    results = _race(app, work)
    assert len([r for r in results if isinstance(r, int)]) == 1, results
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(PointsEntry)) == 1
        assert verify_ledger(s) == []


def test_eight_workers_earning_against_the_daily_cap(app: Flask) -> None:
    """The caps are counted after the account lock is granted: a worker that waited for it must
    see what the others earned meanwhile (on PostgreSQL a statement that waits for a row lock
    still reads the other tables as they were when it started)."""
    db = get_database(app)
    with db.transaction() as s:
        rid = factories.make_reader(s).id
        rule = s.get(PointsRule, "event_attended")
        assert rule is not None and (rule.points, rule.daily_cap) == (10, 20)

    def work(session: Any) -> Any:
        n = threading.get_ident()
        entry = services.earn(session, reader_id=rid, kind="event_attended", idempotency_key=f"event:{n}",
                              reason="参加活动", now=NOW)
        return entry.amount if entry is not None else None

    results = _race(app, work)
    assert sorted(r for r in results if r is not None) == [10, 10], results
    with db.transaction() as s:
        assert s.scalar(select(func.sum(PointsEntry.amount)).where(PointsEntry.rule == "event_attended")) == 20
        account = ledger.account_for(s, rid)
        assert account is not None and account.balance == 20
        assert verify_ledger(s) == []
