"""``library points verify`` catches a tampered ledger."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import text

from library.db import get_database
from reading_points.points import ledger, services
from tests import factories
from tests.points.factories import NOW


def _some_ledger(app: Flask) -> tuple[int, int]:
    with get_database(app).transaction() as s:
        rid = factories.make_reader(s).id
        e = services.earn(s, reader_id=rid, kind="volunteer_hour", idempotency_key="v1", reason="志愿", now=NOW)
        services.adjust(s, reader_id=rid, points=-4, reason="更正", now=NOW, idempotency_key="a1")
        assert e is not None
        account = ledger.account_for(s, rid)
        assert account is not None
        return account.id, e.id


def test_verify_passes_on_a_sound_ledger(app: Flask, runner: FlaskCliRunner) -> None:
    _some_ledger(app)
    result = runner.invoke(args=["points", "verify"])
    assert result.exit_code == 0, result.output
    assert "ok" in result.output


def test_verify_catches_a_tampered_balance(app: Flask, runner: FlaskCliRunner) -> None:
    account_id, _ = _some_ledger(app)
    with get_database(app).engine.begin() as conn:
        conn.execute(text("UPDATE points_accounts SET balance = balance + 50 WHERE id = :i"), {"i": account_id})
    result = runner.invoke(args=["points", "verify"])
    assert result.exit_code == 1
    assert f"account {account_id}" in result.output and "sum of entries" in result.output


def test_verify_catches_a_tampered_lot(app: Flask, runner: FlaskCliRunner) -> None:
    _, entry_id = _some_ledger(app)
    with get_database(app).engine.begin() as conn:
        conn.execute(text("UPDATE points_lots SET remaining = amount WHERE entry_id = :e"), {"e": entry_id})
    result = runner.invoke(args=["points", "verify"])
    assert result.exit_code == 1
    assert "remaining" in result.output


def test_verify_catches_a_forged_reversal(app: Flask, runner: FlaskCliRunner) -> None:
    """A reversal that does not mirror what it reverses (inserted behind the services' back)."""
    account_id, entry_id = _some_ledger(app)
    with get_database(app).engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO points_entries (account_id, kind, rule, amount, held_change, balance_after, reason, source,"
            " idempotency_key, reverses_id, created_at, day, month)"
            " VALUES (:a, 'reverse', '', -1, 0, 0, 'forged', '', 'forged', :e, :t, :d, '2026-06')"),
            {"a": account_id, "e": entry_id, "t": NOW.replace(tzinfo=None) if conn.dialect.name == "sqlite" else NOW,
             "d": NOW.date()})
    result = runner.invoke(args=["points", "verify"])
    assert result.exit_code == 1
    assert "does not mirror" in result.output
