"""The points ledger: accounts, append-only entries, lots and expiry, rewards and redemptions."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the points blueprints, signal handlers, jobs, CLI and demo steps."""
