"""The ancient-book census (古籍普查): census records, grading, damage, reign-year dates, the
digitization workflow and IIIF publication."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the census blueprints, CLI commands and demo steps."""
