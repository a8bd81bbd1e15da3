"""Property-based: random sequences of earn, redeem (hold), settle, release, expire, reverse,
adjust and penalise against the real database; afterwards ``library points verify`` passes and
no balance is negative. A fresh reader per example, one database per test."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Flask
from flask.testing import FlaskCliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from library.db import get_database
from library.errors import LibraryError
from reading_points.points import ledger, services
from reading_points.points.models import EARN_KINDS, PointsAccount, PointsEntry, Redemption
from reading_points.points.verify import verify_ledger
from tests import factories
from tests.points.factories import make_reward

START = dt.datetime(2025, 1, 10, 3, 0, tzinfo=dt.UTC)

ops = st.one_of(
    st.tuples(st.just("earn"), st.sampled_from(EARN_KINDS), st.one_of(st.none(), st.integers(1, 40))),
    st.tuples(st.just("adjust"), st.integers(-60, 80).filter(lambda n: n != 0)),
    st.tuples(st.just("penalise"), st.sampled_from(("overdue", "no_show", "uncollected_hold")), st.integers(1, 15)),
    st.tuples(st.just("redeem"), st.integers(0, 2)),
    st.tuples(st.just("settle"), st.integers(0, 5)),
    st.tuples(st.just("release"), st.integers(0, 5)),
    st.tuples(st.just("reverse"), st.integers(0, 30)),
    st.tuples(st.just("wait"), st.integers(1, 400)),
    st.tuples(st.just("expire")),
)


def _apply(session: Any, op: tuple[Any, ...], state: dict[str, Any]) -> None:
    now: dt.datetime = state["now"]
    rid, bid = state["reader_id"], state["branch_id"]
    state["n"] += 1
    key = f"prop:{rid}:{state['n']}"
    name = op[0]
    if name == "earn":
        services.earn(session, reader_id=rid, kind=op[1], idempotency_key=key, reason="随机", now=now, points=op[2])
    elif name == "adjust":
        services.adjust(session, reader_id=rid, points=op[1], reason="随机调整", now=now, idempotency_key=key)
    elif name == "penalise":
        services.penalise(session, reader_id=rid, kind=op[1], idempotency_key=key, reason="随机扣分", now=now,
                          points=op[2], source=f"loan:{state['n'] % 3}")
    elif name == "redeem":
        r = services.redeem(session, reader_id=rid, reward_id=state["rewards"][op[1]], branch_id=bid, now=now,
                            idempotency_key=key)
        state["redemptions"].append(r.id)
    elif name in ("settle", "release") and state["redemptions"]:
        target = state["redemptions"][op[1] % len(state["redemptions"])]
        if name == "settle":
            services.settle_redemption(session, redemption_id=target, now=now)
        else:
            services.release_redemption(session, redemption_id=target, now=now, reason="随机取消")
    elif name == "reverse":
        account = ledger.account_for(session, rid)
        if account is not None:
            ids = list(session.scalars(select(PointsEntry.id).where(PointsEntry.account_id == account.id)
                                       .order_by(PointsEntry.id)))
            if ids:
                ledger.reverse(session, entry_id=ids[op[1] % len(ids)], reason="随机冲正", now=now)
    elif name == "wait":
        state["now"] = now + dt.timedelta(days=op[1])
    elif name == "expire":
        ledger.expire_due_lots(session, now=now)
        services.release_stale_redemptions(session, now=now)


def test_random_sequences_keep_the_ledger_sound(app: Flask, runner: FlaskCliRunner) -> None:
    db = get_database(app)
    with db.transaction() as s:
        branch = factories.make_branch(s)
        rewards = [make_reward(s, cost=c, stock={branch.id: 3}, limit_per_reader=limit).id
                   for c, limit in ((15, None), (40, 2), (90, None))]
        branch_id = branch.id

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                      HealthCheck.too_slow])
    @given(st.lists(ops, min_size=1, max_size=25))
    def run(sequence: list[tuple[Any, ...]]) -> None:
        with db.transaction() as s:
            reader = factories.make_reader(s, home_branch=s.get(type(branch), branch_id))
            state: dict[str, Any] = {"now": START, "reader_id": reader.id, "branch_id": branch_id,
                                     "rewards": rewards, "redemptions": [], "n": 0}
            for op in sequence:
                try:
                    with s.begin_nested():
                        _apply(s, op, state)
                except LibraryError:
                    pass  # refused operations (not enough points, already reversed ...) change nothing
            # the reader's redemptions and account agree
            account = s.scalar(select(PointsAccount).where(PointsAccount.reader_id == reader.id))
            if account is not None:
                held = sum(r.points for r in s.scalars(select(Redemption).where(
                    Redemption.reader_id == reader.id, Redemption.status == "held")))
                assert account.held == held
                assert account.balance >= 0
            assert verify_ledger(s) == []

    run()
    with db.transaction() as s:
        assert all(a.balance >= 0 and a.held >= 0 for a in s.scalars(select(PointsAccount)))
    result = runner.invoke(args=["points", "verify"])
    assert result.exit_code == 0, result.output
    assert "points ledger: ok" in result.output
