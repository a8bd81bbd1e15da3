"""``library points ...``: verify the ledger, run the jobs by hand."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from library.db import get_database


@click.group("points")
def points_group() -> None:
    """Reader points ledger."""


@points_group.command("verify")
@with_appcontext
def verify_command() -> None:
    """Check every balance, lot and reversal against the entries; exit 1 if anything is wrong."""
    from reading_points.points.verify import verify_ledger

    db = get_database()
    with db.ReadSession() as session:
        problems = verify_ledger(session)
    for line in problems:
        click.echo(line)
    if problems:
        click.echo(f"points ledger: {len(problems)} problem(s)", err=True)
        raise SystemExit(1)
    click.echo("points ledger: ok")


@points_group.command("expire")
@with_appcontext
def expire_command() -> None:
    """Expire lots past their expiry date now."""
    from reading_points.points.jobs import expire_points

    click.echo(f"expired lots: {expire_points(current_app._get_current_object())}")  # type: ignore[attr-defined]


@points_group.command("release-stale")
@with_appcontext
def release_command() -> None:
    """Release redemptions not collected in time."""
    from reading_points.points.jobs import release_stale_redemptions

    click.echo(f"released: {release_stale_redemptions(current_app._get_current_object())}")  # type: ignore[attr-defined]
