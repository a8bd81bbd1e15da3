"""Fixtures: every test gets a fresh database (SQLite by default; PostgreSQL when
LIBRARY_TEST_DATABASE_URL is set), built once per run by the real Alembic migrations and seeds.

- SQLite: the migrated template file is copied for each test.
- PostgreSQL: one fresh database per run (``<name>_<random>``, dropped at the end); after each
  test every table is truncated and the seeds are applied again.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from library import clock, migrate
from library.app import create_app
from library.db import Base, get_database
from library.registry import run_seeds

migrate.import_all_models()

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"
PG_URL = os.environ.get("LIBRARY_TEST_DATABASE_URL", "").strip()


def shared_file(*parts: str) -> Path:
    """A file of ../shared/data, or skip the test saying why."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared test data {path} is not present (../shared/data is absent on this machine)")
    return path


def _app_for(url: str, data_dir: Path, **extra: Any) -> Flask:
    config = {
        "TESTING": True,
        "LIBRARY_DATABASE_URL": url,
        "LIBRARY_DATA_DIR": str(data_dir),
        "SECRET_KEY": "test-secret-key",
        "WTF_CSRF_ENABLED": False,
        "SERVER_NAME": "localhost",
    }
    config.update(extra)
    return create_app(config)


@pytest.fixture(scope="session")
def database_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Build the schema once per run with the migrations and seeds."""
    if PG_URL:
        base = make_url(PG_URL)
        name = f"{base.database or 'test'}_{uuid.uuid4().hex[:10]}"
        admin = create_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = base.set(database=name).render_as_string(hide_password=False)
        migrate.upgrade(url)
        app = _app_for(url, tmp_path_factory.mktemp("pg-seed"))
        with get_database(app).transaction() as session:
            run_seeds(app, session)
        get_database(app).dispose()
        yield {"kind": "postgresql", "url": url}
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    else:
        path = tmp_path_factory.mktemp("template") / "template.sqlite3"
        url = f"sqlite:///{path}"
        migrate.upgrade(url)
        app = _app_for(url, path.parent)
        with get_database(app).transaction() as session:
            run_seeds(app, session)
        get_database(app).dispose()
        yield {"kind": "sqlite", "path": str(path)}


@pytest.fixture
def database_url(database_template: dict[str, str], tmp_path: Path) -> str:
    if database_template["kind"] == "sqlite":
        target = tmp_path / "library.sqlite3"
        shutil.copyfile(database_template["path"], target)
        return f"sqlite:///{target}"
    return database_template["url"]


def _empty_all_tables(app: Flask) -> None:
    """Empty every table a test wrote to, then re-apply the seeds.

    DELETE on the few non-empty tables, children first, instead of one TRUNCATE of every table:
    TRUNCATE gives each of ~60 tables a new file and took seconds per test; this takes
    milliseconds."""
    db = get_database(app)
    with db.engine.begin() as conn:
        # Tests run as a superuser: skip triggers (the append-only ledger refuses DELETE, which is
        # right in production and in the way here) and foreign-key checks while emptying.
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        existing = set(conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).scalars())
        ours = [t.name for t in Base.metadata.sorted_tables if t.name in existing]
        foreign = sorted(t for t in existing if t not in ours and t != "alembic_version")
        candidates = foreign + list(reversed(ours))
        probe = " UNION ALL ".join(f"SELECT '{n}' WHERE EXISTS (SELECT 1 FROM \"{n}\")" for n in candidates)
        non_empty = set(conn.execute(text(probe)).scalars()) if candidates else set()
        for name in candidates:
            if name in non_empty:
                conn.execute(text(f'DELETE FROM "{name}"'))
        # Ids start at 1 again, as in a fresh database (setval is cheap, unlike ALTER SEQUENCE or
        # TRUNCATE ... RESTART IDENTITY, which give each relation a new file).
        conn.execute(text("SELECT setval(c.oid, 1, false) FROM pg_class c "
                          "WHERE c.relkind = 'S' AND c.relnamespace = 'public'::regnamespace"))
    with db.transaction() as session:
        run_seeds(app, session)


@pytest.fixture
def app(database_url: str, database_template: dict[str, str], tmp_path: Path) -> Iterator[Flask]:
    application = _app_for(database_url, tmp_path / "data")
    clock.set_now(None)
    yield application
    clock.set_now(None)
    if database_template["kind"] == "postgresql":
        _empty_all_tables(application)
    get_database(application).dispose()


@pytest.fixture
def make_app(database_url: str, tmp_path: Path) -> Iterator[Callable[..., Flask]]:
    """Another application on the same database (a second web node or process). Its engine is
    disposed at the end of the test (an open PostgreSQL connection left to the garbage collector
    raises a ResourceWarning, an error, in whichever later test it happens)."""
    apps: list[Flask] = []

    def factory(**extra: Any) -> Flask:
        a = _app_for(database_url, tmp_path / f"data{len(apps) + 1}", **extra)
        apps.append(a)
        return a

    yield factory
    for a in apps:
        get_database(a).dispose()


@pytest.fixture
def db(app: Flask) -> Any:
    return get_database(app)


@pytest.fixture
def db_session(app: Flask) -> Iterator[Session]:
    """A writer session on the test database; the test commits what must be visible to others."""
    session = get_database(app).Session()
    try:
        yield session
    finally:
        session.rollback()
        session.close()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


@pytest.fixture
def staff_login(app: Flask, client: FlaskClient) -> Callable[..., Any]:
    """``staff_login("circulation", branch_code="ZY")`` creates a staff user with that role
    and logs the test client in; returns the user."""
    from tests import factories

    def login(role: str = "admin", branch_code: str | None = None, username: str | None = None) -> Any:
        with get_database(app).transaction() as session:
            user = factories.make_staff(session, role=role, branch_code=branch_code, username=username)
            username_, password = user.username, factories.STAFF_PASSWORD
        response = client.post("/staff/login", data={"username": username_, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)
        return user

    return login


@pytest.fixture
def reader_login(app: Flask, client: FlaskClient) -> Callable[..., Any]:
    """``reader_login()`` creates a reader and logs the test client in; returns the reader."""
    from tests import factories

    def login(**kwargs: Any) -> Any:
        with get_database(app).transaction() as session:
            reader = factories.make_reader(session, **kwargs)
        response = client.post("/login", data={"card_number": reader.card_number, "pin": factories.READER_PIN})
        assert response.status_code == 302, response.get_data(as_text=True)
        return reader

    return login
