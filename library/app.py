"""The application factory: wiring only (no migrations, no network, no sleeping)."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from flask_babel import lazy_gettext as _l

from library import auth, db, error_pages, i18n
from library.config import load_config
from library.extensions import csrf
from library.registry import NavItem, register_nav, register_translation_dir

# The domain packages, in import-direction order. Each exposes ``init_app(app)``.
DOMAIN_PACKAGES = ("catalog", "circulation", "reading_points", "ancient_books")

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _templates_dir() -> str:
    import templates

    return str(Path(templates.__file__).parent)


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the Flask application; ``config`` overrides what the environment says."""
    settings = load_config(config)
    app = Flask(
        "library",
        instance_path=settings["LIBRARY_DATA_DIR"],
        root_path=str(Path(__file__).parent),
        template_folder=_templates_dir(),
        static_folder=str(Path(__file__).parent / "static"),
    )
    app.config.update(settings)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]

    db.init_app(app, app.config["LIBRARY_DATABASE_URL"])
    csrf.init_app(app)
    auth.init_app(app)
    error_pages.init_app(app)

    from library import views
    from library.api import CORE_PATHS, CORE_SCHEMAS, register_api_blueprint
    from library.api import bp as api_bp

    app.register_blueprint(views.bp)
    register_api_blueprint(app, api_bp, CORE_PATHS, CORE_SCHEMAS)
    app.context_processor(views.template_context)
    register_translation_dir(app, str(Path(__file__).parent / "translations"))

    from library import admin, cli, demo, filters, network_views, reader_views
    from library.registry import SeedStep, register_seed
    from library.seeds import seed_reader_categories

    register_seed(app, SeedStep("reader_categories", 10, seed_reader_categories))

    network_views.init_app(app)  # its admin links (the network) come first on the admin page
    admin.init_app(app)
    reader_views.init_app(app)
    filters.init_app(app)
    cli.init_app(app)
    demo.init_app(app)

    for name in DOMAIN_PACKAGES:
        module = importlib.import_module(name)
        module.init_app(app)
        tdir = Path(module.__file__ or "").parent / "translations"
        register_translation_dir(app, str(tdir))

    i18n.init_app(app, app.extensions.get("library.translation_dirs", []))
    register_nav(app, NavItem("core.staff_home", _l("工作台"), audience="staff", order=0))
    return app
