"""Search: the Whoosh index that follows the database through the search outbox, the OPAC,
the JSON search API, SRU and OAI-PMH."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the OPAC, SRU and OAI-PMH blueprints and the reindex command."""
