"""Alembic, driven from code: one migration chain for every package, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(database_url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    cfg.attributes["database_url"] = database_url
    return cfg


def upgrade(database_url: str, revision: str = "heads") -> None:
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)


def heads(database_url: str = "sqlite://") -> list[str]:
    return list(ScriptDirectory.from_config(alembic_config(database_url)).get_heads())


# Tables in the database that are not ours: APScheduler's job store creates its own.
FOREIGN_TABLES = {"apscheduler_jobs"}


def include_object(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    """For autogenerate and the schema test: leave tables that are not ours alone."""
    return not (type_ == "table" and name in FOREIGN_TABLES)


def import_all_models() -> None:
    """Import every ``models`` module of the core and the domain packages (also in
    sub-packages such as ``circulation.sip2.models``) so that one metadata knows every table."""
    import importlib
    import pkgutil

    from library.app import DOMAIN_PACKAGES

    importlib.import_module("library.models")
    for name in DOMAIN_PACKAGES:
        package = importlib.import_module(name)
        for info in pkgutil.walk_packages(package.__path__, prefix=f"{name}."):
            if info.name.endswith(".models"):
                importlib.import_module(info.name)
