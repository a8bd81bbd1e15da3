"""The reader desk (circulation staff and admins): register, find, edit readers, report a lost
card, replace it, reset a PIN."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, Flask, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from werkzeug.wrappers import Response

from library import clock, services
from library.auth import current_staff, staff_required
from library.db import db_session
from library.errors import LibraryError
from library.forms import PinResetForm, ReaderEditForm, ReaderForm, ReplaceCardForm
from library.models import Branch, Reader, ReaderCategory, ReplacedCard, StaffUser
from library.registry import NavItem, register_nav

bp = Blueprint("readers", __name__, url_prefix="/staff/readers")

STATUS_LABELS = {"active": _l("正常"), "expired": _l("已过期"), "lost_card": _l("已挂失"), "blocked": _l("已停用")}
DEFAULT_CARD_YEARS = 3


def years_later(day: dt.date, years: int) -> dt.date:
    """The same calendar day ``years`` later (29 February becomes 28 February)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def acting_branch_id(user: StaffUser) -> int | None:
    """The branch a staff action is recorded at: the user's only circulation branch, if any."""
    ids = user.branch_ids_for("circulation")
    return next(iter(ids)) if ids and len(ids) == 1 else None


def _choices(form: ReaderForm) -> None:
    session = db_session()
    form.category_code.choices = [
        (c.code, c.name_en if _is_en() and c.name_en else c.name)
        for c in session.scalars(select(ReaderCategory).order_by(ReaderCategory.sort_order, ReaderCategory.code))
    ]
    form.home_branch_id.choices = [
        (b.id, f"{b.code} {b.name}")
        for b in session.scalars(select(Branch).where(Branch.active.is_(True)).order_by(Branch.code))
    ]


def _is_en() -> bool:
    from flask_babel import get_locale

    return str(get_locale()) == "en"


def _get_reader(reader_id: int) -> Reader:
    reader = db_session().get(Reader, reader_id)
    if reader is None:
        abort(404)
    return reader


@bp.route("/")
@staff_required("circulation")
def search() -> str:
    """Find a reader by card number (also a replaced one), name, phone or national ID number."""
    q = request.args.get("q", "").strip()
    readers = services.search_readers(db_session(), q, secret_key=current_app.config["SECRET_KEY"]) if q else []
    return render_template("library/readers_search.html", q=q, readers=readers, statuses=STATUS_LABELS)


@bp.route("/new", methods=["GET", "POST"])
@staff_required("circulation")
def register() -> str | Response | tuple[str, int]:
    """Register a reader. A refused registration (duplicate card number or national ID) shows the
    error on the form with everything typed kept, and saves nothing."""
    session = db_session()
    form = ReaderForm()
    _choices(form)
    if request.method == "GET":
        form.card_expires_on.data = years_later(clock.now().date(), DEFAULT_CARD_YEARS)
        staff_branch = acting_branch_id(current_staff())
        if staff_branch:
            form.home_branch_id.data = staff_branch
    if form.validate_on_submit():
        if not form.pin.data:
            form.pin.errors = [*form.pin.errors, _("请设置初始密码（4 到 8 位数字）")]
            return render_template("library/reader_form.html", form=form, reader=None), 422
        staff = current_staff()
        try:
            reader = services.create_reader(
                session,
                card_number=form.card_number.data or "",
                name=form.name.data or "",
                category_code=form.category_code.data or "",
                home_branch=session.get(Branch, form.home_branch_id.data) or abort(422),
                pin=form.pin.data,
                card_expires_on=form.card_expires_on.data or clock.now().date(),
                phone=form.phone.data or "",
                email=form.email.data or "",
                national_id=(form.national_id.data or "").strip() or None,
                secret_key=current_app.config["SECRET_KEY"],
            )
            reader.notes = (form.notes.data or "").strip()
            from library import audit

            audit.record(session, action="reader.register", staff=staff, target_type="reader", target_id=reader.id,
                         branch_id=acting_branch_id(staff), details={"card": reader.card_number})
        except LibraryError as exc:
            session.rollback()
            if exc.code.endswith("national_id"):
                form.national_id.errors = [*form.national_id.errors, exc.text]
            elif exc.code == "duplicate":
                form.card_number.errors = [*form.card_number.errors, exc.text]
            else:
                flash(exc.text, "error")
            return render_template("library/reader_form.html", form=form, reader=None), exc.status
        session.commit()
        flash(_("已办理读者证 %(card)s", card=reader.card_number), "success")
        return redirect(url_for("readers.detail", reader_id=reader.id))
    status = 422 if request.method == "POST" else 200
    return render_template("library/reader_form.html", form=form, reader=None), status


@bp.route("/<int:reader_id>")
@staff_required("circulation")
def detail(reader_id: int) -> str:
    reader = _get_reader(reader_id)
    old_cards = db_session().scalars(
        select(ReplacedCard).where(ReplacedCard.reader_id == reader.id).order_by(ReplacedCard.replaced_at)
    ).all()
    return render_template("library/reader_detail.html", reader=reader, statuses=STATUS_LABELS, old_cards=old_cards,
                           pin_form=PinResetForm(prefix="pin", formdata=None),
                           replace_form=ReplaceCardForm(prefix="replace", formdata=None),
                           today=clock.now().date())


