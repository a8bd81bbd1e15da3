"""``library catalog import`` and ``library catalog export``."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select
from tqdm import tqdm

from catalog.exporter import export_records
from catalog.importer import MATCH_MODES, ImportSummary, import_file, report_rows, write_report_csv
from library.db import get_database
from library.models import Branch

catalog_cli = AppGroup("catalog", help="Catalogue: import and export MARC records.")


@catalog_cli.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--branch", "branch_code", default=None, help="Branch code for copies from holdings fields "
              "(default: the central library).")
@click.option("--match", type=click.Choice(MATCH_MODES), default="isbn", show_default=True,
              help="Update a record that has the same ISBN or control number (001/003) instead of adding one.")
@click.option("--report", "report_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write a CSV line for every record not simply added (bad, authority, updated, repaired).")
@click.option("--batch-size", default=1000, show_default=True, help="Records per committed batch.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def import_command(files: tuple[Path, ...], branch_code: str | None, match: str, report_path: Path | None,
                   batch_size: int, quiet: bool) -> None:
    """Import MARC files (ISO 2709 or MARCXML; MARC21 or UNIMARC/CNMARC)."""
    db = get_database(current_app)
    branch_id = None
    if branch_code:
        with db.transaction() as session:
            branch_id = session.scalar(select(Branch.id).where(Branch.code == branch_code))
        if branch_id is None:
            raise click.ClickException(f"no branch with code {branch_code!r}")
    total = ImportSummary()
    for path in files:
        size = path.stat().st_size
        with tqdm(total=size, unit="B", unit_scale=True, desc=path.name, disable=quiet, file=sys.stderr) as bar:
            def progress(done: int, bar: tqdm = bar) -> None:  # type: ignore[type-arg]
                bar.update(max(0, done - bar.n))

            summary = import_file(db, path, match=match, branch_id=branch_id, batch_size=batch_size,
                                  progress=progress, tune_gc=True)
        click.echo(f"{path}:")
        for line in summary.lines():
            click.echo(f"  {line}")
        total.add(summary)
    if len(files) > 1:
        click.echo("total:")
        for line in total.lines():
            click.echo(f"  {line}")
    from catalog import search

    hook = getattr(search, "after_commit", None)
    if hook is not None and total.imported + total.updated:
        hook(current_app._get_current_object())  # type: ignore[attr-defined]
    if report_path is not None:
        with db.transaction() as session:
            rows = report_rows(session, total.batch_ids)
        with report_path.open("w", newline="", encoding="utf-8-sig") as fh:
            write_report_csv(rows, fh)
        click.echo(f"report: {report_path} ({len(rows)} lines)")


@catalog_cli.command("export")
@click.option("--format", "fmt", type=click.Choice(["iso2709", "marcxml"]), default="iso2709", show_default=True)
@click.option("--flavour", type=click.Choice(["all", "marc21", "unimarc"]), default="all", show_default=True,
              help="Only records of this flavour.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
def export_command(fmt: str, flavour: str, output: Path) -> None:
    """Export every (not deleted) record."""
    db = get_database(current_app)
    with output.open("wb") as fh:
        n = export_records(db, fh, fmt=fmt, flavour=None if flavour == "all" else flavour,
                           on_skip=lambda rid, why: click.echo(f"skipped record {rid}: {why}", err=True))
    click.echo(f"exported {n} records to {output}")
