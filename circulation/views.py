"""Counter pages, reader self-service and administration of circulation."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the circulation blueprints, CLI commands, jobs and demo steps."""
