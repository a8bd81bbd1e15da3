"""Administration pages of the core: the admin index, staff users and their roles, reader
categories and the audit log. The network (branches, townships) is in ``network_views``."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, Flask, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from werkzeug.wrappers import Response

from library import services
from library.auth import current_staff, staff_required
from library.db import db_session
from library.errors import LibraryError
from library.forms import ReaderCategoryForm, StaffCreateForm, StaffPasswordForm
from library.models import STAFF_ROLES, AuditEntry, Branch, Reader, ReaderCategory, StaffUser
from library.registry import NavItem, register_admin_link, register_nav

bp = Blueprint("admin", __name__, url_prefix="/admin")

PAGE_SIZE = 50

ROLE_LABELS = {
    "admin": _l("系统管理员"),
    "circulation": _l("流通馆员"),
    "cataloguer": _l("编目馆员"),
    "organiser": _l("活动策划"),
    "ancient_books": _l("古籍编目员"),
    "ancient_books_reviewer": _l("古籍审校员"),
}


@bp.route("/")
@staff_required("admin")
def index() -> str:
    return render_template("library/admin_index.html", admin_links=current_app.extensions.get("library.admin_links", []))


# --- audit log -----------------------------------------------------------------------------------


def _local_day_start(value: str) -> dt.datetime | None:
    """The start (in UTC) of a local calendar day typed as YYYY-MM-DD, or None if not a date."""
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        return None
    local = dt.datetime.combine(day, dt.time(0), tzinfo=ZoneInfo(current_app.config["LIBRARY_TIMEZONE"]))
    return local.astimezone(dt.UTC)


@bp.route("/audit")
@staff_required("admin")
def audit_log() -> str:
    """The audit log, newest first, filtered by action prefix, staff user, branch and dates."""
    session = db_session()
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    action = request.args.get("action", "").strip()
    staff_id = request.args.get("staff", 0, type=int) or 0
    branch_id = request.args.get("branch", 0, type=int) or 0
    date_from = request.args.get("from", "").strip()
    date_to = request.args.get("to", "").strip()
    conditions: list[Any] = []
    if action:
        conditions.append(AuditEntry.action.startswith(action))
    if staff_id:
        conditions.append(AuditEntry.staff_id == staff_id)
    if branch_id:
        conditions.append(AuditEntry.branch_id == branch_id)
    bad_dates = []
    if date_from:
        start = _local_day_start(date_from)
        if start is None:
            bad_dates.append(date_from)
        else:
            conditions.append(AuditEntry.at >= start)
    if date_to:
        end = _local_day_start(date_to)
        if end is None:
            bad_dates.append(date_to)
        else:
            conditions.append(AuditEntry.at < end + dt.timedelta(days=1))
    for bad in bad_dates:
        flash(_("日期格式有误：%(value)s（应为 2026-11-29）", value=bad), "error")
    total = session.scalar(select(func.count()).select_from(AuditEntry).where(*conditions)) or 0
    entries = session.scalars(
        select(AuditEntry).where(*conditions).order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)
    ).all()
    return render_template(
        "library/audit_log.html", entries=entries, total=total, page=page,
        pages=max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1), action=action, staff_id=staff_id,
        branch_id=branch_id, date_from=date_from, date_to=date_to,
        staff_users=session.scalars(select(StaffUser).order_by(StaffUser.username)).all(),
        branches=session.scalars(select(Branch).order_by(Branch.code)).all(),
    )


# --- staff users ---------------------------------------------------------------------------------


def _roles_from_form(session: Any) -> list[tuple[str, Branch | None]]:
    """Roles ticked on the staff form; circulation is scoped to the branches chosen (none
    chosen: every branch)."""
    roles: list[tuple[str, Branch | None]] = []
    for role in request.form.getlist("roles"):
        if role not in STAFF_ROLES:
            continue
        if role == "circulation":
            ids = [int(x) for x in request.form.getlist("circulation_branches") if x.isdigit()]
            branches = [b for b in (session.get(Branch, i) for i in ids) if b is not None]
            if branches:
                roles.extend(("circulation", b) for b in branches)
            else:
                roles.append(("circulation", None))
        else:
            roles.append((role, None))
    return roles


def _staff_form_page(template: str, status: int = 200, **context: Any) -> tuple[str, int]:
    session = db_session()
    context.setdefault("checked_roles", set(request.form.getlist("roles")))
    context.setdefault("checked_branches", {int(x) for x in request.form.getlist("circulation_branches")
                                            if x.isdigit()})
    return render_template(template, roles=STAFF_ROLES, role_labels=ROLE_LABELS,
                           branches=session.scalars(select(Branch).order_by(Branch.code)).all(), **context), status


@bp.route("/staff")
@staff_required("admin")
def staff_list() -> str:
    users = db_session().scalars(select(StaffUser).order_by(StaffUser.active.desc(), StaffUser.username)).all()
    return render_template("library/admin_staff.html", users=users, role_labels=ROLE_LABELS)


@bp.route("/staff/new", methods=["GET", "POST"])
@staff_required("admin")
def staff_new() -> str | Response | tuple[str, int]:
    session = db_session()
    form = StaffCreateForm()
    if form.validate_on_submit():
        roles = _roles_from_form(session)
        if not roles:
            flash(_("请至少选择一个角色"), "error")
            return _staff_form_page("library/admin_staff_new.html", 422, form=form)
        try:
            user = services.create_staff(session, username=form.username.data or "", password=form.password.data or "",
                                         display_name=form.display_name.data or "", roles=roles)
            from library import audit

            audit.record(session, action="staff.create", staff=current_staff(), target_type="staff",
                         target_id=user.username, details={"roles": [r for r, _b in roles]})
        except LibraryError as exc:
            session.rollback()
            form.username.errors = [*form.username.errors, exc.text] if exc.code == "duplicate" else form.username.errors
            if exc.code != "duplicate":
                flash(exc.text, "error")
            return _staff_form_page("library/admin_staff_new.html", exc.status, form=form)
        session.commit()
        flash(_("已创建馆员账号 %(name)s", name=user.username), "success")
        return redirect(url_for("admin.staff_edit", user_id=user.id))
    return _staff_form_page("library/admin_staff_new.html", 422 if request.method == "POST" else 200, form=form)


def _get_staff(user_id: int) -> StaffUser:
    user = db_session().get(StaffUser, user_id)
    if user is None:
        abort(404)
    return user


@bp.route("/staff/<int:user_id>", methods=["GET", "POST"])
@staff_required("admin")
def staff_edit(user_id: int) -> str | Response | tuple[str, int]:
    session = db_session()
    user = _get_staff(user_id)
    password_form = StaffPasswordForm(prefix="pw", formdata=None)
    if request.method == "POST":
        try:
            services.set_staff_roles(session, user, _roles_from_form(session),
                                     display_name=request.form.get("display_name", ""), staff=current_staff())
        except LibraryError as exc:
            session.rollback()
            flash(exc.text, "error")
            return _staff_form_page("library/admin_staff_edit.html", exc.status, user=user,
                                    password_form=password_form)
        session.commit()
        flash(_("已保存"), "success")
        return redirect(url_for("admin.staff_edit", user_id=user.id))
    return _staff_form_page(
        "library/admin_staff_edit.html", user=user, password_form=password_form,
        checked_roles=user.role_names(),
        checked_branches={r.branch_id for r in user.roles if r.role == "circulation" and r.branch_id},
    )


@bp.route("/staff/<int:user_id>/active", methods=["POST"])
@staff_required("admin")
def staff_active(user_id: int) -> Response:
    session = db_session()
    user = _get_staff(user_id)
    active = request.form.get("active") == "1"
    try:
        services.set_staff_active(session, user, active, staff=current_staff())
    except LibraryError as exc:
        session.rollback()
        flash(exc.text, "error")
    else:
        session.commit()
        flash(_("账号已启用") if active else _("账号已停用"), "success")
    return redirect(url_for("admin.staff_edit", user_id=user.id))


@bp.route("/staff/<int:user_id>/password", methods=["POST"])
@staff_required("admin")
def staff_password(user_id: int) -> Response | tuple[str, int]:
    session = db_session()
    user = _get_staff(user_id)
    password_form = StaffPasswordForm(prefix="pw")
    if not password_form.validate_on_submit():
        return _staff_form_page(
            "library/admin_staff_edit.html", 422, user=user, password_form=password_form,
            checked_roles=user.role_names(),
            checked_branches={r.branch_id for r in user.roles if r.role == "circulation" and r.branch_id},
        )
    services.reset_staff_password(session, user, password_form.password.data or "", staff=current_staff())
    session.commit()
    flash(_("已为 %(name)s 设置新密码", name=user.username), "success")
    return redirect(url_for("admin.staff_edit", user_id=user.id))


# --- reader categories ---------------------------------------------------------------------------


@bp.route("/reader-categories", methods=["GET", "POST"])
@staff_required("admin")
def reader_categories() -> str | Response | tuple[str, int]:
    """The configurable list of reader categories: add or rename (the code stays), delete unused."""
    session = db_session()
    form = ReaderCategoryForm()
    status = 200
    if form.validate_on_submit():
        try:
            services.save_reader_category(session, code=form.code.data or "", name=form.name.data or "",
                                          name_en=form.name_en.data or "", sort_order=form.sort_order.data or 0,
                                          staff=current_staff())
        except LibraryError as exc:
            session.rollback()
            form.code.errors = [*form.code.errors, exc.text]
            status = exc.status
        else:
            session.commit()
            flash(_("已保存读者类型 %(name)s", name=form.name.data), "success")
            return redirect(url_for("admin.reader_categories"))
    elif request.method == "POST":
        status = 422
    categories = session.scalars(select(ReaderCategory).order_by(ReaderCategory.sort_order, ReaderCategory.code)).all()
    counts = dict(session.execute(select(Reader.category_code, func.count()).group_by(Reader.category_code)).all())
    return render_template("library/admin_categories.html", categories=categories, counts=counts, form=form), status


@bp.route("/reader-categories/<code>/delete", methods=["POST"])
@staff_required("admin")
def reader_category_delete(code: str) -> Response:
    session = db_session()
    try:
        services.delete_reader_category(session, code, staff=current_staff())
    except LibraryError as exc:
        session.rollback()
        flash(exc.text, "error")
    else:
        session.commit()
        flash(_("已删除"), "success")
    return redirect(url_for("admin.reader_categories"))


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    register_nav(app, NavItem("admin.index", _l("系统管理"), audience="staff", roles=("admin",), order=900))
    register_admin_link(app, "admin.staff_list", _l("馆员账号"))
    register_admin_link(app, "admin.reader_categories", _l("读者类型"))
