"""Points from circulation, through its signals. Handlers run inside the circulation
transaction (the sender is the session), so a loan and its points commit or roll back together.

The loan needs ``id``, ``reader_id``, ``branch_id`` and ``checked_out_at``; on return it may
carry ``return_branch_id`` and ``overdue_days``. A hold needs ``id``, ``reader_id`` and
``pickup_branch_id``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from reading_points.points import ledger, services
from reading_points.points.models import PointsEntry, PointsRule


def on_checked_out(session: Session, *, loan: Any, now: dt.datetime, **_: Any) -> None:
    services.earn(session, reader_id=loan.reader_id, kind="checkout", idempotency_key=f"loan:{loan.id}:checkout",
                  reason="借阅图书", now=now, source=f"loan:{loan.id}", branch_id=loan.branch_id)


def on_renewed(session: Session, *, loan: Any, now: dt.datetime, **_: Any) -> None:
    renewals = getattr(loan, "renewals", None)
    suffix = f":{renewals}" if renewals is not None else f":{now.isoformat()}"
    services.earn(session, reader_id=loan.reader_id, kind="renewal", idempotency_key=f"loan:{loan.id}:renewal{suffix}",
                  reason="续借图书", now=now, source=f"loan:{loan.id}", branch_id=loan.branch_id)


def on_returned(session: Session, *, loan: Any, now: dt.datetime, on_time: bool | None = None, **_: Any) -> None:
    """Claw back the checkout points of a loan returned within the farming window; otherwise an
    on-time bonus, or the overdue penalty (per day, capped per item)."""
    branch_id = getattr(loan, "return_branch_id", None) or loan.branch_id
    state = None
    if on_time:  # the usual return: what the bonus needs carries the farming window (one read)
        state = services.earn_state(session, loan.reader_id, "on_time_return", now)
        window = state.farming_window
    else:
        window = dt.timedelta(minutes=ledger.setting(session, "farming_minutes"))
    checked_out_at = getattr(loan, "checked_out_at", None)
    if checked_out_at is not None and now - checked_out_at < window:
        _claw_back(session, loan=loan, now=now)
        return
    if on_time:
        services.earn(session, reader_id=loan.reader_id, kind="on_time_return",
                      idempotency_key=f"loan:{loan.id}:returned-on-time", reason="按期归还", now=now,
                      source=f"loan:{loan.id}", branch_id=branch_id, state=state)
    elif on_time is False:
        days = int(getattr(loan, "overdue_days", 0) or 0)
        if days <= 0 and getattr(loan, "due_on", None) is not None:
            days = (ledger.local_date(now) - loan.due_on).days
        rule = session.get(PointsRule, "overdue")
        if days > 0 and rule is not None and rule.active:
            services.penalise(session, reader_id=loan.reader_id, kind="overdue",
                              idempotency_key=f"loan:{loan.id}:overdue", reason=f"逾期归还 {days} 天",
                              now=now, points=rule.points * days, source=f"loan:{loan.id}", branch_id=branch_id)


def _claw_back(session: Session, *, loan: Any, now: dt.datetime) -> None:
    earned = session.scalar(select(PointsEntry).where(PointsEntry.idempotency_key == f"loan:{loan.id}:checkout"))
    if earned is None:
        return
    account = ledger.lock_account(session, loan.reader_id, now)
    if account.balance >= earned.amount:
        ledger.reverse(session, entry_id=earned.id, reason="借出后很快归还，撤销借阅积分", now=now,
                       idempotency_key=f"loan:{loan.id}:checkout-reversed")
    elif account.balance > 0:
        # The points were already spent in part: take back what is left (never overdraw).
        ledger.post(session, account, ledger.Posting(
            kind="adjust", amount=-account.balance, reason="借出后很快归还，撤销借阅积分（部分）",
            idempotency_key=f"loan:{loan.id}:checkout-reversed", rule="checkout", source=f"loan:{loan.id}",
        ), now)


def on_hold_expired(session: Session, *, hold: Any, now: dt.datetime, **_: Any) -> None:
    services.penalise(session, reader_id=hold.reader_id, kind="uncollected_hold",
                      idempotency_key=f"hold:{hold.id}:uncollected", reason="预约到书未取", now=now,
                      source=f"hold:{hold.id}", branch_id=getattr(hold, "pickup_branch_id", None))


def connect() -> None:
    """Subscribe to the circulation signals (idempotent: blinker keeps one connection each)."""
    from circulation import signals

    signals.checked_out.connect(on_checked_out)
    signals.renewed.connect(on_renewed)
    signals.returned.connect(on_returned)
    signals.hold_expired.connect(on_hold_expired)
