"""The rules matrix and the branch calendars are kept in each process's memory and checked against
the configuration token that database triggers replace on every write (library.config_cache):
a change made anywhere (another process, plain SQL) is used by the next checkout, and nothing is
read again while nothing changed."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select, text

from circulation.calendar import CALENDARS
from circulation.models import CirculationRule
from circulation.rules import MATRIX
from circulation.services import checkout
from library.models import Branch, ConfigVersion
from tests.circulation.factories import local_noon, make_item
from tests.factories import make_branch, make_reader

SATURDAY = dt.date(2026, 10, 31)


def _token(db: Any) -> int | None:
    with db.transaction() as s:
        return s.scalar(select(ConfigVersion.version).where(ConfigVersion.name == "circulation"))


def _sql(db: Any, statement: str, **params: Any) -> None:
    """Plain SQL on a connection of its own, as another process or a database tool would."""
    with db.engine.begin() as conn:
        conn.execute(text(statement), params)


def test_every_write_to_rules_or_calendars_replaces_the_token(db: Any) -> None:
    with db.transaction() as s:
        branch_id = make_branch(s).id
    seen = {_token(db)}
    for statement in (
        "INSERT INTO closed_days (branch_id, day, reason) VALUES (:b, '2026-12-25', 'test')",
        "UPDATE closed_days SET reason = 'changed' WHERE branch_id = :b",
        "DELETE FROM closed_days WHERE branch_id = :b",
        "UPDATE opening_hours SET weekday = weekday WHERE branch_id = :b",
        "DELETE FROM opening_hours WHERE branch_id = :b AND weekday = 6",
        "UPDATE circulation_rules SET note = 'changed' WHERE branch_id IS NULL",
        "DELETE FROM circulation_rules WHERE item_type_code = 'av'",
    ):
        _sql(db, statement, b=branch_id)
        token = _token(db)
        assert token is not None and token not in seen, statement
        seen.add(token)
    # a statement that touches no configuration leaves it alone
    _sql(db, "UPDATE branches SET phone = '123' WHERE id = :b", b=branch_id)
    assert _token(db) in seen


def _lend(db: Any, branch_code: str, card: str, now: dt.datetime) -> dt.date:
    with db.transaction() as s:
        branch = s.scalar(select(Branch).where(Branch.code == branch_code))  # calendar relations not loaded
        item = make_item(s, branch=branch)
        return checkout(s, item_barcode=item.barcode, card_number=card, branch=branch, now=now).due_on


def test_checkout_uses_a_change_made_elsewhere_and_reads_nothing_again_otherwise(db: Any) -> None:
    with db.transaction() as s:
        branch = make_branch(s)
        code, card = branch.code, make_reader(s, home_branch=branch).card_number
        branch_id = branch.id
        default_days = s.scalar(select(CirculationRule.loan_days).where(CirculationRule.scope_key == "*|*|*"))
    now = local_noon(SATURDAY)
    assert _lend(db, code, card, now) == SATURDAY + dt.timedelta(days=default_days)
    loads = (MATRIX.loads, CALENDARS.loads)
    assert _lend(db, code, card, now) == SATURDAY + dt.timedelta(days=default_days)
    assert (MATRIX.loads, CALENDARS.loads) == loads  # served from memory: nothing changed

    _sql(db, "UPDATE circulation_rules SET loan_days = 10 WHERE scope_key = '*|*|*'")
    assert _lend(db, code, card, now) == SATURDAY + dt.timedelta(days=10)
    assert MATRIX.loads == loads[0] + 1

    # closed on the new due date (a Tuesday): the loan is due the next day
    _sql(db, "INSERT INTO closed_days (branch_id, day, reason) VALUES (:b, :d, 'test')", b=branch_id,
         d=SATURDAY + dt.timedelta(days=10))
    assert _lend(db, code, card, now) == SATURDAY + dt.timedelta(days=11)


def test_a_transaction_sees_its_own_uncommitted_rule_and_others_do_not(db: Any) -> None:
    with db.transaction() as s:
        branch = make_branch(s)
        code, card = branch.code, make_reader(s, home_branch=branch).card_number
    now = local_noon(SATURDAY)
    before = _lend(db, code, card, now)
    s = db.Session()
    try:
        s.execute(text("UPDATE circulation_rules SET loan_days = 3 WHERE scope_key = '*|*|*'"))
        branch = s.scalar(select(Branch).where(Branch.code == code))
        item = make_item(s, branch=branch)
        loan = checkout(s, item_barcode=item.barcode, card_number=card, branch=branch, now=now)
        assert loan.due_on == SATURDAY + dt.timedelta(days=3)
    finally:
        s.rollback()
        s.close()
    assert _lend(db, code, card, now) == before
