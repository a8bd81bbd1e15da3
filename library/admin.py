"""Administration pages of the core (the network, readers, staff, audit log)."""

from __future__ import annotations

from flask import Blueprint, Flask, current_app, render_template, request
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from library.auth import staff_required
from library.db import db_session
from library.models import AuditEntry
from library.registry import NavItem, register_nav

bp = Blueprint("admin", __name__, url_prefix="/admin")

PAGE_SIZE = 50


@bp.route("/")
@staff_required("admin")
def index() -> str:
    return render_template("library/admin_index.html", admin_links=current_app.extensions.get("library.admin_links", []))


@bp.route("/audit")
@staff_required("admin")
def audit_log() -> str:
    session = db_session()
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    action = request.args.get("action", "").strip()
    stmt = select(AuditEntry)
    count_stmt = select(func.count()).select_from(AuditEntry)
    if action:
        stmt = stmt.where(AuditEntry.action.startswith(action))
        count_stmt = count_stmt.where(AuditEntry.action.startswith(action))
    total = session.scalar(count_stmt) or 0
    entries = session.scalars(
        stmt.order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)
    ).all()
    return render_template("library/audit_log.html", entries=entries, total=total, page=page,
                           pages=max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1), action=action)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    register_nav(app, NavItem("admin.index", _l("系统管理"), audience="staff", roles=("admin",), order=900))
