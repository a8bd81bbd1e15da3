"""Scheduled jobs of the points scheme. Each opens its own transaction and is idempotent."""

from __future__ import annotations

from flask import Flask

from library import clock
from library.db import get_database
from reading_points.points import ledger, rewards


def expire_points(app: Flask) -> int:
    """Post ``expire`` entries for every lot past its expiry date; returns how many."""
    with get_database(app).transaction() as session:
        return ledger.expire_due_lots(session, now=clock.now())


def release_stale_redemptions(app: Flask) -> int:
    """Give back points and stock of redemptions not collected in time; returns how many."""
    with get_database(app).transaction() as session:
        return rewards.release_stale_redemptions(session, now=clock.now())
