"""``library ancient-books ...``: parse a reign-year date, verify master files, export and
import the census in Excel."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from library import clock
from library.db import get_database


@click.group("ancient-books")
def group() -> None:
    """Ancient-book census (古籍普查)."""


@group.command("parse-date")
@click.argument("text")
def parse_date(text: str) -> None:
    """Print the Gregorian reading of a reign-year date as JSON (exit 1 when it is not a date)."""
    from ancient_books.reign import ReignDateError, parse_reign_date

    try:
        result = parse_reign_date(text)
    except ReignDateError as exc:
        click.echo(json.dumps({"original": text, "error": exc.message}, ensure_ascii=False))
        sys.exit(1)
    click.echo(json.dumps(result.to_json(), ensure_ascii=False))


@group.command("verify-files")
@with_appcontext
def verify_files_command() -> None:
    """Re-check size and SHA-256 of every registered master file; exit 1 if any is missing or
    changed."""
    from ancient_books.digitization import verify_files

    with get_database().transaction() as session:
        checked, problems = verify_files(session, now=clock.now())
    for p in problems:
        click.echo(f"{p.status.upper():8} {p.path}  {p.detail}")
    click.echo(f"checked {checked} master files: {checked - len(problems)} ok, "
               f"{sum(p.status == 'missing' for p in problems)} missing, "
               f"{sum(p.status == 'changed' for p in problems)} changed")
    if problems:
        sys.exit(1)


@group.command("export")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--layout", type=click.Choice(["registration", "catalogue"]), default="registration", show_default=True)
@click.option("--status", default=None, help="only records with this status (draft/submitted/returned/approved)")
@with_appcontext
def export_command(path: Path, layout: str, status: str | None) -> None:
    """Write the census to an .xlsx file."""
    from ancient_books.exchange import export_catalogue, export_registration
    from ancient_books.models import CensusRecord

    with get_database().transaction() as session:
        stmt = select(CensusRecord).order_by(CensusRecord.census_no)
        if status:
            stmt = stmt.where(CensusRecord.status == status)
        records = list(session.scalars(stmt))
        if layout == "registration":
            data = export_registration(session, records)
        else:
            data = export_catalogue(records, current_app.config["LIBRARY_CENSUS_UNIT_NAME"])
    path.write_bytes(data)
    click.echo(f"wrote {len(records)} records to {path}")


@group.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def import_command(path: Path) -> None:
    """Import a registration-layout .xlsx (all rows or none); prints the row report."""
    from ancient_books import census_prefix_of
    from ancient_books.errors import CensusInvalid, ImportFailed
    from ancient_books.exchange import import_registration

    try:
        with get_database().transaction() as session:
            report = import_registration(session, path.read_bytes(), prefix=census_prefix_of(current_app),
                                         staff=None, now=clock.now(),
                                         holding_unit=current_app.config["LIBRARY_CENSUS_UNIT_NAME"])
    except ImportFailed as exc:
        for row in exc.report.error_rows:
            for fieldname, message in row.errors.items():
                click.echo(f"row {row.row}: {fieldname}: {message}")
        raise click.ClickException(exc.text) from exc
    except CensusInvalid as exc:
        raise click.ClickException(exc.text) from exc
    click.echo(f"imported {len(report.created)} records")
