"""Search: the Whoosh index that follows the database through the search outbox, the OPAC,
the JSON search API, SRU and OAI-PMH.

Other packages use ``after_commit(app)`` (after committing a change to a record or its copies),
``apply_outbox(app)`` and ``backend(app)``.
"""

from __future__ import annotations

from typing import Any

from flask import Flask

from catalog.search.service import after_commit, apply_outbox, backend, reindex, search

__all__ = ["after_commit", "apply_outbox", "backend", "init_app", "reindex", "search"]


def init_app(app: Flask) -> None:
    """Register the OPAC, SRU and OAI-PMH blueprints, the search API and the reindex command.
    Nothing is opened here: the index is opened (and caught up) on the first search."""
    from flask_babel import lazy_gettext as _l

    from catalog.search import api, cli, oai, sru, views
    from library.api import register_api_blueprint
    from library.extensions import csrf
    from library.registry import DemoStep, NavItem, register_demo_step, register_home_panel, register_nav

    app.register_blueprint(views.bp)
    app.register_blueprint(sru.bp)
    app.register_blueprint(oai.bp)
    csrf.exempt(sru.bp)  # SRU and OAI-PMH accept POST from harvesters; both are read-only
    csrf.exempt(oai.bp)
    register_api_blueprint(app, api.bp, api.PATHS, api.SCHEMAS)
    cli.init_app(app)
    register_nav(app, NavItem("opac.search", _l("馆藏检索"), audience="public", order=10))
    register_nav(app, NavItem("opac.new", _l("新书通报"), audience="public", order=11))
    register_home_panel(app, "opac/home_panel.html")

    def opac_new_arrivals(limit: int = 6) -> list[Any]:
        from library.db import db_session

        return views.new_arrivals(db_session(), limit)

    app.jinja_env.globals["opac_new_arrivals"] = opac_new_arrivals
    register_demo_step(app, DemoStep("search index", 95, _demo_index))


def _demo_index(_session: Any, ctx: Any) -> None:
    """Build the demo's search index now, so the first OPAC search is not the one that waits."""
    from flask import current_app

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    ctx.out["search_index"] = {"records": reindex(app, procs=1), "directory": app.config["LIBRARY_INDEX_DIR"]}
