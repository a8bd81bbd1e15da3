"""Staff pages of the catalogue (records, MARC editor, copies, import/export)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the cataloguing blueprints, CLI commands and demo steps."""
    from catalog.cli import catalog_cli

    app.cli.add_command(catalog_cli)
