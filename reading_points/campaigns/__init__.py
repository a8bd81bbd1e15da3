"""Reading campaigns (World Book Day ...), events, registrations, waitlists, attendance."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the campaign blueprints, jobs, CLI and demo steps."""
