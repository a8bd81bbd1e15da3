"""Scheduled entry points of the catalogue; each opens its own session and transaction."""

from __future__ import annotations

import datetime as dt
import os

from flask import Flask

from catalog.importer import mark_interrupted_imports
from library import clock
from library.db import get_database

# An import renews its heartbeat with every committed batch (1,000 records, seconds of work);
# ten minutes without one means its process is gone. LIBRARY_IMPORT_STALE_SECONDS overrides.
IMPORT_STALE_SECONDS = 600.0


def configure(app: Flask) -> None:
    app.config.setdefault("LIBRARY_IMPORT_STALE_SECONDS",
                          float(os.environ.get("LIBRARY_IMPORT_STALE_SECONDS", IMPORT_STALE_SECONDS)))


def import_stale_after(app: Flask) -> dt.timedelta:
    """How long an import may go without a heartbeat before it counts as interrupted."""
    return dt.timedelta(seconds=float(app.config.get("LIBRARY_IMPORT_STALE_SECONDS", IMPORT_STALE_SECONDS)))


def interrupted_imports(app: Flask) -> str:
    """Mark the imports whose process died as interrupted (they can then be resumed)."""
    with get_database(app).transaction() as session:
        n = mark_interrupted_imports(session, now=clock.now(), stale_after=import_stale_after(app))
    return f"{n} interrupted imports marked"
