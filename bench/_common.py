"""What every benchmark sets up the same way: a scratch database and the line describing the
machine the figures were measured on.

    from bench._common import machine_line, scratch_database

    with scratch_database(args.database_url, label="points") as url:
        app = create_app({"LIBRARY_DATABASE_URL": url, ...})
        print(machine_line(get_database(app).engine))
        ...

``scratch_database`` yields the URL of a fresh database, migrated with the real Alembic chain
(``library.migrate.upgrade``; ``migrate=False`` leaves it empty, e.g. for pgbench):

- no URL: a new SQLite file ``bench.sqlite3`` in ``directory`` (default: a temporary directory,
  removed at the end);
- a PostgreSQL URL: a database ``<name>_bench_<label>_<random>`` created next to the one named,
  on the same server, and dropped ``WITH (FORCE)`` at the end, also when the benchmark fails or
  is interrupted (connections a worker left open do not keep it alive);
- any other URL (an existing SQLite file): used as it is, and kept.
"""

from __future__ import annotations

import os
import platform
import shutil
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Engine, create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from library import migrate as migrations  # noqa: E402

SHARED_MACHINE = "2 cores shared with other engineers: figures are indicative"


@contextmanager
def scratch_database(database_url: str = "", *, label: str = "bench", migrate: bool = True,
                     directory: Path | None = None) -> Iterator[str]:
    """A fresh (migrated) database for one benchmark run; see the module's docstring."""
    if database_url.startswith("postgresql"):
        base = make_url(database_url)
        name = f"{base.database or 'postgres'}_bench_{label}_{uuid.uuid4().hex[:8]}"
        admin = create_engine(base, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            try:
                url = base.set(database=name).render_as_string(hide_password=False)
                if migrate:
                    migrations.upgrade(url)
                yield url
            finally:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        finally:
            admin.dispose()
        return
    if database_url:
        if migrate:
            migrations.upgrade(database_url)
        yield database_url
        return
    own = directory is None
    folder = Path(tempfile.mkdtemp(prefix=f"bench-{label}-")) if directory is None else directory
    try:
        url = f"sqlite:///{folder / 'bench.sqlite3'}"
        if migrate:
            migrations.upgrade(url)
        yield url
    finally:
        if own:
            shutil.rmtree(folder, ignore_errors=True)


def load() -> float:
    """The one-minute load average (other engineers' builds and tests count in it)."""
    return os.getloadavg()[0]


def server_version(engine: Engine) -> str:
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            return f"sqlite {conn.exec_driver_sql('select sqlite_version()').scalar()}"
        return f"{engine.dialect.name} {conn.exec_driver_sql('show server_version').scalar()}"


def machine_line(engine: Engine | None = None) -> str:
    """CPU count, Python version, the database and its server version, load average now."""
    parts = [f"{os.cpu_count()} CPUs", f"Python {platform.python_version()}"]
    if engine is not None:
        parts.append(server_version(engine))
    return f"machine: {', '.join(parts)}, load average {load():.2f} ({SHARED_MACHINE})"
