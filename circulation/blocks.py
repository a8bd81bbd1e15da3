"""Reasons a reader may not borrow: expired card, lost card, an account blocked by staff, too many
items out, overdue items, unpaid charges over the limit, a suspension. Staff may lend anyway
with a reason (``BlockOverride`` plus the audit log)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from circulation import hooks
from circulation.calendar import local_date
from circulation.common import tr
from circulation.models import OPEN_LOAN_STATES, BlockOverride, Charge, CirculationRule, Loan, Suspension
from circulation.rules import find_rule
from library import audit
from library.models import Reader, StaffUser

# Blocks that also stop renewals and holds (the others concern borrowing more items).
ACCOUNT_BLOCKS = ("card_expired", "lost_card", "reader_blocked", "charges_over_limit", "suspended")


@dataclass(frozen=True)
class Block:
    """One reason the reader may not borrow. ``code`` is stable; ``message`` is for people."""

    code: str
    message: str


@dataclass(frozen=True)
class AccountState:
    open_loans: int
    overdue_loans: int
    charges_total: Decimal
    suspended_until: dt.date | None


def account_columns(reader_id: Any) -> tuple[Any, ...]:
    """What the blocks need to know of a reader's account, as scalar subqueries on ``reader_id``
    (a bound parameter, or the reader's column in a larger statement: the checkout's look-up):
    open loans, the oldest due date of a loan out, open charges, the end of a suspension in force
    on the bound ``today``."""
    return (
        select(func.count()).select_from(Loan).where(Loan.reader_id == reader_id,
                                                      Loan.state.in_(OPEN_LOAN_STATES)).scalar_subquery(),
        select(func.min(Loan.due_on)).where(Loan.reader_id == reader_id, Loan.state == "on_loan").scalar_subquery(),
        select(func.coalesce(func.sum(Charge.amount), 0)).where(Charge.reader_id == reader_id,
                                                                 Charge.state == "open").scalar_subquery(),
        select(func.max(Suspension.ends_on)).where(Suspension.reader_id == reader_id, Suspension.lifted_at.is_(None),
                                                   Suspension.starts_on <= bindparam("today"),
                                                   Suspension.ends_on >= bindparam("today")).scalar_subquery(),
    )


# built once (see circulation.common)
_ACCOUNT_STATE = select(*account_columns(bindparam("reader_id")))
_OVERDUE_COUNT = select(func.count()).select_from(Loan).where(
    Loan.reader_id == bindparam("reader_id"), Loan.state == "on_loan", Loan.due_on < bindparam("overdue_before"))


def account_state(session: Session, reader_id: int, today: dt.date, grace_days: int = 0,
                  columns: Sequence[Any] | None = None) -> AccountState:
    """What the blocks need, in one query; ``columns``: the values of ``account_columns`` when
    the caller has read them already. Overdue loans (past the grace days) are only counted when
    the oldest due date says there is one."""
    row = columns if columns is not None else session.execute(
        _ACCOUNT_STATE, {"reader_id": reader_id, "today": today}).one()
    open_loans, oldest_due, charges, suspended_until = row
    overdue_before = today - dt.timedelta(days=grace_days)
    overdue = 0
    if oldest_due is not None and oldest_due < overdue_before:
        overdue = int(session.scalar(_OVERDUE_COUNT, {"reader_id": reader_id, "overdue_before": overdue_before}) or 0)
    return AccountState(int(open_loans or 0), overdue, Decimal(str(charges or 0)), suspended_until)


def compute_blocks(session: Session, reader: Reader, now: dt.datetime, rule: CirculationRule,
                   account: Sequence[Any] | None = None) -> list[Block]:
    """Every block that applies to ``reader`` under ``rule`` (empty list: may borrow).
    ``account``: the values of ``account_columns`` for the reader, when already read."""
    today = local_date(now)
    blocks: list[Block] = []
    if reader.status == "lost_card":
        blocks.append(Block("lost_card", tr(_l("读者证已挂失"))))
    if reader.status == "blocked":
        blocks.append(Block("reader_blocked", tr(_l("读者账户已被冻结"))))
    if reader.status == "expired" or reader.card_expired(today):
        blocks.append(Block("card_expired", tr(_l("读者证已于 %(day)s 过期", day=reader.card_expires_on.isoformat()))))
    state = account_state(session, reader.id, today, rule.grace_days, account)
    max_items = rule.max_items + (hooks.extra_loans(session, reader.id, today) if state.open_loans >= rule.max_items
                                  else 0)
    if state.open_loans >= max_items:
        blocks.append(Block("too_many_items", tr(_l("已借 %(n)s 册，达到上限 %(max)s 册", n=state.open_loans,
                                                      max=max_items))))
    if state.overdue_loans:
        blocks.append(Block("overdue_items", tr(_l("有 %(n)s 册图书逾期未还", n=state.overdue_loans))))
    if state.charges_total > rule.charge_limit:
        blocks.append(Block("charges_over_limit", tr(_l("欠费 %(amount)s 元，超过 %(limit)s 元",
                                                          amount=state.charges_total, limit=rule.charge_limit))))
    if state.suspended_until is not None:
        blocks.append(Block("suspended", tr(_l("停借至 %(day)s", day=state.suspended_until.isoformat()))))
    return blocks


def reader_blocks(session: Session, reader: Reader, now: dt.datetime) -> list[Block]:
    """The blocks of ``reader`` under the rule of their category (any branch, any item type)."""
    rule = find_rule(session, branch_id=None, category=reader.category_code, item_type=None)
    return compute_blocks(session, reader, now, rule)


def record_override(session: Session, *, reader: Reader, staff: StaffUser, blocks: list[Block], reason: str,
                    branch_id: int | None, loan_id: int | None, now: dt.datetime) -> BlockOverride:
    """Write the override and its audit entry."""
    codes = [b.code for b in blocks]
    override = BlockOverride(reader_id=reader.id, staff_id=staff.id, branch_id=branch_id, loan_id=loan_id,
                             block_codes=codes, reason=reason.strip(), created_at=now)
    session.add(override)
    audit.record(session, action="circulation.block_override", staff=staff, target_type="reader",
                 target_id=reader.id, branch_id=branch_id, details={"blocks": codes, "reason": reason.strip(),
                                                                      "loan_id": loan_id}, now=now)
    return override
