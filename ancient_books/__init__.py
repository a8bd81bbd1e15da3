"""The ancient-book census (古籍普查): census records, grading, damage, reign-year dates, the
digitization workflow and IIIF publication."""

from __future__ import annotations

import os

from flask import Flask
from flask_babel import lazy_gettext as _l

ROLES = ("ancient_books", "ancient_books_reviewer")


def census_prefix_of(app: Flask) -> str:
    """``PPPPPP-UUUU`` of this library (LIBRARY_CENSUS_PROVINCE_CODE, LIBRARY_CENSUS_UNIT_CODE)."""
    from ancient_books.services import census_prefix

    return census_prefix(app.config["LIBRARY_CENSUS_PROVINCE_CODE"], app.config["LIBRARY_CENSUS_UNIT_CODE"])


def init_app(app: Flask) -> None:
    """Register the census blueprints, CLI commands, seeds, navigation and demo step."""
    from ancient_books.cli import group as cli_group
    from ancient_books.demo import build_census
    from ancient_books.seeds import seed_census_terms
    from library.registry import (
        DemoStep,
        NavItem,
        SeedStep,
        register_admin_link,
        register_demo_step,
        register_nav,
        register_seed,
    )

    # Province 430000 is Hunan; the unit code is the one the provincial centre assigned.
    app.config.setdefault("LIBRARY_CENSUS_PROVINCE_CODE", os.environ.get("LIBRARY_CENSUS_PROVINCE_CODE", "430000"))
    app.config.setdefault("LIBRARY_CENSUS_UNIT_CODE", os.environ.get("LIBRARY_CENSUS_UNIT_CODE", "0902"))
    app.config.setdefault("LIBRARY_CENSUS_UNIT_NAME", os.environ.get("LIBRARY_CENSUS_UNIT_NAME", "资阳区图书馆"))
    app.config.setdefault("LIBRARY_IIIF_RIGHTS", os.environ.get(
        "LIBRARY_IIIF_RIGHTS", "http://creativecommons.org/publicdomain/mark/1.0/"))

    from ancient_books.views import bp as census_bp
    from ancient_books.views import public_bp

    app.register_blueprint(census_bp)
    app.register_blueprint(public_bp)

    from ancient_books.api import PATHS, SCHEMAS
    from ancient_books.api import bp as api_bp
    from library.api import register_api_blueprint

    register_api_blueprint(app, api_bp, PATHS, SCHEMAS)
    app.cli.add_command(cli_group)
    register_seed(app, SeedStep("census_terms", 60, seed_census_terms))
    register_nav(app, NavItem("ancient_books.census_list", _l("古籍普查"), audience="staff", roles=ROLES, order=60))
    register_nav(app, NavItem("ancient_books_public.published", _l("古籍影像"), audience="public", order=60))
    register_admin_link(app, "ancient_books.term_list", _l("古籍普查规范表"))
    register_demo_step(app, DemoStep("ancient_books", 60, build_census))
