"""Reads for the pages, the API and the reports. "My points" never sums the ledger: the balance
comes from the account, the chart from the month summaries, history is read a page at a time
(keyset paging, no count), and what expires soon from the open lots."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from library.models import Branch, Reader
from reading_points.points.ledger import local_date, setting
from reading_points.points.models import (
    PointsAccount,
    PointsEntry,
    PointsLot,
    PointsMonth,
    Redemption,
    Reward,
    RewardStock,
)


@dataclass
class HistoryPage:
    entries: list[PointsEntry]
    next_before: int | None


def history(session: Session, account_id: int, *, before: int | None = None, per_page: int = 20) -> HistoryPage:
    stmt = select(PointsEntry).where(PointsEntry.account_id == account_id)
    if before:
        stmt = stmt.where(PointsEntry.id < before)
    rows = list(session.scalars(stmt.order_by(PointsEntry.id.desc()).limit(per_page + 1)))
    more = len(rows) > per_page
    rows = rows[:per_page]
    return HistoryPage(rows, rows[-1].id if more and rows else None)


def months_back(today: dt.date, n: int) -> list[str]:
    out = []
    y, m = today.year, today.month
    for _ in range(n):
        out.append(f"{y:04d}-{m:02d}")
        m -= 1
        if m == 0:
            y, m = y - 1, 12
    return list(reversed(out))


def balance_by_month(session: Session, account: PointsAccount, today: dt.date, n: int = 12) -> list[tuple[str, int]]:
    """Closing points (spendable + held) at the end of each of the last ``n`` months, from the
    month summaries (a month without postings carries the previous closing balance)."""
    months = months_back(today, n)
    rows = {r.month: r for r in session.scalars(select(PointsMonth).where(
        PointsMonth.account_id == account.id, PointsMonth.month >= months[0]))}
    before = session.scalar(select(PointsMonth.closing_balance).where(
        PointsMonth.account_id == account.id, PointsMonth.month < months[0]).order_by(PointsMonth.month.desc()).limit(1))
    out = []
    current = before or 0
    for m in months:
        if m in rows:
            current = rows[m].closing_balance
        out.append((m, current))
    return out


def expiring_soon(session: Session, account: PointsAccount, now: dt.datetime) -> list[tuple[dt.date, int]]:
    today = local_date(now)
    until = today + dt.timedelta(days=setting(session, "expiring_soon_days"))
    return [(d, int(n)) for d, n in session.execute(
        select(PointsLot.expires_on, func.sum(PointsLot.remaining))
        .where(PointsLot.account_id == account.id, PointsLot.remaining > 0, PointsLot.expires_on <= until)
        .group_by(PointsLot.expires_on).order_by(PointsLot.expires_on))]


def rewards_on_offer(session: Session, today: dt.date) -> list[Reward]:
    return [r for r in session.scalars(select(Reward).where(Reward.active.is_(True)).order_by(Reward.cost, Reward.id))
            if r.on_offer(today)]


def stock_by_reward(session: Session, reward_ids: list[int]) -> dict[int, list[tuple[Branch, int]]]:
    out: dict[int, list[tuple[Branch, int]]] = {rid: [] for rid in reward_ids}
    if not reward_ids:
        return out
    for stock, branch in session.execute(
        select(RewardStock, Branch).join(Branch, Branch.id == RewardStock.branch_id)
        .where(RewardStock.reward_id.in_(reward_ids)).order_by(Branch.code)):
        out[stock.reward_id].append((branch, stock.quantity))
    return out


def open_redemptions(session: Session, *, reader_id: int | None = None,
                     branch_ids: set[int] | None = None) -> list[Redemption]:
    stmt = select(Redemption).where(Redemption.status == "held")
    if reader_id is not None:
        stmt = stmt.where(Redemption.reader_id == reader_id)
    if branch_ids is not None:
        stmt = stmt.where(Redemption.branch_id.in_(branch_ids))
    return list(session.scalars(stmt.order_by(Redemption.created_at)))


def recent_redemptions(session: Session, reader_id: int, limit: int = 10) -> list[Redemption]:
    return list(session.scalars(select(Redemption).where(Redemption.reader_id == reader_id)
                                .order_by(Redemption.id.desc()).limit(limit)))


REPORT_COLUMNS = ("earned", "adjusted_in", "redeemed", "expired", "penalties", "adjusted_out", "reversed")


def report(session: Session, month: str, branch_id: int | None = None) -> dict[str, Any]:
    """Totals of one month per branch (earned, redeemed, expired, penalties ...) and earnings
    by kind. Branch is where the points were earned or spent (the loan's branch, the pickup
    branch of a redemption, otherwise the reader's home branch)."""
    amount, held = PointsEntry.amount, PointsEntry.held_change
    cols = {
        "earned": func.sum(case((PointsEntry.kind == "earn", amount), else_=0)),
        "adjusted_in": func.sum(case(((PointsEntry.kind == "adjust") & (amount > 0), amount), else_=0)),
        "redeemed": func.sum(case((PointsEntry.kind == "redeem", -held), else_=0)),
        "expired": func.sum(case((PointsEntry.kind == "expire", -amount), else_=0)),
        "penalties": func.sum(case((PointsEntry.kind == "penalty", -amount), else_=0)),
        "adjusted_out": func.sum(case(((PointsEntry.kind == "adjust") & (amount < 0), -amount), else_=0)),
        "reversed": func.sum(case((PointsEntry.kind == "reverse", -amount), else_=0)),
    }
    stmt = select(PointsEntry.branch_id, *[c.label(k) for k, c in cols.items()]).where(PointsEntry.month == month)
    if branch_id is not None:
        stmt = stmt.where(PointsEntry.branch_id == branch_id)
    branches = {b.id: b for b in session.scalars(select(Branch))}
    rows: list[dict[str, Any]] = []
    for row in session.execute(stmt.group_by(PointsEntry.branch_id)):
        b = branches.get(row.branch_id) if row.branch_id is not None else None
        rows.append({"branch": b, **{k: int(getattr(row, k) or 0) for k in cols}})
    rows.sort(key=lambda r: r["branch"].code if r["branch"] else "")
    by_kind_stmt = select(PointsEntry.kind, PointsEntry.rule, func.count(), func.sum(PointsEntry.amount),
                          func.sum(PointsEntry.held_change)).where(PointsEntry.month == month)
    if branch_id is not None:
        by_kind_stmt = by_kind_stmt.where(PointsEntry.branch_id == branch_id)
    by_kind = [{"kind": k, "rule": r, "count": int(c), "amount": int(a or 0), "held": int(h or 0)}
               for k, r, c, a, h in session.execute(
                   by_kind_stmt.group_by(PointsEntry.kind, PointsEntry.rule).order_by(PointsEntry.kind, PointsEntry.rule))]
    totals = {k: sum(r[k] for r in rows) for k in cols}
    return {"rows": rows, "by_kind": by_kind, "totals": totals}


def monthly_trend(session: Session, months: list[str], branch_id: int | None = None) -> list[dict[str, Any]]:
    amount, held = PointsEntry.amount, PointsEntry.held_change
    stmt = select(
        PointsEntry.month,
        func.sum(case((PointsEntry.kind == "earn", amount), else_=0)),
        func.sum(case((PointsEntry.kind == "redeem", -held), else_=0)),
        func.sum(case((PointsEntry.kind == "expire", -amount), else_=0)),
    ).where(PointsEntry.month.in_(months))
    if branch_id is not None:
        stmt = stmt.where(PointsEntry.branch_id == branch_id)
    got = {m: (int(e or 0), int(r or 0), int(x or 0)) for m, e, r, x in session.execute(stmt.group_by(PointsEntry.month))}
    return [{"month": m, "earned": got.get(m, (0, 0, 0))[0], "redeemed": got.get(m, (0, 0, 0))[1],
             "expired": got.get(m, (0, 0, 0))[2]} for m in months]


def mask_name(name: str) -> str:
    """Readers on a public board are shown as 王*明 (first and last character)."""
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def leaderboard(session: Session, *, branch_id: int, month: str, limit: int = 20) -> list[tuple[int, str, int]]:
    """Readers of the branch (home branch) who opted in, by points earned in the month."""
    total = func.sum(PointsEntry.amount).label("total")
    rows = session.execute(
        select(Reader.id, Reader.name, total)
        .join(PointsAccount, PointsAccount.reader_id == Reader.id)
        .join(PointsEntry, PointsEntry.account_id == PointsAccount.id)
        .where(Reader.home_branch_id == branch_id, Reader.show_on_leaderboards.is_(True),
               PointsEntry.month == month, PointsEntry.kind == "earn")
        .group_by(Reader.id, Reader.name)
        .order_by(total.desc(), Reader.id)
        .limit(limit)
    ).all()
    return [(rid, mask_name(name), int(t)) for rid, name, t in rows]
