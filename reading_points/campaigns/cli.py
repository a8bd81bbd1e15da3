"""``library campaigns ...``: draft a year's calendar, open/close campaigns, run the event jobs."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from library import clock
from library.db import get_database
from reading_points.campaigns import jobs, services


@click.group("campaigns")
def campaigns_group() -> None:
    """Reading campaigns and events."""


@campaigns_group.command("plan")
@click.argument("year", type=click.IntRange(2000, 2100))
@with_appcontext
def plan(year: int) -> None:
    """Draft YEAR's campaigns from the configured defaults (organisers adjust and publish)."""
    with get_database().transaction() as session:
        created = services.plan_year(session, year, now=clock.now())
        lines = [f"  {c.kind:<15} {c.start_date} – {c.end_date}  x{c.multiplier}  {c.name}" for c in created]
    if not lines:
        click.echo(f"{year}: every default campaign already exists; nothing drafted")
        return
    click.echo(f"{year}: drafted {len(lines)} campaigns (status draft)")
    for line in lines:
        click.echo(line)


@campaigns_group.command("sync")
@with_appcontext
def sync() -> None:
    """Run the campaign, reminder and no-show jobs once now."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    for fn in (jobs.campaign_states, jobs.event_reminders, jobs.event_no_shows):
        click.echo(f"{fn.__name__}: {fn(app)}")
