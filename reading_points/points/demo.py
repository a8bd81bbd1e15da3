"""Demo data: a rewards catalogue and a year of points history for the demo readers, posted
through the service layer (so caps, lots, expiry and the month summaries are real)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from library.errors import LibraryError
from reading_points.points import ledger, rewards, services
from reading_points.points.models import PointsAccount, PointsEntry, PointsLot, PointsLotUse, PointsMonth

REWARDS: list[dict[str, Any]] = [
    {"name": "图书馆纪念帆布袋", "kind": "goods", "cost": 60, "limit_per_reader": 2,
     "description": "资阳区图书馆原创设计帆布袋，印有资江风光。"},
    {"name": "藏书票套装（十二生肖）", "kind": "goods", "cost": 30, "limit_per_reader": None,
     "description": "木刻版画藏书票 12 枚。"},
    {"name": "新书优先借阅券", "kind": "goods", "cost": 40, "limit_per_reader": 3,
     "description": "凭券可优先借阅新到馆图书一册。"},
    {"name": "儿童绘本（任选一册）", "kind": "goods", "cost": 150, "limit_per_reader": 1,
     "description": "少儿阅览室指定书架任选一册。"},
    {"name": "借阅册数 +5（30 天）", "kind": "extra_loans", "cost": 80, "limit_per_reader": None,
     "extra_loans": 5, "benefit_days": 30, "description": "兑换后 30 天内可多借 5 册。"},
    {"name": "免除一次逾期扣分", "kind": "penalty_waiver", "cost": 20, "limit_per_reader": 3,
     "benefit_days": 180, "description": "180 天内下一次逾期归还不扣积分。"},
]


def build_points_demo(session: Session, ctx: Any) -> None:
    now: dt.datetime = ctx.now
    rng = ctx.rng
    branch_ids: list[int] = ctx.data.get("branch_ids", [])
    reader_ids: list[int] = ctx.data.get("reader_ids", [])
    if not branch_ids or not reader_ids:
        return
    staffed = branch_ids[:10]  # the central library and the township branches hand out goods
    reward_ids = []
    for spec in REWARDS:
        stock = {b: rng.randint(3, 30) for b in staffed} if spec["kind"] == "goods" else {}
        reward = rewards.save_reward(
            session, reward=None, name=spec["name"], description=spec["description"], kind=spec["kind"],
            cost=spec["cost"], limit_per_reader=spec.get("limit_per_reader"), extra_loans=spec.get("extra_loans", 0),
            benefit_days=spec.get("benefit_days", 30), active_from=None, active_until=None, active=True,
            now=now - dt.timedelta(days=370), stock=stock, actor="demo",
        )
        reward_ids.append(reward.id)
    start = now - dt.timedelta(days=365)
    kinds = [("checkout", 50), ("renewal", 12), ("on_time_return", 20), ("event_attended", 6),
             ("volunteer_hour", 3), ("review", 4), ("donation", 2), ("overdue", 3)]
    bag = [k for k, w in kinds for _ in range(w)]
    points = {k: p for k, _, p, *_ in services.DEFAULT_RULES}
    histories: dict[int, list[tuple[dt.datetime, str, int, str, int]]] = {}
    # Readers who already hold points (circulation's demo checkouts earn them through the signals)
    # get a few more through the services; a year of history is written in bulk for the others.
    existing = set(session.scalars(select(PointsAccount.reader_id)))
    fresh = [r for r in reader_ids if r not in existing][:110]
    topped_up = sorted(existing)[:40]
    for reader_id in fresh + topped_up:
        times = sorted(start + dt.timedelta(minutes=rng.randint(0, 365 * 24 * 60)) for _ in range(rng.randint(8, 45)))
        history = []
        for at in times:
            kind = rng.choice(bag)
            if kind == "overdue":
                days = rng.randint(1, 6)
                history.append((at, kind, -days, f"逾期归还 {days} 天", rng.choice(staffed)))
            else:
                history.append((at, kind, points[kind], _REASONS[kind], rng.choice(staffed)))
        histories[reader_id] = history
    n = _bulk_history(session, {r: histories[r] for r in fresh}, now)
    for reader_id in topped_up:
        for i, (at, kind, amount, reason, branch_id) in enumerate(histories[reader_id][-3:]):
            key = f"demo:{reader_id}:{i}"
            if amount < 0:
                services.penalise(session, reader_id=reader_id, kind=kind, idempotency_key=key, reason=reason, now=at,
                                  points=-amount, source=key, branch_id=branch_id)
            else:
                services.earn(session, reader_id=reader_id, kind=kind, idempotency_key=key, reason=reason, now=at,
                              branch_id=branch_id)
            n += 1
    # Redemptions go through the service layer (holds, stock, settlement).
    for reader_id in fresh + topped_up:
        account = ledger.account_for(session, reader_id)
        if account is None or account.balance < 30 or rng.random() < 0.5:
            continue
        # after the reader's last posting, so the month summaries stay in time order
        at = max(now - dt.timedelta(days=rng.randint(0, 8), hours=rng.randint(0, 10)),
                 histories[reader_id][-1][0] + dt.timedelta(hours=1))
        try:
            redemption = services.redeem(session, reader_id=reader_id, reward_id=reward_ids[1],
                                         branch_id=rng.choice(staffed), now=at, idempotency_key=f"demo:{reader_id}")
        except LibraryError:  # a demo reader without enough points or stock simply skips
            continue
        if at < now - dt.timedelta(days=3):
            services.settle_redemption(session, redemption_id=redemption.id, now=at + dt.timedelta(days=1))
    services.expire_due_lots(session, now=now)
    ctx.out["points"] = {"rewards": len(reward_ids), "postings": n}


_REASONS = {
    "checkout": "借阅图书", "renewal": "续借图书", "on_time_return": "按期归还", "event_attended": "参加阅读活动",
    "volunteer_hour": "志愿服务 1 小时", "review": "书评通过审核", "donation": "捐赠图书",
}


def _bulk_history(session: Session, histories: dict[int, list[tuple[dt.datetime, str, int, str, int]]],
                  now: dt.datetime) -> int:
    """Write earnings and penalties in bulk with exactly what ``post`` would write (entries,
    FIFO lots and their uses, month summaries, accounts): posting thousands of demo entries one
    by one would make ``library demo`` slow. ``library points verify`` holds afterwards."""
    expiry_years = ledger.setting(session, "expiry_years")
    account_ids = {}
    for reader_id in histories:
        account_ids[reader_id] = ledger.lock_account(session, reader_id, now).id
    entry_rows: list[dict[str, Any]] = []
    plans: list[tuple[int, list[tuple[int, int]]]] = []  # per entry: lot amount or FIFO uses (entry index, amount)
    finals: dict[int, tuple[int, int]] = {}
    month_rows: dict[tuple[int, str], dict[str, int]] = {}
    for reader_id, history in histories.items():
        account_id = account_ids[reader_id]
        balance = earned_total = 0
        lots: list[list[int]] = []  # [entry index, remaining, expiry year]
        for i, (at, kind, amount, reason, branch_id) in enumerate(history):
            if amount < 0:
                amount = -min(-amount, balance)
                if amount == 0:
                    continue
            day = ledger.local_date(at)
            index = len(entry_rows)
            uses: list[tuple[int, int]] = []
            if amount > 0:
                lots.append([index, amount, day.year + expiry_years - 1])
                earned_total += amount
            else:
                left = -amount
                for lot in lots:
                    take = min(lot[1], left)
                    if take:
                        lot[1] -= take
                        left -= take
                        uses.append((lot[0], take))
                    if not left:
                        break
            balance += amount
            entry_rows.append({
                "account_id": account_id, "kind": "earn" if amount > 0 else "penalty", "rule": kind,
                "amount": amount, "held_change": 0, "balance_after": balance, "reason": reason,
                "source": f"demo:{reader_id}:{i}", "idempotency_key": f"demo:{reader_id}:{i}", "reverses_id": None,
                "branch_id": branch_id, "staff_id": None, "created_at": at, "day": day,
                "month": day.strftime("%Y-%m"),
            })
            plans.append((amount, uses))
            m = month_rows.setdefault((account_id, day.strftime("%Y-%m")), {"earned": 0, "spent": 0, "closing": 0})
            m["earned" if amount > 0 else "spent"] += abs(amount)
            m["closing"] = balance
        finals[account_id] = (balance, earned_total)
    if not entry_rows:
        return 0
    ids = list(session.scalars(insert(PointsEntry).returning(PointsEntry.id, sort_by_parameter_order=True),
                               entry_rows))
    lot_rows = []
    remaining: dict[int, int] = {}
    for index, (amount, uses) in enumerate(plans):
        if amount > 0:
            remaining[index] = amount
        for lot_index, take in uses:
            remaining[lot_index] -= take
    for index, (amount, _) in enumerate(plans):
        if amount > 0:
            year = entry_rows[index]["day"].year + expiry_years - 1
            lot_rows.append({"account_id": entry_rows[index]["account_id"], "entry_id": ids[index], "amount": amount,
                             "remaining": remaining[index], "expires_on": dt.date(year, 12, 31)})
    lot_ids = list(session.scalars(insert(PointsLot).returning(PointsLot.id, sort_by_parameter_order=True), lot_rows))
    lot_by_entry_index = {}
    k = 0
    for index, (amount, _) in enumerate(plans):
        if amount > 0:
            lot_by_entry_index[index] = lot_ids[k]
            k += 1
    use_rows = [{"entry_id": ids[index], "lot_id": lot_by_entry_index[lot_index], "amount": take}
                for index, (_, uses) in enumerate(plans) for lot_index, take in uses]
    if use_rows:
        session.execute(insert(PointsLotUse), use_rows)
    session.execute(insert(PointsMonth), [
        {"account_id": a, "month": m, "earned": v["earned"], "spent": v["spent"], "closing_balance": v["closing"]}
        for (a, m), v in sorted(month_rows.items())])
    for account in session.scalars(select(PointsAccount).where(PointsAccount.id.in_(list(finals)))):
        account.balance, account.lifetime_earned = finals[account.id]
        account.updated_at = now
    session.flush()
    return len(entry_rows)
