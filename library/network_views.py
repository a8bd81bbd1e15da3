"""Administration of the network (admins only): branches with their opening hours and closed
days, a holiday closing for every branch at once, townships and villages, and the coverage of
the district plan."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, Flask, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from werkzeug.wrappers import Response

from library import clock, services
from library.auth import current_staff, staff_required
from library.db import db_session
from library.errors import LibraryError, ValidationFailed
from library.forms import BranchForm, ClosedDaysForm, TownshipForm, VillageForm
from library.models import BRANCH_KINDS, Branch, Township, Village
from library.registry import register_admin_link

bp = Blueprint("network", __name__, url_prefix="/admin")

WEEKDAY_NAMES = (_l("星期一"), _l("星期二"), _l("星期三"), _l("星期四"), _l("星期五"), _l("星期六"), _l("星期日"))
KIND_LABELS = {"central": _l("总馆"), "branch": _l("分馆"), "service_point": _l("服务点"), "mobile": _l("流动图书车")}
TOWNSHIP_KIND_LABELS = {"township": _l("乡镇"), "street": _l("街道"), "park": _l("园区")}


@bp.before_request
@staff_required("admin")
def _admins_only() -> None:
    """Every page here is for admins (the decorator answers 403 or sends to the login page)."""


def _branch_choices(form: BranchForm, session: Any, branch: Branch | None) -> None:
    form.kind.choices = [(k, str(KIND_LABELS[k])) for k in BRANCH_KINDS]
    branches = session.scalars(select(Branch).order_by(Branch.code)).all()
    form.parent_id.choices = [(0, _("（无）"))] + [
        (b.id, f"{b.code} {b.name}") for b in branches if branch is None or b.id != branch.id
    ]
    townships = session.scalars(select(Township).order_by(Township.code)).all()
    form.township_id.choices = [(0, _("（无）"))] + [(t.id, f"{t.name}") for t in townships]
    form.village_id.choices = [(0, _("（无）"))] + [
        (v.id, f"{t.name} · {v.name}") for t in townships for v in t.villages
    ]


def _branch_fields(form: BranchForm, session: Any) -> dict[str, Any]:
    return {
        "code": (form.code.data or "").strip(),
        "name": (form.name.data or "").strip(),
        "name_en": (form.name_en.data or "").strip() or None,
        "kind": form.kind.data,
        "parent": session.get(Branch, form.parent_id.data) if form.parent_id.data else None,
        "township": session.get(Township, form.township_id.data) if form.township_id.data else None,
        "village": session.get(Village, form.village_id.data) if form.village_id.data else None,
        "address": (form.address.data or "").strip(),
        "phone": (form.phone.data or "").strip(),
        "floating": bool(form.floating.data),
        "active": bool(form.active.data),
    }


def _get_branch(branch_id: int) -> Branch:
    branch = db_session().get(Branch, branch_id)
    if branch is None:
        abort(404)
    return branch


@bp.route("/branches")
def branches() -> str:
    session = db_session()
    rows = session.scalars(select(Branch).order_by(Branch.code)).all()
    return render_template("library/admin_branches.html", branches=rows, kinds=KIND_LABELS,
                           weekdays=WEEKDAY_NAMES, today=clock.now().date())


@bp.route("/branches/new", methods=["GET", "POST"])
def branch_new() -> str | Response | tuple[str, int]:
    session = db_session()
    form = BranchForm()
    _branch_choices(form, session, None)
    if form.validate_on_submit():
        fields = _branch_fields(form, session)
        try:
            branch = services.create_branch(session, code=fields.pop("code"), name=fields.pop("name"),
                                            kind=fields.pop("kind"), parent=fields.pop("parent"))
            services.update_branch(session, branch, staff=current_staff(), **fields)
        except LibraryError as exc:
            session.rollback()
            form.code.errors = [*form.code.errors, exc.text] if exc.code == "duplicate" else form.code.errors
            if exc.code != "duplicate":
                flash(exc.text, "error")
            return render_template("library/admin_branch_form.html", form=form, branch=None), exc.status
        session.commit()
        flash(_("已添加 %(name)s，请设置开放时间", name=branch.name), "success")
        return redirect(url_for("network.branch_edit", branch_id=branch.id))
    status = 422 if request.method == "POST" else 200
    return render_template("library/admin_branch_form.html", form=form, branch=None), status


@bp.route("/branches/<int:branch_id>", methods=["GET", "POST"])
def branch_edit(branch_id: int) -> str | Response | tuple[str, int]:
    session = db_session()
    branch = _get_branch(branch_id)
    if request.method == "GET":
        form = BranchForm(obj=branch)
        form.parent_id.data = branch.parent_id or 0
        form.township_id.data = branch.township_id or 0
        form.village_id.data = branch.village_id or 0
    else:
        form = BranchForm()
    _branch_choices(form, session, branch)
    closed_form = ClosedDaysForm(prefix="closed")
    if request.method == "POST" and form.validate_on_submit():
        try:
            services.update_branch(session, branch, staff=current_staff(), **_branch_fields(form, session))
        except LibraryError as exc:
            session.rollback()
            flash(exc.text, "error")
            return _branch_page(branch, form, closed_form, exc.status)
        session.commit()
        flash(_("已保存"), "success")
        return redirect(url_for("network.branch_edit", branch_id=branch.id))
    return _branch_page(branch, form, closed_form, 422 if request.method == "POST" else 200)


def _branch_page(branch: Branch, form: BranchForm, closed_form: ClosedDaysForm, status: int = 200,
                 hours_input: dict[str, str] | None = None) -> tuple[str, int]:
    if hours_input is None:
        hours_input = {}
        for h in branch.opening_hours:
            hours_input[f"opens_{h.weekday}"] = h.opens.strftime("%H:%M")
            hours_input[f"closes_{h.weekday}"] = h.closes.strftime("%H:%M")
    today = clock.now().date()
    return render_template("library/admin_branch_form.html", form=form, branch=branch, closed_form=closed_form,
                           weekdays=WEEKDAY_NAMES, hours_input=hours_input,
                           upcoming=[c for c in branch.closed_days if c.day >= today],
                           past=[c for c in branch.closed_days if c.day < today]), status


def _parse_hours(values: dict[str, str]) -> dict[int, tuple[dt.time, dt.time] | None]:
    """Opening hours typed as HH:MM per weekday; both empty = closed that day."""
    hours: dict[int, tuple[dt.time, dt.time] | None] = {}
    for wd in range(7):
        opens, closes = values.get(f"opens_{wd}", "").strip(), values.get(f"closes_{wd}", "").strip()
        if not opens and not closes:
            hours[wd] = None
            continue
        try:
            hours[wd] = (dt.time.fromisoformat(opens), dt.time.fromisoformat(closes))
        except ValueError as exc:
            raise ValidationFailed(_l("%(day)s 的时间格式有误（应为 09:00）"),
                                            day=str(WEEKDAY_NAMES[wd])) from exc
    return hours


@bp.route("/branches/<int:branch_id>/hours", methods=["POST"])
def branch_hours(branch_id: int) -> Response | tuple[str, int]:
    session = db_session()
    branch = _get_branch(branch_id)
    typed = {k: v for k, v in request.form.items() if k.startswith(("opens_", "closes_"))}
    try:
        services.set_opening_hours(session, branch, _parse_hours(typed), staff=current_staff())
    except LibraryError as exc:
        session.rollback()
        flash(exc.text, "error")
        form = BranchForm(obj=branch, formdata=None)
        form.parent_id.data, form.township_id.data = branch.parent_id or 0, branch.township_id or 0
        form.village_id.data = branch.village_id or 0
        _branch_choices(form, session, branch)
        return _branch_page(branch, form, ClosedDaysForm(prefix="closed", formdata=None), exc.status, typed)
    session.commit()
    flash(_("开放时间已保存"), "success")
    return redirect(url_for("network.branch_edit", branch_id=branch.id) + "#hours")


@bp.route("/branches/<int:branch_id>/closed-days", methods=["POST"])
def branch_closed_days(branch_id: int) -> Response | tuple[str, int]:
    session = db_session()
    branch = _get_branch(branch_id)
    closed_form = ClosedDaysForm(prefix="closed")
    error: LibraryError | None = None
    if closed_form.validate_on_submit():
        try:
            days = services.parse_dates(closed_form.days.data or "")
            added = services.add_closed_days(session, branch, days, closed_form.reason.data or "",
                                             staff=current_staff())
        except LibraryError as exc:
            error = exc
        else:
            session.commit()
            flash(_("已添加 %(n)s 个闭馆日", n=len(added)), "success")
            return redirect(url_for("network.branch_edit", branch_id=branch.id) + "#closed")
    session.rollback()
    if error is not None:
        closed_form.days.errors = [*closed_form.days.errors, error.text]
    form = BranchForm(obj=branch, formdata=None)
    form.parent_id.data, form.township_id.data = branch.parent_id or 0, branch.township_id or 0
    form.village_id.data = branch.village_id or 0
    _branch_choices(form, session, branch)
    return _branch_page(branch, form, closed_form, error.status if error else 422)


@bp.route("/branches/<int:branch_id>/closed-days/<int:closed_id>/delete", methods=["POST"])
def branch_closed_day_delete(branch_id: int, closed_id: int) -> Response:
    session = db_session()
    branch = _get_branch(branch_id)
    services.remove_closed_day(session, branch, closed_id, staff=current_staff())
    session.commit()
    flash(_("已取消该闭馆日"), "success")
    return redirect(url_for("network.branch_edit", branch_id=branch.id) + "#closed")


@bp.route("/holidays", methods=["GET", "POST"])
def holidays() -> str | Response | tuple[str, int]:
    """Close every active branch on the given dates (public holidays)."""
    session = db_session()
    form = ClosedDaysForm()
    if form.validate_on_submit():
        try:
            days = services.parse_dates(form.days.data or "")
            added = services.close_all_branches(session, days, form.reason.data or "", staff=current_staff())
        except LibraryError as exc:
            session.rollback()
            form.days.errors = [*form.days.errors, exc.text]
            return render_template("library/admin_holidays.html", form=form), exc.status
        session.commit()
        flash(_("已为全部开放中的馆设置 %(days)s 天闭馆（新增 %(n)s 条）", days=len(days), n=added), "success")
        return redirect(url_for("network.holidays"))
    status = 422 if request.method == "POST" else 200
    return render_template("library/admin_holidays.html", form=form), status


# --- townships and villages ----------------------------------------------------------------------


@bp.route("/townships", methods=["GET", "POST"])
def townships() -> str | Response | tuple[str, int]:
    session = db_session()
    form = TownshipForm()
    status = 200
    if form.validate_on_submit():
        try:
            t = services.create_township(session, code=form.code.data or "", name=form.name.data or "",
                                         kind=form.kind.data or "township", population=form.population.data or 0,
                                         staff=current_staff())
        except LibraryError as exc:
            session.rollback()
            form.code.errors = [*form.code.errors, exc.text]
            status = exc.status
        else:
            session.commit()
            flash(_("已添加 %(name)s", name=t.name), "success")
            return redirect(url_for("network.township_edit", township_id=t.id))
    elif request.method == "POST":
        status = 422
    rows = session.scalars(select(Township).order_by(Township.code)).all()
    return render_template("library/admin_townships.html", townships=rows, form=form,
                           kinds=TOWNSHIP_KIND_LABELS), status


def _get_township(township_id: int) -> Township:
    t = db_session().get(Township, township_id)
    if t is None:
        abort(404)
    return t


def _township_page(t: Township, form: TownshipForm, village_form: VillageForm, status: int = 200) -> tuple[str, int]:
    session = db_session()
    points = session.scalars(select(Branch).where(Branch.township_id == t.id).order_by(Branch.code)).all()
    return render_template("library/admin_township.html", township=t, form=form, village_form=village_form,
                           branches=points, kinds=KIND_LABELS), status


@bp.route("/townships/<int:township_id>", methods=["GET", "POST"])
def township_edit(township_id: int) -> str | Response | tuple[str, int]:
    session = db_session()
    t = _get_township(township_id)
    form = TownshipForm(obj=t) if request.method == "GET" else TownshipForm()
    village_form = VillageForm(prefix="village", formdata=None)
    if request.method == "POST":
        if not form.validate_on_submit():
            return _township_page(t, form, village_form, 422)
        try:
            services.update_township(session, t, code=form.code.data or "", name=form.name.data or "",
                                     kind=form.kind.data or "township", population=form.population.data or 0,
                                     staff=current_staff())
        except LibraryError as exc:
            session.rollback()
            form.code.errors = [*form.code.errors, exc.text]
            return _township_page(t, form, village_form, exc.status)
        session.commit()
        flash(_("已保存"), "success")
        return redirect(url_for("network.township_edit", township_id=t.id))
    return _township_page(t, form, village_form)


@bp.route("/townships/<int:township_id>/delete", methods=["POST"])
def township_delete(township_id: int) -> Response:
    session = db_session()
    t = _get_township(township_id)
    try:
        services.delete_township(session, t, staff=current_staff())
    except LibraryError as exc:
        session.rollback()
        flash(exc.text, "error")
        return redirect(url_for("network.township_edit", township_id=township_id))
    session.commit()
    flash(_("已删除"), "success")
    return redirect(url_for("network.townships"))


@bp.route("/townships/<int:township_id>/villages", methods=["POST"])
def village_new(township_id: int) -> Response | tuple[str, int]:
    session = db_session()
    t = _get_township(township_id)
    village_form = VillageForm(prefix="village")
    if village_form.validate_on_submit():
        try:
            services.create_village(session, t, name=village_form.name.data or "",
                                    population=village_form.population.data or 0, staff=current_staff())
        except LibraryError as exc:
            session.rollback()
            village_form.name.errors = [*village_form.name.errors, exc.text]
            return _township_page(t, TownshipForm(obj=t, formdata=None), village_form, exc.status)
        session.commit()
        flash(_("已添加 %(name)s", name=village_form.name.data), "success")
        return redirect(url_for("network.township_edit", township_id=t.id) + "#villages")
    return _township_page(t, TownshipForm(obj=t, formdata=None), village_form, 422)


def _get_village(village_id: int) -> Village:
    v = db_session().get(Village, village_id)
    if v is None:
        abort(404)
    return v


@bp.route("/villages/<int:village_id>", methods=["POST"])
def village_edit(village_id: int) -> Response:
    session = db_session()
    v = _get_village(village_id)
    try:
        population = int(request.form.get("population", "0").strip() or 0)
    except ValueError:
        flash(_("人口须为整数"), "error")
        return redirect(url_for("network.township_edit", township_id=v.township_id) + "#villages")
    try:
        services.update_village(session, v, name=request.form.get("name", ""), population=population,
                                staff=current_staff())
    except LibraryError as exc:
        session.rollback()
        flash(exc.text, "error")
        return redirect(url_for("network.township_edit", township_id=v.township_id) + "#villages")
    session.commit()
    flash(_("已保存"), "success")
    return redirect(url_for("network.township_edit", township_id=v.township_id) + "#villages")


@bp.route("/villages/<int:village_id>/delete", methods=["POST"])
def village_delete(village_id: int) -> Response:
    session = db_session()
    v = _get_village(village_id)
    township_id = v.township_id
    try:
        services.delete_village(session, v, staff=current_staff())
    except LibraryError as exc:
        session.rollback()
        flash(exc.text, "error")
    else:
        session.commit()
        flash(_("已删除"), "success")
    return redirect(url_for("network.township_edit", township_id=township_id) + "#villages")


@bp.route("/coverage")
def coverage() -> str:
    return render_template("library/admin_coverage.html", coverage=services.network_coverage(db_session()),
                           kinds=TOWNSHIP_KIND_LABELS)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    register_admin_link(app, "network.branches", _l("分馆与服务点"))
    register_admin_link(app, "network.holidays", _l("节假日闭馆"))
    register_admin_link(app, "network.townships", _l("乡镇与村（社区）"))
    register_admin_link(app, "network.coverage", _l("覆盖率（对照区规划）"))
