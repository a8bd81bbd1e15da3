"""``library points verify``: the ledger checked against itself.

- each account's balance equals the sum of its entries' amounts, and its held points the sum
  of their held changes; its open lots add up to its balance;
- each lot's remainder equals its amount less what entries consumed from it, and its amount is
  the amount of the entry that created it;
- each debit consumed exactly its amount from lots (a release gave back exactly what its hold took);
- each reversal mirrors the entry it reverses, on the same account, and reverses a reversible kind.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from reading_points.points.ledger import REVERSIBLE_KINDS
from reading_points.points.models import PointsAccount, PointsEntry, PointsLot, PointsLotUse


def verify_ledger(session: Session) -> list[str]:
    """Every inconsistency found, as readable lines (empty: the ledger is sound)."""
    problems: list[str] = []
    sums = select(
        PointsEntry.account_id,
        func.coalesce(func.sum(PointsEntry.amount), 0).label("amount"),
        func.coalesce(func.sum(PointsEntry.held_change), 0).label("held"),
    ).group_by(PointsEntry.account_id).subquery()
    lots = select(PointsLot.account_id, func.coalesce(func.sum(PointsLot.remaining), 0).label("remaining")) \
        .group_by(PointsLot.account_id).subquery()
    rows = session.execute(
        select(PointsAccount.id, PointsAccount.reader_id, PointsAccount.balance, PointsAccount.held,
               func.coalesce(sums.c.amount, 0), func.coalesce(sums.c.held, 0), func.coalesce(lots.c.remaining, 0))
        .outerjoin(sums, sums.c.account_id == PointsAccount.id)
        .outerjoin(lots, lots.c.account_id == PointsAccount.id)
        .order_by(PointsAccount.id)
    ).all()
    for account_id, reader_id, balance, held, amount, held_sum, remaining in rows:
        if balance < 0 or held < 0:
            problems.append(f"account {account_id} (reader {reader_id}): negative balance {balance} / held {held}")
        if balance != amount:
            problems.append(f"account {account_id} (reader {reader_id}): balance {balance} != sum of entries {amount}")
        if held != held_sum:
            problems.append(f"account {account_id} (reader {reader_id}): held {held} != sum of held changes {held_sum}")
        if remaining != amount:
            problems.append(f"account {account_id} (reader {reader_id}): lots hold {remaining} but entries sum to {amount}")

    used = select(PointsLotUse.lot_id, func.sum(PointsLotUse.amount).label("used")) \
        .group_by(PointsLotUse.lot_id).subquery()
    for lot_id, lot_amount, lot_remaining, entry_id, entry_amount, lot_acc, entry_acc, used_sum in session.execute(
        select(PointsLot.id, PointsLot.amount, PointsLot.remaining, PointsEntry.id, PointsEntry.amount,
               PointsLot.account_id, PointsEntry.account_id, func.coalesce(used.c.used, 0))
        .join(PointsEntry, PointsEntry.id == PointsLot.entry_id)
        .outerjoin(used, used.c.lot_id == PointsLot.id)
        .order_by(PointsLot.id)
    ):
        if lot_remaining != lot_amount - used_sum:
            problems.append(f"lot {lot_id}: remaining {lot_remaining} != amount {lot_amount} - consumed {used_sum}")
        if lot_amount != entry_amount or lot_acc != entry_acc:
            problems.append(f"lot {lot_id}: does not match entry {entry_id} ({entry_amount} points)")

    per_entry = select(PointsLotUse.entry_id, func.sum(PointsLotUse.amount).label("used")) \
        .group_by(PointsLotUse.entry_id).subquery()
    for entry_id, kind, amount, used_sum in session.execute(
        select(PointsEntry.id, PointsEntry.kind, PointsEntry.amount, func.coalesce(per_entry.c.used, 0))
        .outerjoin(per_entry, per_entry.c.entry_id == PointsEntry.id)
        .where((PointsEntry.amount < 0) | (PointsEntry.kind == "release") | (per_entry.c.used.is_not(None)))
        .order_by(PointsEntry.id)
    ):
        expected = -amount if (amount < 0 or kind == "release") else 0
        if used_sum != expected:
            problems.append(f"entry {entry_id} ({kind} {amount}): consumed {used_sum} from lots, expected {expected}")

    cross = session.execute(
        select(PointsLotUse.id, PointsLotUse.entry_id, PointsLotUse.lot_id)
        .join(PointsEntry, PointsEntry.id == PointsLotUse.entry_id)
        .join(PointsLot, PointsLot.id == PointsLotUse.lot_id)
        .where(PointsEntry.account_id != PointsLot.account_id)
    ).all()
    for use_id, entry_id, lot_id in cross:
        problems.append(f"lot use {use_id}: entry {entry_id} took from lot {lot_id} of another account")

    original = aliased(PointsEntry)
    for rev_id, rev_amount, rev_held, rev_acc, orig_id, orig_kind, orig_amount, orig_held, orig_acc in session.execute(
        select(PointsEntry.id, PointsEntry.amount, PointsEntry.held_change, PointsEntry.account_id,
               original.id, original.kind, original.amount, original.held_change, original.account_id)
        .outerjoin(original, original.id == PointsEntry.reverses_id)
        .where(PointsEntry.kind == "reverse")
        .order_by(PointsEntry.id)
    ):
        if orig_id is None:
            problems.append(f"reversal {rev_id}: reverses no entry")
            continue
        if orig_kind not in REVERSIBLE_KINDS:
            problems.append(f"reversal {rev_id}: reverses entry {orig_id} of kind {orig_kind}")
        if rev_amount != -orig_amount or rev_held != -orig_held or rev_acc != orig_acc:
            problems.append(f"reversal {rev_id} ({rev_amount}) does not mirror entry {orig_id} ({orig_amount})")
    return problems
