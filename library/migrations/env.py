"""Alembic environment: the metadata of every package, one connection, batch mode on SQLite."""

from __future__ import annotations

from alembic import context

from library.db import Base, make_engine
from library.migrate import import_all_models
from library.migrate import include_object as ours

import_all_models()

config = context.config
target_metadata = Base.metadata


def run_migrations_offline() -> None:
    context.configure(
        url=config.attributes.get("database_url") or config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = str(config.attributes.get("database_url") or config.get_main_option("sqlalchemy.url"))
    engine = make_engine(url)
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


def include_object(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    custom = config.attributes.get("include_object")
    if custom is not None and not custom(obj, name, type_, reflected, compare_to):
        return False
    return ours(obj, name, type_, reflected, compare_to)


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
