"""Reader self-service (blueprint ``circulation_reader``): my loans with due dates and renewal,
my holds (placed from the OPAC record page, cancelled here), my history if the reader keeps it."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from wtforms.fields.choices import SelectChoice

from catalog.models import BibRecord, Item
from circulation import services
from circulation.calendar import local_date
from circulation.forms import PickupForm, ReasonForm
from circulation.models import Hold, Loan
from circulation.views import HOLD_STATE_LABELS, commit
from library import clock
from library.auth import current_reader, reader_required
from library.db import db_session
from library.errors import LibraryError
from library.models import Branch
from library.registry import NavItem, register_nav

bp = Blueprint("circulation_reader", __name__, url_prefix="/my")

HISTORY_PAGE = 50


@bp.route("/loans")
@reader_required
def loans() -> Any:
    s = db_session()
    reader = current_reader()
    now = clock.now()
    summary = services.reader_summary(s, reader, now)
    return render_template("circulation/my_loans.html", summary=summary, today=local_date(now),
                           form=ReasonForm(formdata=None))


@bp.route("/loans/<int:loan_id>/renew", methods=["POST"])
@reader_required
def renew(loan_id: int) -> Any:
    ReasonForm().validate() or abort(400)
    s = db_session()
    reader = current_reader()
    loan = s.get(Loan, loan_id)
    if loan is None or loan.reader_id != reader.id:
        abort(404)
    try:
        renewed = services.renew(s, item_barcode=loan.item.barcode, card_number=reader.card_number, now=clock.now(),
                                 actor=f"reader:{reader.card_number}")
        commit(s)
        flash(_("续借成功，新的应还日期 %(day)s", day=renewed.due_on.isoformat()), "success")
    except LibraryError as exc:
        s.rollback()
        flash(exc.text, "error")
    return redirect(url_for("circulation_reader.loans"))


@bp.route("/loans/renew-all", methods=["POST"])
@reader_required
def renew_all() -> Any:
    ReasonForm().validate() or abort(400)
    s = db_session()
    reader = current_reader()
    results = services.renew_all(s, card_number=reader.card_number, now=clock.now(),
                                 actor=f"reader:{reader.card_number}")
    commit(s)
    ok = sum(1 for _b, r in results if isinstance(r, Loan))
    flash(_("续借成功 %(n)s 册", n=ok), "success" if ok else "info")
    for barcode, r in results:
        if isinstance(r, LibraryError):
            flash(f"{barcode}：{r.text}", "warning")
    return redirect(url_for("circulation_reader.loans"))


@bp.route("/holds")
@reader_required
def holds() -> Any:
    s = db_session()
    reader = current_reader()
    rows = list(s.scalars(select(Hold).where(Hold.reader_id == reader.id)
                          .options(joinedload(Hold.record), joinedload(Hold.pickup_branch))
                          .order_by(Hold.created_at.desc()).limit(100)))
    positions = {h.id: services.hold_queue_position(s, h) for h in rows if h.state == "waiting"}
    return render_template("circulation/my_holds.html", holds=rows, positions=positions, labels=HOLD_STATE_LABELS,
                           form=ReasonForm(formdata=None))


def _pickup_choices(form: PickupForm) -> None:
    s = db_session()
    form.pickup_branch.choices = [SelectChoice(b.id, b.name) for b in s.scalars(
        select(Branch).where(Branch.active.is_(True)).order_by(Branch.kind != "central", Branch.code))]


@bp.route("/holds/place/<int:record_id>", methods=["GET", "POST"])
@reader_required
def place_hold(record_id: int) -> Any:
    """Choose a pickup branch and place a title-level hold (linked from the OPAC record page)."""
    s = db_session()
    reader = current_reader()
    record = s.get(BibRecord, record_id)
    if record is None or record.deleted_at is not None:
        abort(404)
    form = PickupForm()
    _pickup_choices(form)
    if request.method == "GET":
        form.pickup_branch.data = reader.home_branch_id
    status = 200
    if request.method == "POST":
        if form.validate():
            branch = s.get(Branch, form.pickup_branch.data)
            try:
                if branch is None:
                    abort(400)
                services.place_hold(s, card_number=reader.card_number, pickup_branch=branch, record_id=record.id,
                                    now=clock.now(), actor=f"reader:{reader.card_number}")
                commit(s)
                flash(_("预约成功，到馆后会通知您"), "success")
                return redirect(url_for("circulation_reader.holds"))
            except LibraryError as exc:
                s.rollback()
                flash(exc.text, "error")
                status = exc.status
        else:
            status = 422
    copies = list(s.scalars(select(Item).where(Item.record_id == record.id)
                            .options(joinedload(Item.current_branch), joinedload(Item.item_type))))
    return render_template("circulation/place_hold.html", record=record, form=form, copies=copies), status


@bp.route("/holds/<int:hold_id>/cancel", methods=["POST"])
@reader_required
def cancel_hold(hold_id: int) -> Any:
    ReasonForm().validate() or abort(400)
    s = db_session()
    try:
        services.cancel_hold(s, hold_id=hold_id, now=clock.now(), reader=current_reader())
        commit(s)
        flash(_("预约已取消"), "success")
    except LibraryError as exc:
        s.rollback()
        flash(exc.text, "error")
    return redirect(url_for("circulation_reader.holds"))


@bp.route("/history")
@reader_required
def history() -> Any:
    s = db_session()
    reader = current_reader()
    rows: list[Loan] = []
    page = max(1, request.args.get("page", 1, type=int))
    if reader.keep_history:
        since = [Loan.returned_at >= reader.history_kept_since] if reader.history_kept_since is not None else []
        rows = list(s.scalars(
            select(Loan).where(Loan.reader_id == reader.id, Loan.state == "returned", *since)
            .options(joinedload(Loan.item).joinedload(Item.record), joinedload(Loan.branch))
            .order_by(Loan.returned_at.desc()).offset((page - 1) * HISTORY_PAGE).limit(HISTORY_PAGE + 1)))
    more = len(rows) > HISTORY_PAGE
    return render_template("circulation/my_history.html", rows=rows[:HISTORY_PAGE], keep=reader.keep_history,
                           page=page, more=more)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    register_nav(app, NavItem("circulation_reader.loans", _l("我的借阅"), audience="reader", order=20))
    register_nav(app, NavItem("circulation_reader.holds", _l("我的预约"), audience="reader", order=21))
    register_nav(app, NavItem("circulation_reader.history", _l("借阅历史"), audience="reader", order=22))
