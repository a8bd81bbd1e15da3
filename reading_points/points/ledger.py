"""The ledger core: accounts under a row lock, append-only postings, FIFO lots.

Every change of points goes through :func:`post`, which locks the account row (``SELECT ... FOR
UPDATE`` on PostgreSQL; SQLite writers are already serialised by ``BEGIN IMMEDIATE``), checks the
idempotency key, writes the entry, moves the balance and the held points, consumes or creates
lots and keeps the month summary, all in the caller's transaction.

Meaning of an entry (``amount`` changes the spendable balance, ``held_change`` the held points):

=========  ==========  ============  =======================================
kind       amount      held_change   lots
=========  ==========  ============  =======================================
earn       +n          0             new lot
adjust     +n / -n     0             new lot / consumes oldest first
penalty    -n          0             consumes oldest first
expire     -n          0             consumes the expired lot
hold       -n          +n            consumes oldest first
redeem     0           -n            (already consumed by the hold)
release    +n          -n            gives back what the hold consumed
reverse    -x.amount   0             undoes x: consumes x's lot first / new lot
=========  ==========  ============  =======================================
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Boolean, and_, bindparam, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from library.clock import DEFAULT_TZ
from library.db import DIALECTS, adopt_inserted, table_of, upsert_insert
from library.models import Reader, StaffUser
from reading_points.points.errors import AlreadyReversed, InsufficientPoints, NotReversible
from reading_points.points.models import (
    PointsAccount,
    PointsEntry,
    PointsLot,
    PointsLotUse,
    PointsMonth,
    PointsSetting,
)

REVERSIBLE_KINDS = ("earn", "adjust", "penalty")
SETTINGS_DEFAULTS: dict[str, tuple[int, str]] = {
    "expiry_years": (2, "积分有效期：获得当年起第几个自然年末到期（2 = 次年 12 月 31 日）"),
    "farming_minutes": (60, "借出后多少分钟内归还，撤销借阅积分（防刷分）"),
    "redemption_hold_days": (14, "兑换后多少天内未领取自动取消并退回积分"),
    "expiring_soon_days": (90, "“即将过期”提示的天数"),
}


_SETTING = select(PointsSetting.value).where(PointsSetting.key == bindparam("key"))


def setting(session: Session, key: str) -> int:
    value = session.scalar(_SETTING, {"key": key})
    return value if value is not None else SETTINGS_DEFAULTS[key][0]


def local_date(now: dt.datetime) -> dt.date:
    return now.astimezone(DEFAULT_TZ).date()


def expiry_date(expiry_years: int, now: dt.datetime) -> dt.date:
    """Points earned in year Y expire at the end of year Y + expiry_years - 1 (local time)."""
    return dt.date(local_date(now).year + max(expiry_years, 1) - 1, 12, 31)


def lot_expiry(session: Session, now: dt.datetime) -> dt.date:
    return expiry_date(setting(session, "expiry_years"), now)


# Built once: building a statement costs more CPU than running it (bench/circulation.py).
_ACCOUNT_FOR_UPDATE = (
    select(PointsAccount).where(PointsAccount.reader_id == bindparam("reader_id")).with_for_update()
    .execution_options(populate_existing=True)
)


def _lock_account(session: Session, reader_id: int) -> PointsAccount | None:
    return session.scalar(_ACCOUNT_FOR_UPDATE, {"reader_id": reader_id})


_CREATE_ACCOUNT = {d: upsert_insert(d)(table_of(PointsAccount)).values(
    reader_id=bindparam("reader_id"), balance=0, held=0, lifetime_earned=0, updated_at=bindparam("now"))
    .on_conflict_do_nothing(index_elements=["reader_id"]) for d in DIALECTS}


def create_account(session: Session, reader_id: int, now: dt.datetime) -> None:
    """Open the reader's account unless it exists (a concurrent opening waits, then does nothing)."""
    connection = session.connection()
    connection.execute(_CREATE_ACCOUNT[connection.dialect.name], {"reader_id": reader_id, "now": now})


def lock_account(session: Session, reader_id: int, now: dt.datetime) -> PointsAccount:
    """The reader's account, created if missing, locked for the rest of the transaction."""
    account = _lock_account(session, reader_id)
    if account is not None:
        return account
    create_account(session, reader_id, now)
    account = _lock_account(session, reader_id)
    assert account is not None
    return account


