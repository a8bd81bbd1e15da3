"""Demo data: a rewards catalogue and a year of points history for the demo readers, posted
through the service layer (so caps, lots, expiry and the month summaries are real)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from library.errors import LibraryError
from reading_points.points import ledger, rewards, services

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
    n = 0
    for reader_id in reader_ids[:90]:
        count = rng.randint(8, 45)
        times = sorted(start + dt.timedelta(minutes=rng.randint(0, 365 * 24 * 60)) for _ in range(count))
        for i, at in enumerate(times):
            kind = rng.choice(bag)
            key = f"demo:{reader_id}:{i}"
            if kind == "overdue":
                services.penalise(session, reader_id=reader_id, kind="overdue", idempotency_key=key,
                                  reason=f"逾期归还 {rng.randint(1, 6)} 天", now=at, points=rng.randint(1, 6),
                                  source=f"demo-loan:{reader_id}:{i}")
            else:
                services.earn(session, reader_id=reader_id, kind=kind, idempotency_key=key,
                              reason=_REASONS[kind], now=at, branch_id=rng.choice(staffed))
            n += 1
        account = ledger.account_for(session, reader_id)
        if account is not None and account.balance >= 30 and rng.random() < 0.5:
            at = times[-1] + dt.timedelta(hours=2)
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
