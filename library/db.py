"""Database access: the declarative base, engine set-up for SQLite and PostgreSQL, sessions.

The caller owns the transaction (one per request, CLI command or job run); services only
``flush()``. On SQLite every write transaction starts with ``BEGIN IMMEDIATE`` so two writers
never interleave (the second waits for the busy timeout instead of failing half-way with
SQLITE_BUSY_SNAPSHOT); read-only sessions begin deferred so readers do not queue behind writers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app, g
from sqlalchemy import DateTime, Engine, MetaData, Table, bindparam, create_engine, event, insert, inspect
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Session, make_transient_to_detached, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base for every model of every package (one metadata, one migration chain)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def table_of(model: type[Base]) -> Table:
    """The table of a mapped class, typed as a Table: for plain INSERT/UPDATE statements on hot
    paths that do not need the unit of work. Run them on the session's connection
    (``session.connection().execute``): through ``Session.execute`` a Core statement costs about
    0.12 ms more CPU, for nothing (measured with bench/circulation.py)."""
    table = model.__table__
    assert isinstance(table, Table)
    return table


DIALECTS = ("postgresql", "sqlite")  # the supported databases


def upsert_insert(dialect: str) -> Any:
    """The INSERT construct of ``dialect`` that knows ON CONFLICT (PostgreSQL's or SQLite's); to
    build a statement per dialect once: ``{d: build(upsert_insert(d)) for d in DIALECTS}``."""
    return pg_insert if dialect == "postgresql" else sqlite_insert


_INSERTS: dict[tuple[type, str], Any] = {}


@dataclass(frozen=True)
class AlsoWrite:
    """Writes to run in the same statement as an ``insert_new`` (PostgreSQL: data-modifying
    CTEs). ``key`` names the combination (the statement is built once per class and key);
    ``ctes`` must always be the same for a key; ``params`` are theirs and must not be named
    ``v_<column>`` nor as a column of the inserted table."""

    key: str
    ctes: tuple[Any, ...]
    params: dict[str, Any]


def insert_new(session: Session, obj: Base, *, also: AlsoWrite | None = None) -> None:
    """INSERT a new ORM object with one plain statement (RETURNING its id) and make it persistent
    in ``session`` without reading it back: cheaper than the unit of work on hot paths. Every
    column must be set on ``obj`` or be nullable (an unset attribute is written as NULL, not as
    the column's default). ``also``: more writes in the same statement (PostgreSQL only)."""
    cls = type(obj)
    mapper = inspect(cls)
    table = table_of(cls)
    (pk,) = mapper.primary_key
    stmt = _INSERTS.get((cls, also.key if also else ""))
    if stmt is None:
        stmt = insert(table).values(
            {c.key: bindparam(f"v_{c.key}") for c in table.columns if c is not pk}).returning(pk)
        if also is not None:
            stmt = stmt.add_cte(*also.ctes)
        _INSERTS[(cls, also.key if also else "")] = stmt
    state = inspect(obj)
    values = {f"v_{c.key}": state.dict.get(mapper.get_property_by_column(c).key) for c in table.columns if c is not pk}
    connection = session.connection()
    if also is not None:
        if connection.dialect.name != "postgresql":
            raise ValueError("writes joined to an INSERT need PostgreSQL")
        values.update(also.params)
    setattr(obj, mapper.get_property_by_column(pk).key, connection.scalar(stmt, values))
    adopt_inserted(session, obj)


def adopt_inserted(session: Session, obj: Base) -> None:
    """Make ``obj``, just written by a plain INSERT with every column and its id set on it, a
    persistent object of ``session`` without reading it back."""
    make_transient_to_detached(obj)
    session.add(obj)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timestamp stored in UTC and always returned timezone-aware (UTC).

    PostgreSQL keeps ``timestamptz``; SQLite has no time zones, so the value is stored as naive
    UTC and given its zone back on the way out. Naive datetimes are refused: they are the bug
    this type exists to prevent.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; use library.clock.now()")
        value = value.astimezone(dt.UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, decide when transactions begin.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        if conn.get_execution_options().get("library_readonly"):
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str, *, echo: bool = False, busy_timeout_ms: int = 30000) -> Engine:
    """Create the engine for ``url`` with the project's settings for its dialect."""
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            echo=echo,
            connect_args={"check_same_thread": False, "timeout": busy_timeout_ms / 1000},
            # Pooled connections: with WAL, closing the last connection checkpoints the log,
            # which cost ~12 ms on every transaction when each one opened its own connection.
            pool_size=10,
            max_overflow=20,
        )
        _configure_sqlite(engine, busy_timeout_ms)
        return engine
    # No pre-ping: it costs a round trip per transaction on the checkout path; a connection
    # broken by a server restart is invalidated on first use and recycled connections are fresh.
    return create_engine(url, echo=echo, pool_size=10, max_overflow=20, pool_recycle=1800)


class Database:
    """The engine and session factories of one application (or one CLI/job process)."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.engine = make_engine(url, echo=echo)
        self.Session = sessionmaker(self.engine, expire_on_commit=False)
        self.ReadSession = sessionmaker(
            self.engine.execution_options(library_readonly=True), expire_on_commit=False
        )

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work: commit on success, roll back on any error."""
        with self.Session() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()


def get_database(app: Flask | None = None) -> Database:
    app = app or current_app
    db: Database = app.extensions["library.db"]
    return db


def db_session() -> Session:
    """The session of the current request. GET/HEAD requests get a deferred (read) session.

    The view commits; whatever is not committed is rolled back at teardown.
    """
    if "db_session" not in g:
        from flask import has_request_context, request

        db = get_database()
        readonly = has_request_context() and request.method in ("GET", "HEAD", "OPTIONS")
        g.db_session = db.ReadSession() if readonly else db.Session()
    session: Session = g.db_session
    return session


def init_app(app: Flask, url: str) -> None:
    app.extensions["library.db"] = Database(url, echo=bool(app.config.get("SQLALCHEMY_ECHO")))

    @app.teardown_appcontext
    def _close_session(_exc: BaseException | None) -> None:
        session: Session | None = g.pop("db_session", None)
        if session is not None:
            session.rollback()
            session.close()