def account_for(session: Session, reader_id: int) -> PointsAccount | None:
    """The reader's account without locking (for pages)."""
    return session.scalar(select(PointsAccount).where(PointsAccount.reader_id == reader_id))


def key_taken(session: Session, key: str) -> bool:
    return session.scalar(select(PointsEntry.id).where(PointsEntry.idempotency_key == key)) is not None


@dataclass
class Posting:
    kind: str
    amount: int
    reason: str
    idempotency_key: str
    held_change: int = 0
    rule: str = ""
    source: str = ""
    branch_id: int | None = None
    staff: StaffUser | None = None
    reverses: PointsEntry | None = None
    consume_first: PointsLot | None = None
    restore_from: PointsEntry | None = None
    consume_lot: PointsLot | None = None
    key_checked: bool = False  # the caller already looked the key up under the account lock
    expires_on: dt.date | None = None  # of the lot a gain creates, when the caller has read it (else looked up)
    # (earned today, earned this month) of this rule as the caller read them to apply its caps:
    # on PostgreSQL nothing is posted (None) if they have changed since (see _post_gain_statement)
    caps_seen: tuple[int, int] | None = None


_ENTRY_COLUMNS = ("account_id", "kind", "rule", "amount", "held_change", "balance_after", "reason", "source",
                  "idempotency_key", "reverses_id", "branch_id", "staff_id", "created_at", "day", "month")


def post(session: Session, account: PointsAccount, p: Posting, now: dt.datetime) -> PointsEntry | None:
    """Write one entry on a locked account. Returns None when the idempotency key was already
    posted. Raises InsufficientPoints when the balance would go below zero."""
    # A reversal looks its key up first; other postings let the unique key decide on INSERT (below).
    if not p.key_checked and p.reverses is not None and key_taken(session, p.idempotency_key):
        return None
    new_balance = account.balance + p.amount
    new_held = account.held + p.held_change
    if (new_balance < 0 or new_held < 0) and not p.key_checked and key_taken(session, p.idempotency_key):
        return None  # already posted: a repeat is not refused for want of points
    if new_balance < 0:
        raise InsufficientPoints(needed=-p.amount, available=account.balance)
    if new_held < 0:
        raise InsufficientPoints(needed=-p.held_change, available=account.held)
    branch_id = p.branch_id
    if branch_id is None:
        branch_id = session.scalar(select(Reader.home_branch_id).where(Reader.id == account.reader_id))
    day = local_date(now)
    entry = PointsEntry(
        account_id=account.id, kind=p.kind, rule=p.rule, amount=p.amount, held_change=p.held_change,
        balance_after=new_balance, reason=p.reason[:300], source=p.source, idempotency_key=p.idempotency_key,
        reverses_id=p.reverses.id if p.reverses is not None else None, branch_id=branch_id,
        staff_id=p.staff.id if p.staff is not None else None, created_at=now, day=day, month=day.strftime("%Y-%m"),
    )
    dialect = session.get_bind().dialect.name
    lifetime = account.lifetime_earned + (p.amount if p.kind == "earn" else 0)
    if dialect == "postgresql" and p.reverses is None and p.amount > 0 and p.kind in ("earn", "adjust"):
        # A gain (the checkout and return path): entry, lot, month and account in one statement.
        return _post_gain(session, account, entry, p, now, new_balance=new_balance, new_held=new_held,
                          lifetime=lifetime)
    if p.reverses is None and dialect in DIALECTS:
        # One round trip: the unique key decides (ON CONFLICT DO NOTHING), no look-up first and
        # no savepoint; a concurrent posting of the same key waits for the other transaction.
        inserted = _insert_entry(session, entry)
        if inserted is None:
            return None
        entry = inserted
    else:
        try:
            with session.begin_nested():
                session.add(entry)
                session.flush()
        except IntegrityError:
            # Same key posted concurrently on another account (this account is locked, so not here),
            # or the reversed entry was reversed concurrently.
            if key_taken(session, p.idempotency_key):
                return None
            if p.reverses is not None:
                raise AlreadyReversed() from None
            raise
    _move_lots(session, account, entry, p, now)
    _summarise(session, account, entry, closing_balance=new_balance + new_held)
    # One UPDATE of the locked account; the loaded account takes the new values as committed.
    session.connection().execute(_UPDATE_ACCOUNT, {"account_id": account.id, "new_balance": new_balance,
                                                   "new_held": new_held, "new_lifetime": lifetime, "now": now})
    _account_committed(account, new_balance, new_held, lifetime, now)
    session.flush()
    return entry


