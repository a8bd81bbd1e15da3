"""The catalogue: bibliographic records (MARC21, CNMARC/UNIMARC), copies at branches, MARC
import/export and editing (``catalog.views``), and search: the OPAC, SRU and OAI-PMH
(``catalog.search``)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from catalog import search, views
    from catalog.seeds import seed_item_types
    from library.registry import SeedStep, register_seed

    register_seed(app, SeedStep("item_types", 20, seed_item_types))
    views.init_app(app)
    search.init_app(app)
