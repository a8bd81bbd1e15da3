"""Scheduled entry points of campaigns and events. Each opens its own transaction and is
idempotent, so a retry or a second run changes nothing."""

from __future__ import annotations

from flask import Flask

from library import clock
from library.db import get_database
from reading_points.campaigns import events, services


def campaign_states(app: Flask) -> str:
    """Open campaigns whose first day has come and close those whose last day has passed."""
    with get_database(app).transaction() as session:
        changed = services.sync_campaign_states(session, clock.now())
    return f"opened {len(changed['opened'])}, closed {len(changed['closed'])}"


def event_reminders(app: Flask) -> str:
    """Remind registered readers of sessions within the lead time (each once)."""
    with get_database(app).transaction() as session:
        sent = events.send_reminders(session, clock.now())
    return f"reminders queued {sent}"


def event_no_shows(app: Flask) -> str:
    """Mark no-shows of ended sessions and apply the consequence (each session once)."""
    with get_database(app).transaction() as session:
        n = events.process_no_shows(session, clock.now())
    return f"no-shows {n}"