def _account_committed(account: PointsAccount, balance: int, held: int, lifetime: int, now: dt.datetime) -> None:
    """The loaded account takes the values just written as its committed state (no flush)."""
    for name, value in (("balance", balance), ("held", held), ("lifetime_earned", lifetime), ("updated_at", now)):
        set_committed_value(account, name, value)


def _adding_to_month(stmt: Any) -> Any:
    """An INSERT of a month summary row that, when the month has one, adds to it instead."""
    table = table_of(PointsMonth)
    return stmt.on_conflict_do_update(index_elements=["account_id", "month"], set_={
        "earned": table.c.earned + stmt.excluded.earned, "spent": table.c.spent + stmt.excluded.spent,
        "closing_balance": stmt.excluded.closing_balance})


def _post_gain_statement() -> Any:
    """PostgreSQL: a gain posted in one statement of data-modifying CTEs. The entry is inserted
    unless its idempotency key is taken or (``guarded``) the earnings the caps were computed from
    have changed; only then (each part selects from the inserted entry) its lot is created, its
    month summed up and the account's balance moved. Returns the new entry's id, or no row."""
    entries, lots, months = table_of(PointsEntry), table_of(PointsLot), table_of(PointsMonth)
    accounts = table_of(PointsAccount)

    def param(name: str, column: Any) -> Any:
        return bindparam(name, type_=column.type)

    account_id = param("v_account_id", lots.c.account_id)
    # The caps were read with the account lock, but by a statement that may have waited for it and
    # so read the entries as they were before: post only if this kind's earnings today and this
    # month are still what the caller saw (entries are only added under the account lock).
    earned = (select(func.coalesce(func.sum(entries.c.amount), 0))
              .where(entries.c.account_id == account_id, entries.c.rule == param("v_rule", entries.c.rule),
                     entries.c.kind == "earn", entries.c.month == param("v_month", entries.c.month)))
    unchanged = or_(~bindparam("guarded", type_=Boolean), and_(
        earned.where(entries.c.day == param("v_day", entries.c.day)).scalar_subquery() == bindparam("seen_today"),
        earned.scalar_subquery() == bindparam("seen_month")))
    entry = (pg_insert(entries).from_select(
        list(_ENTRY_COLUMNS), select(*(param(f"v_{name}", entries.c[name]) for name in _ENTRY_COLUMNS)).where(unchanged))
        .on_conflict_do_nothing(index_elements=["idempotency_key"]).returning(entries.c.id).cte("new_entry"))
    lot = lots.insert().from_select(
        ["account_id", "entry_id", "amount", "remaining", "expires_on"],
        select(account_id, entry.c.id, param("v_amount", lots.c.amount), param("v_amount", lots.c.remaining),
               param("expires_on", lots.c.expires_on)).select_from(entry)).cte("new_lot")
    month_sum = pg_insert(months).from_select(
        ["account_id", "month", "earned", "spent", "closing_balance"],
        select(account_id, param("v_month", months.c.month), param("earned", months.c.earned),
               param("spent", months.c.spent), param("closing_balance", months.c.closing_balance))
        .select_from(entry))
    month = _adding_to_month(month_sum).cte("month_sum")
    account = (update(accounts).where(accounts.c.id == account_id, select(entry.c.id).exists())
               .values(balance=bindparam("new_balance"), held=bindparam("new_held"),
                       lifetime_earned=bindparam("new_lifetime"), updated_at=bindparam("now")).cte("account_move"))
    return select(entry.c.id).add_cte(lot, month, account)


_POST_GAIN = _post_gain_statement()


