"""Reader points (an append-only incentive ledger, rewards; ``reading_points.points``) and
reading campaigns with events (``reading_points.campaigns``)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from reading_points import campaigns, points

    points.init_app(app)
    campaigns.init_app(app)
