"""``library catalog reindex``: rebuild this node's search index from the database."""

from __future__ import annotations

import os

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from tqdm import tqdm

from catalog.search import service


@click.command("reindex")
@click.option("--procs", default=min(2, os.cpu_count() or 1), show_default=True, type=int,
              help="indexing processes (Whoosh multiprocessing writer)")
@with_appcontext
def reindex_command(procs: int) -> None:
    """Rebuild the search index from the database (searches keep working meanwhile)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    total = service.live_record_count(app)
    with tqdm(total=total, unit="rec", desc="reindex", disable=None) as bar:
        n = service.reindex(app, procs=procs, progress=bar.update)
    click.echo(f"indexed {n} records into {app.config['LIBRARY_INDEX_DIR']}")


@click.command("search-catch-up")
@with_appcontext
def catch_up_command() -> None:
    """Apply pending search-outbox rows to this node's index."""
    n = service.apply_outbox(current_app._get_current_object())  # type: ignore[attr-defined]
    click.echo(f"applied {n} outbox rows")


def init_app(app: Flask) -> None:
    """Add ``reindex`` to the ``library catalog`` group (created here if the catalogue's own CLI
    has not created it yet; the catalogue adds its commands to the same group)."""
    group = app.cli.commands.get("catalog")
    if not isinstance(group, click.Group):
        group = click.Group("catalog", help="Catalogue: records, copies, import/export, search index.")
        app.cli.add_command(group)
    group.add_command(reindex_command)
    group.add_command(catch_up_command)