def _post_gain(session: Session, account: PointsAccount, entry: PointsEntry, p: Posting, now: dt.datetime, *,
               new_balance: int, new_held: int, lifetime: int) -> PointsEntry | None:
    earned, spent = _month_change(entry)
    params = {f"v_{name}": getattr(entry, name) for name in _ENTRY_COLUMNS}
    params.update(expires_on=p.expires_on or lot_expiry(session, now), earned=earned, spent=spent,
                  closing_balance=new_balance + new_held, new_balance=new_balance, new_held=new_held,
                  new_lifetime=lifetime, now=now, guarded=p.caps_seen is not None,
                  seen_today=p.caps_seen[0] if p.caps_seen else 0, seen_month=p.caps_seen[1] if p.caps_seen else 0)
    entry_id = session.connection().scalar(_POST_GAIN, params)
    if entry_id is None:
        return None  # the key was already posted, or the caps changed: nothing was written
    entry.id = entry_id
    adopt_inserted(session, entry)
    _account_committed(account, new_balance, new_held, lifetime, now)
    return entry


def _insert_entry_statement(insert_fn: Any) -> Any:
    table = table_of(PointsEntry)
    return (insert_fn(table).values({name: bindparam(f"v_{name}") for name in _ENTRY_COLUMNS})
            .on_conflict_do_nothing(index_elements=["idempotency_key"]).returning(table.c.id))


# built once per dialect: building the statement costs more CPU than running it
_INSERT_ENTRY = {d: _insert_entry_statement(upsert_insert(d)) for d in DIALECTS}


def _insert_entry(session: Session, entry: PointsEntry) -> PointsEntry | None:
    """INSERT … ON CONFLICT (idempotency_key) DO NOTHING RETURNING its id, or None when the key
    is already posted. The entry becomes persistent in the session without another statement
    (its every column was just written)."""
    params = {f"v_{name}": getattr(entry, name) for name in _ENTRY_COLUMNS}
    connection = session.connection()
    entry_id = connection.scalar(_INSERT_ENTRY[connection.dialect.name], params)
    if entry_id is None:
        return None
    entry.id = entry_id
    adopt_inserted(session, entry)
    return entry


_INSERT_LOT = insert(table_of(PointsLot))
_UPDATE_ACCOUNT = (
    update(table_of(PointsAccount)).where(table_of(PointsAccount).c.id == bindparam("account_id"))
    .values(balance=bindparam("new_balance"), held=bindparam("new_held"), lifetime_earned=bindparam("new_lifetime"),
            updated_at=bindparam("now"))
)


def _move_lots(session: Session, account: PointsAccount, entry: PointsEntry, p: Posting, now: dt.datetime) -> None:
    if p.kind == "release":
        assert p.restore_from is not None
        for use in session.scalars(select(PointsLotUse).where(PointsLotUse.entry_id == p.restore_from.id)):
            lot = session.scalar(select(PointsLot).where(PointsLot.id == use.lot_id)
                                 .execution_options(populate_existing=True))
            assert lot is not None
            lot.remaining += use.amount
            session.add(PointsLotUse(entry_id=entry.id, lot_id=lot.id, amount=-use.amount))
        return
    if p.amount > 0:
        # a plain INSERT (nothing reads the new lot back in this transaction): cheaper than the unit of work
        session.connection().execute(_INSERT_LOT, {"account_id": account.id, "entry_id": entry.id, "amount": p.amount,
                                      "remaining": p.amount,
                                      "expires_on": p.expires_on or lot_expiry(session, now)})
        return
    if p.amount < 0:
        _consume(session, account, entry, -p.amount, first=p.consume_lot or p.consume_first,
                 only=p.consume_lot is not None)


def _consume(session: Session, account: PointsAccount, entry: PointsEntry, amount: int, *,
             first: PointsLot | None, only: bool) -> None:
    """Take ``amount`` from the account's lots: ``first`` (if given), then oldest expiry first."""
    lots: list[PointsLot] = []
    if first is not None:
        lots.append(first)
    if not only:
        lots += [lot for lot in session.scalars(
            select(PointsLot)
            .where(PointsLot.account_id == account.id, PointsLot.remaining > 0)
            .order_by(PointsLot.expires_on, PointsLot.id)
            .execution_options(populate_existing=True)
        ) if first is None or lot.id != first.id]
    left = amount
    for lot in lots:
        if left == 0:
            break
        take = min(lot.remaining, left)
        if take <= 0:
            continue
        lot.remaining -= take
        session.add(PointsLotUse(entry_id=entry.id, lot_id=lot.id, amount=take))
        left -= take
    if left:
        # The lots always add up to the balance; reaching here means the ledger was tampered with.
        raise RuntimeError(f"points lots of account {account.id} do not cover the balance")


