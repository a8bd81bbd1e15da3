"""The foundation: migrations, app factory, login, roles, errors, language."""

from __future__ import annotations

import datetime as dt

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from flask.testing import FlaskClient

from library import migrate
from library.db import Base, get_database
from library.migrate import include_object
from tests import factories


def test_single_migration_head() -> None:
    assert len(migrate.heads()) == 1, migrate.heads()


def test_migrated_schema_matches_models(app: Flask) -> None:
    db = get_database(app)
    with db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True, "include_object": include_object})
        diff = compare_metadata(ctx, Base.metadata)
    assert diff == []


def test_home_page_is_chinese_by_default(client: FlaskClient) -> None:
    html = client.get("/").get_data(as_text=True)
    assert "资阳区图书馆" in html
    assert 'lang="zh-Hans"' in html


def test_english_switch_translates_the_404_page(client: FlaskClient) -> None:
    zh = client.get("/no-such-page")
    assert zh.status_code == 404
    assert "找不到您要的页面" in zh.get_data(as_text=True)
    client.get("/lang/en")
    en = client.get("/no-such-page")
    assert en.status_code == 404
    assert "Page not found" in en.get_data(as_text=True)


def test_staff_login_and_role_gate(app: Flask, client: FlaskClient, staff_login) -> None:
    staff_login("circulation", branch_code="ZY")
    assert client.get("/staff/").status_code == 200
    assert client.get("/admin/").status_code == 403


def test_wrong_pin_repeated_is_rate_limited(app: Flask, client: FlaskClient) -> None:
    with get_database(app).transaction() as session:
        reader = factories.make_reader(session)
    statuses = [client.post("/login", data={"card_number": reader.card_number, "pin": "000000"}).status_code
                for _ in range(6)]
    assert statuses[:5] == [401] * 5
    assert statuses[5] == 429
    # Even the right PIN is refused while the limit holds.
    right = client.post("/login", data={"card_number": reader.card_number, "pin": factories.READER_PIN})
    assert right.status_code == 429


def test_utc_column_rejects_naive_datetimes(app: Flask) -> None:
    import pytest
    from sqlalchemy.exc import StatementError

    with get_database(app).Session() as session:
        branch = factories.make_branch(session)
        reader = factories.make_reader(session, home_branch=branch)
        reader.created_at = dt.datetime(2026, 1, 1)  # naive
        with pytest.raises(StatementError):
            session.flush()