@bp.route("/<int:reader_id>/edit", methods=["GET", "POST"])
@staff_required("circulation")
def edit(reader_id: int) -> str | Response | tuple[str, int]:
    session = db_session()
    reader = _get_reader(reader_id)
    form = ReaderEditForm(obj=reader) if request.method == "GET" else ReaderEditForm()
    _choices(form)
    if reader.status == "lost_card":
        form.status.choices = [("lost_card", str(STATUS_LABELS["lost_card"])), *form.status.choices]  # type: ignore[misc]
    if request.method == "GET":
        form.home_branch_id.data = reader.home_branch_id
        form.national_id.data = ""
    form.card_number.data = reader.card_number  # the number changes only through a card replacement
    if form.validate_on_submit():
        staff = current_staff()
        status = form.status.data if form.status.data != "lost_card" else None
        try:
            services.update_reader(
                session, reader,
                name=form.name.data or "",
                category_code=form.category_code.data or "",
                home_branch=session.get(Branch, form.home_branch_id.data) or abort(422),
                card_expires_on=form.card_expires_on.data or reader.card_expires_on,
                phone=form.phone.data or "", email=form.email.data or "", notes=form.notes.data or "",
                status=status,
                national_id=(form.national_id.data or "").strip() or None,
                secret_key=current_app.config["SECRET_KEY"], staff=staff,
            )
            if form.pin.data:
                services.reset_reader_pin(session, reader, form.pin.data, staff=staff)
        except LibraryError as exc:
            session.rollback()
            if exc.code.endswith("national_id"):
                form.national_id.errors = [*form.national_id.errors, exc.text]
            else:
                flash(exc.text, "error")
            return render_template("library/reader_form.html", form=form, reader=reader), exc.status
        session.commit()
        flash(_("已保存"), "success")
        return redirect(url_for("readers.detail", reader_id=reader.id))
    status_code = 422 if request.method == "POST" else 200
    return render_template("library/reader_form.html", form=form, reader=reader), status_code


@bp.route("/<int:reader_id>/lost", methods=["POST"])
@staff_required("circulation")
def report_lost(reader_id: int) -> Response:
    session = db_session()
    reader = _get_reader(reader_id)
    staff = current_staff()
    services.report_card_lost(session, reader, staff=staff)
    session.commit()
    flash(_("读者证 %(card)s 已挂失：此证不能再登录或借书，补办新证后恢复。", card=reader.card_number), "success")
    return redirect(url_for("readers.detail", reader_id=reader.id))


@bp.route("/<int:reader_id>/replace", methods=["POST"])
@staff_required("circulation")
def replace(reader_id: int) -> Response | tuple[str, int]:
    session = db_session()
    reader = _get_reader(reader_id)
    form = ReplaceCardForm(prefix="replace")
    if form.validate_on_submit():
        old = reader.card_number
        try:
            services.replace_card(session, reader, new_card_number=form.new_card_number.data or None,
                                  staff=current_staff())
        except LibraryError as exc:
            session.rollback()
            form.new_card_number.errors = [*form.new_card_number.errors, exc.text]
            return _detail_with(reader, replace_form=form, status=exc.status)
        session.commit()
        flash(_("已补办新证 %(new)s，旧证 %(old)s 已作废。", new=reader.card_number, old=old), "success")
        return redirect(url_for("readers.detail", reader_id=reader.id))
    return _detail_with(reader, replace_form=form, status=422)


@bp.route("/<int:reader_id>/pin", methods=["POST"])
@staff_required("circulation")
def reset_pin(reader_id: int) -> Response | tuple[str, int]:
    session = db_session()
    reader = _get_reader(reader_id)
    form = PinResetForm(prefix="pin")
    if form.validate_on_submit():
        services.reset_reader_pin(session, reader, form.pin.data or "", staff=current_staff())
        session.commit()
        flash(_("已为读者设置新密码"), "success")
        return redirect(url_for("readers.detail", reader_id=reader.id))
    return _detail_with(reader, pin_form=form, status=422)


def _detail_with(reader: Reader, *, status: int, **forms: Any) -> tuple[str, int]:
    old_cards = db_session().scalars(select(ReplacedCard).where(ReplacedCard.reader_id == reader.id)).all()
    context: dict[str, Any] = {
        "pin_form": PinResetForm(prefix="pin", formdata=None),
        "replace_form": ReplaceCardForm(prefix="replace", formdata=None),
    }
    context.update(forms)
    return render_template("library/reader_detail.html", reader=reader, statuses=STATUS_LABELS, old_cards=old_cards,
                           today=clock.now().date(), **context), status


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    register_nav(app, NavItem("readers.search", _l("读者"), audience="staff", roles=("circulation",), order=20))