def _month_change(entry: PointsEntry) -> tuple[int, int]:
    """What the entry adds to its month's points earned and spent."""
    if entry.kind in ("earn", "adjust", "reverse") and entry.amount > 0:
        return entry.amount, 0
    if entry.kind in ("penalty", "expire", "adjust", "reverse") and entry.amount < 0:
        return 0, -entry.amount
    if entry.kind == "redeem":
        return 0, -entry.held_change
    return 0, 0


def _summarise(session: Session, account: PointsAccount, entry: PointsEntry, *, closing_balance: int) -> None:
    """Add the entry to the account's month (one INSERT … ON CONFLICT DO UPDATE)."""
    earned, spent = _month_change(entry)
    connection = session.connection()
    connection.execute(_MONTH_UPSERT[connection.dialect.name], {
        "account_id": account.id, "month": entry.month, "earned": earned, "spent": spent,
        "closing_balance": closing_balance})


def _month_upsert(insert_fn: Any) -> Any:
    table = table_of(PointsMonth)
    stmt = insert_fn(table).values(account_id=bindparam("account_id"), month=bindparam("month"),
                                   earned=bindparam("earned"), spent=bindparam("spent"),
                                   closing_balance=bindparam("closing_balance"))
    return _adding_to_month(stmt)


_MONTH_UPSERT = {d: _month_upsert(upsert_insert(d)) for d in DIALECTS}


def reverse(session: Session, *, entry_id: int, reason: str, now: dt.datetime, staff: StaffUser | None = None,
            idempotency_key: str | None = None) -> PointsEntry | None:
    """Undo an earning, adjustment or penalty with an entry pointing at it. Raises NotReversible,
    AlreadyReversed, InsufficientPoints (the points were already spent). Returns None when the
    idempotency key was already posted."""
    original = session.get(PointsEntry, entry_id)
    if original is None:
        raise NotReversible(detail=str(entry_id))
    account = session.get(PointsAccount, original.account_id)
    assert account is not None
    account = lock_account(session, account.reader_id, now)
    if original.kind not in REVERSIBLE_KINDS:
        raise NotReversible(detail=original.kind)
    key = idempotency_key or f"reverse:{original.id}"
    if key_taken(session, key):
        return None
    if session.scalar(select(PointsEntry.id).where(PointsEntry.reverses_id == original.id)) is not None:
        raise AlreadyReversed()
    first = session.scalar(select(PointsLot).where(PointsLot.entry_id == original.id)
                           .execution_options(populate_existing=True))
    return post(session, account, Posting(
        kind="reverse", amount=-original.amount, reason=reason, idempotency_key=key, rule=original.rule,
        source=original.source, branch_id=original.branch_id, staff=staff, reverses=original, consume_first=first,
    ), now)


def expire_due_lots(session: Session, *, now: dt.datetime, limit: int | None = None) -> int:
    """Post an ``expire`` entry for every lot past its expiry date that still has points.
    Idempotent: an expired lot has nothing left, so a second run posts nothing."""
    today = local_date(now)
    stmt = (select(PointsLot.id, PointsLot.account_id)
            .where(PointsLot.expires_on < today, PointsLot.remaining > 0).order_by(PointsLot.id))
    if limit:
        stmt = stmt.limit(limit)
    posted = 0
    for lot_id, account_id in session.execute(stmt).all():
        reader_id = session.scalar(select(PointsAccount.reader_id).where(PointsAccount.id == account_id))
        assert reader_id is not None
        account = lock_account(session, reader_id, now)
        lot = session.scalar(select(PointsLot).where(PointsLot.id == lot_id)
                             .execution_options(populate_existing=True))
        if lot is None or lot.remaining <= 0:
            continue
        uses = session.scalar(select(func.count()).select_from(PointsLotUse).where(PointsLotUse.lot_id == lot.id))
        entry = post(session, account, Posting(
            kind="expire", amount=-lot.remaining, reason=f"积分到期（{lot.expires_on.isoformat()}）",
            idempotency_key=f"expire:lot:{lot.id}:{uses}", consume_lot=lot, source=f"lot:{lot.id}",
        ), now)
        if entry is not None:
            posted += 1
    return posted
