"""Counter pages (check-out, check-in with what to do next, renewals, lost/damaged), transfers,
the hold shelf, statistics and the rules matrix for staff. Reader self-service is in
``circulation.reader_views``. Views are thin: read the request, call a service, commit."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from typing import Any

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload
from wtforms.fields.choices import SelectChoice

from catalog.models import Item, ItemType
from circulation import services
from circulation.calendar import local_date
from circulation.forms import (
    BarcodeForm,
    CardForm,
    CheckoutForm,
    DamageForm,
    ReasonForm,
    RuleForm,
    RuleTestForm,
)
from circulation.models import CirculationRule, Hold, Loan, Transit
from circulation.pull_list import pull_count, pull_list
from circulation.rules import RULE_FIELDS, find_rule, save_rule
from circulation.stats import daily_stats, totals_by_day
from library import clock
from library.auth import current_staff, staff_required
from library.charts import PALETTE, Series, line_chart
from library.db import db_session, get_database
from library.errors import LibraryError
from library.models import Branch, Reader, ReaderCategory
from library.registry import NavItem, register_admin_link, register_nav

bp = Blueprint("circulation", __name__, url_prefix="/circulation", template_folder=None)

BRANCH_KEY = "circulation_branch_id"
CHECKIN_LOG_KEY = "circulation_checkins"

ACTION_LABELS = {"reshelve": _l("上架"), "transit": _l("送往他馆"), "hold_shelf": _l("放预约架")}
ITEM_STATUS_LABELS = {
    "available": _l("在架"), "on_loan": _l("借出中"), "in_transit": _l("在途"), "on_hold_shelf": _l("预约架"),
    "lost": _l("遗失"), "missing": _l("下落不明"), "in_repair": _l("修补中"), "withdrawn": _l("已剔除"),
}
HOLD_STATE_LABELS = {
    "waiting": _l("排队中"), "in_transit": _l("在途"), "ready": _l("可取书"), "collected": _l("已借出"),
    "expired": _l("已过期"), "cancelled": _l("已取消"),
}


def after_commit() -> None:
    """Let the search index follow the outbox right after a commit (if search is installed)."""
    try:
        from catalog import search
    except ImportError:
        return
    hook = getattr(search, "after_commit", None)
    if hook is not None:
        hook(current_app)


def commit(s: Session) -> None:
    s.commit()
    after_commit()


def allowed_branches(s: Session) -> list[Branch]:
    """Branches where the logged-in librarian may act at the counter."""
    ids = current_staff().branch_ids_for("circulation")
    stmt = select(Branch).where(Branch.active.is_(True)).order_by(Branch.code)
    if ids is not None:
        stmt = stmt.where(Branch.id.in_(ids))
    return list(s.scalars(stmt))


def counter_branch(s: Session) -> Branch | None:
    """The branch the librarian picked (or their only branch)."""
    branches = allowed_branches(s)
    chosen = session.get(BRANCH_KEY)
    for b in branches:
        if b.id == chosen:
            return b
    if len(branches) == 1:
        return branches[0]
    return None


def _need_branch() -> Any:
    flash(_("请先选择您所在的馆点"), "warning")
    return redirect(url_for("circulation.choose_branch", next=request.full_path))


@bp.route("/branch", methods=["GET", "POST"])
@staff_required("circulation")
def choose_branch() -> Any:
    s = db_session()
    branches = allowed_branches(s)
    if request.method == "POST":
        ReasonForm().validate() or abort(400)
        wanted = request.form.get("branch_id", type=int)
        if wanted not in {b.id for b in branches}:
            abort(403)
        session[BRANCH_KEY] = wanted
        target = request.args.get("next") or ""
        if not target.startswith("/") or target.startswith("//"):
            target = url_for("circulation.counter")
        return redirect(target)
    return render_template("circulation/choose_branch.html", branches=branches, current=counter_branch(s))


# --- the counter ---------------------------------------------------------------------------------


def _render_counter(s: Session, branch: Branch, *, card: str = "", form: CheckoutForm | None = None,
                    status: int = 200, last_loan: Loan | None = None, blocked: list[Any] | None = None) -> Any:
    reader: Reader | None = None
    summary = None
    now = clock.now()
    if card:
        reader = s.scalar(select(Reader).where(Reader.card_number == card.strip()))
        if reader is None:
            flash(_("找不到读者证 %(card)s", card=card), "error")
            status = 404 if status == 200 else status
        else:
            summary = services.reader_summary(s, reader, now)
    if form is None:
        form = CheckoutForm(formdata=None, data={"card": reader.card_number if reader else ""})
    return render_template(
        "circulation/counter.html", branch=branch, reader=reader, summary=summary, form=form,
        card_form=CardForm(formdata=None), today=local_date(now), last_loan=last_loan, blocked=blocked or [],
        damage_form=DamageForm(formdata=None), reason_form=ReasonForm(formdata=None),
        status_labels=ITEM_STATUS_LABELS, hold_labels=HOLD_STATE_LABELS,
    ), status


@bp.route("/")
@staff_required("circulation")
def counter() -> Any:
    s = db_session()
    branch = counter_branch(s)
    if branch is None:
        return _need_branch()
    card = (request.args.get("card") or "").strip()
    if card:
        reader = s.scalar(select(Reader).where(Reader.card_number == card))
        if reader is not None:
            # a card scanned at the counter is a visit (once per reader, branch and day)
            with get_database().transaction() as ws:
                services.record_visit(ws, reader=ws.get_one(Reader, reader.id), branch=ws.get_one(Branch, branch.id),
                                      now=clock.now())
    return _render_counter(s, branch, card=card)


@bp.route("/checkout", methods=["POST"])
@staff_required("circulation")
def checkout() -> Any:
    s = db_session()
    branch = counter_branch(s)
    if branch is None:
        return _need_branch()
    form = CheckoutForm()
    if not form.validate():
        return _render_counter(s, branch, card=form.card.data or "", form=form, status=422)
    staff = current_staff()
    try:
        loan = services.checkout(s, item_barcode=form.barcode.data or "", card_number=form.card.data or "",
                                 branch=branch, now=clock.now(), staff=staff,
                                 override_reason=(form.override_reason.data or "").strip() or None)
    except LibraryError as exc:
        s.rollback()
        blocks = getattr(exc, "blocks", None)
        flash(exc.text, "error")
        return _render_counter(s, branch, card=form.card.data or "", form=form, status=exc.status, blocked=blocks)
    commit(s)
    flash(_("已借出《%(title)s》，应还日期 %(day)s", title=loan.item.record.title, day=loan.due_on.isoformat()),
          "success")
    return redirect(url_for("circulation.counter", card=form.card.data))


@bp.route("/renew", methods=["POST"])
@staff_required("circulation")
def renew() -> Any:
    s = db_session()
    form = BarcodeForm()
    card = request.form.get("card", "")
    if form.validate():
        try:
            loan = services.renew(s, item_barcode=form.barcode.data or "", now=clock.now(),
                                  card_number=card or None, staff=current_staff())
            commit(s)
            flash(_("已续借，新的应还日期 %(day)s", day=loan.due_on.isoformat()), "success")
        except LibraryError as exc:
            s.rollback()
            flash(exc.text, "error")
    return redirect(url_for("circulation.counter", card=card))


@bp.route("/renew-all", methods=["POST"])
@staff_required("circulation")
def renew_all() -> Any:
    s = db_session()
    form = CardForm()
    if not form.validate():
        abort(400)
    try:
        results = services.renew_all(s, card_number=form.card.data or "", now=clock.now(), staff=current_staff())
    except LibraryError as exc:
        s.rollback()
        flash(exc.text, "error")
        return redirect(url_for("circulation.counter", card=form.card.data))
    commit(s)
    ok = [b for b, r in results if isinstance(r, Loan)]
    flash(_("续借成功 %(n)s 册", n=len(ok)), "success" if ok else "info")
    for barcode, r in results:
        if isinstance(r, LibraryError):
            flash(f"{barcode}：{r.text}", "warning")
    return redirect(url_for("circulation.counter", card=form.card.data))


@bp.route("/lost", methods=["POST"])
@staff_required("circulation")
def mark_lost() -> Any:
    s = db_session()
    form = BarcodeForm()
    card = request.form.get("card", "")
    if form.validate():
        try:
            charge = services.mark_lost(s, item_barcode=form.barcode.data or "", now=clock.now(),
                                        staff=current_staff(), branch=counter_branch(s))
            commit(s)
            flash(_("已登记遗失，赔偿 %(amount)s 元", amount=charge.amount if charge else 0), "success")
        except LibraryError as exc:
            s.rollback()
            flash(exc.text, "error")
    return redirect(url_for("circulation.counter", card=card))


@bp.route("/damaged", methods=["POST"])
@staff_required("circulation")
def mark_damaged() -> Any:
    s = db_session()
    form = DamageForm()
    card = request.form.get("card", "")
    if not form.validate():
        flash(_("请填写条码、金额和损坏情况"), "error")
        return redirect(url_for("circulation.counter", card=card))
    try:
        amount = Decimal(form.data["amount"])
        charge = services.mark_damaged(s, item_barcode=form.barcode.data or "", amount=amount,
                                       note=form.note.data or "", now=clock.now(), staff=current_staff(),
                                       branch=counter_branch(s))
        commit(s)
        if charge is None and amount > 0:
            flash(_("已登记损坏，图书送修；找不到可收费的借阅者（无借阅记录或已匿名化），未收取赔偿"), "warning")
        else:
            flash(_("已登记损坏，图书送修"), "success")
    except LibraryError as exc:
        s.rollback()
        flash(exc.text, "error")
    return redirect(url_for("circulation.counter", card=card))


@bp.route("/charges/<int:charge_id>/<how>", methods=["POST"])
@staff_required("circulation")
def settle_charge(charge_id: int, how: str) -> Any:
    if how not in ("paid", "waived"):
        abort(404)
    s = db_session()
    form = ReasonForm()
    card = request.form.get("card", "")
    if not form.validate():
        abort(400)
    try:
        services.settle_charge(s, charge_id=charge_id, how=how, now=clock.now(), staff=current_staff(),
                               reason=form.reason.data or "")
        commit(s)
        flash(_("已收费") if how == "paid" else _("已减免"), "success")
    except LibraryError as exc:
        s.rollback()
        flash(exc.text, "error")
    return redirect(url_for("circulation.counter", card=card))


@bp.route("/holds/<int:hold_id>/cancel", methods=["POST"])
@staff_required("circulation")
def cancel_hold(hold_id: int) -> Any:
    s = db_session()
    card = request.form.get("card", "")
    form = ReasonForm()
    if not form.validate():
        abort(400)
    try:
        services.cancel_hold(s, hold_id=hold_id, now=clock.now(), staff=current_staff())
        commit(s)
        flash(_("预约已取消"), "success")
    except LibraryError as exc:
        s.rollback()
        flash(exc.text, "error")
    back = request.form.get("back") or ""
    if not back.startswith("/") or back.startswith("//"):
        back = url_for("circulation.counter", card=card)
    return redirect(back)


# --- check-in ------------------------------------------------------------------------------------


def _checkin_log() -> list[dict[str, Any]]:
    log: list[dict[str, Any]] = session.get(CHECKIN_LOG_KEY) or []
    return log


@bp.route("/checkin", methods=["GET", "POST"])
@staff_required("circulation")
def checkin() -> Any:
    s = db_session()
    branch = counter_branch(s)
    if branch is None:
        return _need_branch()
    form = BarcodeForm()
    status = 200
    if request.method == "POST":
        if form.validate():
            try:
                result = services.checkin(s, item_barcode=form.barcode.data or "", branch=branch, now=clock.now(),
                                          staff=current_staff())
                entry = {
                    "barcode": result.item.barcode,
                    "title": result.item.record.title,
                    "action": result.action,
                    "destination": result.destination.name if result.destination else "",
                    "reader": result.hold.reader.name if result.hold else "",
                    "card": result.hold.reader.card_number if result.hold else "",
                    "late_days": result.loan.overdue_days if result.loan and not result.on_time else 0,
                    "at": clock.now().isoformat(),
                }
                commit(s)
                session[CHECKIN_LOG_KEY] = [entry, *_checkin_log()][:30]
                return redirect(url_for("circulation.checkin"))
            except LibraryError as exc:
                s.rollback()
                flash(exc.text, "error")
                status = exc.status
        else:
            status = 422
    log = _checkin_log() if branch is not None else []
    return render_template("circulation/checkin.html", branch=branch, form=BarcodeForm(formdata=None), log=log,
                           action_labels=ACTION_LABELS), status


@bp.route("/checkin/clear", methods=["POST"])
@staff_required("circulation")
def checkin_clear() -> Any:
    ReasonForm().validate() or abort(400)
    session.pop(CHECKIN_LOG_KEY, None)
    return redirect(url_for("circulation.checkin"))


@bp.route("/slip/<barcode>")
@staff_required("circulation")
def slip(barcode: str) -> Any:
    """A printable slip: where the copy goes, or whose hold it is."""
    s = db_session()
    item = s.scalar(select(Item).where(Item.barcode == barcode).options(joinedload(Item.record)))
    if item is None:
        abort(404)
    transit = s.scalar(select(Transit).where(Transit.item_id == item.id, Transit.received_at.is_(None),
                                             Transit.cancelled_at.is_(None)))
    hold = s.scalar(select(Hold).where(Hold.trapped_item_id == item.id, Hold.state.in_(("in_transit", "ready"))))
    return render_template("circulation/slip.html", item=item, transit=transit, hold=hold, now=clock.now())


# --- transfers and hold shelf --------------------------------------------------------------------


@bp.route("/transfers", methods=["GET", "POST"])
@staff_required("circulation")
def transfers() -> Any:
    s = db_session()
    branch = counter_branch(s)
    if branch is None:
        return _need_branch()
    if request.method == "POST":
        ReasonForm().validate() or abort(400)
        ids = [int(x) for x in request.form.getlist("transit_id") if x.isdigit()]
        try:
            n = services.mark_sent(s, transit_ids=ids, branch_id=branch.id, now=clock.now(), staff=current_staff())
            commit(s)
            flash(_("已登记发出 %(n)s 册", n=n), "success")
        except LibraryError as exc:
            s.rollback()
            flash(exc.text, "error")
        return redirect(url_for("circulation.transfers"))
    return render_template("circulation/transfers.html", branch=branch, to_send=services.to_send(s, branch.id),
                           incoming=services.incoming(s, branch.id), form=BarcodeForm(formdata=None),
                           reason_form=ReasonForm(formdata=None))


@bp.route("/hold-shelf")
@staff_required("circulation")
def hold_shelf() -> Any:
    s = db_session()
    branch = counter_branch(s)
    if branch is None:
        return _need_branch()
    holds = list(s.scalars(
        select(Hold).where(Hold.pickup_branch_id == branch.id, Hold.state.in_(("ready", "in_transit")))
        .options(joinedload(Hold.reader), joinedload(Hold.record), joinedload(Hold.trapped_item))
        .order_by(Hold.state.desc(), Hold.expires_on, Hold.id)))
    waiting = list(s.scalars(
        select(Hold).where(Hold.pickup_branch_id == branch.id, Hold.state == "waiting")
        .options(joinedload(Hold.reader), joinedload(Hold.record)).order_by(Hold.created_at).limit(200)))
    return render_template("circulation/hold_shelf.html", branch=branch, holds=holds, waiting=waiting,
                           today=local_date(clock.now()), hold_labels=HOLD_STATE_LABELS,
                           reason_form=ReasonForm(formdata=None))


@bp.route("/pull-list")
@staff_required("circulation")
def pull_list_page() -> Any:
    """The holds pull list (取书单): waiting holds a copy on this branch's shelf can fill."""
    s = db_session()
    branch = counter_branch(s)
    if branch is None:
        return _need_branch()
    return render_template("circulation/pull_list.html", branch=branch, pulls=pull_list(s, branch), now=clock.now(),
                           form=BarcodeForm(formdata=None))


def _branch_pull_count(branch: Branch) -> int:
    """For the counter navigation (``_branchbar.html``)."""
    return pull_count(db_session(), branch)


# --- statistics ----------------------------------------------------------------------------------


def _stats_args(s: Session) -> tuple[dt.date, dt.date, Branch | None, list[int] | None]:
    today = local_date(clock.now())
    try:
        end = dt.date.fromisoformat(request.args.get("end") or today.isoformat())
        start = dt.date.fromisoformat(request.args.get("start") or (end - dt.timedelta(days=29)).isoformat())
    except ValueError:
        abort(400)
    if start > end or (end - start).days > 366:
        abort(400)
    branch_id = request.args.get("branch", type=int)
    branch = s.get(Branch, branch_id) if branch_id else None
    return start, end, branch, [branch.id] if branch else None


@bp.route("/stats")
@staff_required("circulation")
def stats() -> Any:
    s = db_session()
    start, end, branch, ids = _stats_args(s)
    rows = daily_stats(s, start=start, end=end, branch_ids=ids)
    days = totals_by_day(rows, start, end)
    names = {b.id: b.name for b in s.scalars(select(Branch))}
    totals = {k: sum(getattr(d, k) for d in days)
              for k in ("checkout", "checkin", "renewal", "hold_placed", "visit", "active_readers")}
    kinds = {"checkout": _("借出"), "checkin": _("归还"), "visit": _("到馆")}
    chart = line_chart([d.day.isoformat() for d in days],
                       [Series(name, [getattr(d, key) for d in days], PALETTE[i], dashed=i == 1)
                        for i, (key, name) in enumerate(kinds.items())],
                       title=_("每日借出、归还与到馆"), axis_labels=[d.day.strftime("%m-%d") for d in days])
    return render_template("circulation/stats.html", rows=rows, names=names, start=start, end=end, chart=chart,
                           branch=branch, branches=list(s.scalars(select(Branch).order_by(Branch.code))),
                           totals=totals)


@bp.route("/stats.csv")
@staff_required("circulation")
def stats_csv() -> Response:
    s = db_session()
    start, end, _branch, ids = _stats_args(s)
    rows = daily_stats(s, start=start, end=end, branch_ids=ids)
    codes = {b.id: (b.code, b.name) for b in s.scalars(select(Branch))}
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["day", "branch_code", "branch", "loans", "returns", "renewals", "holds", "active_readers", "visits"])
    for r in rows:
        code, name = codes.get(r.branch_id, ("", ""))
        w.writerow([r.day.isoformat(), code, name, r.checkout, r.checkin, r.renewal, r.hold_placed,
                    r.active_readers, r.visit])
    return Response("\ufeff" + buf.getvalue(), mimetype="text/csv; charset=utf-8", headers={
        "Content-Disposition": f"attachment; filename=circulation-{start}-{end}.csv"})


# --- rules matrix --------------------------------------------------------------------------------


def _scope_choices(s: Session, form: RuleForm | RuleTestForm) -> None:
    any_ = str(_("（任意）"))
    form.branch_id.choices = [SelectChoice(0, any_)] + [
        SelectChoice(b.id, f"{b.code} {b.name}") for b in s.scalars(select(Branch).order_by(Branch.code))]
    form.reader_category_code.choices = [SelectChoice("", any_)] + [
        SelectChoice(c.code, c.name) for c in s.scalars(select(ReaderCategory).order_by(ReaderCategory.sort_order))]
    form.item_type_code.choices = [SelectChoice("", any_)] + [
        SelectChoice(t.code, t.name + ("" if t.loanable else str(_("（不外借）"))))
        for t in s.scalars(select(ItemType).order_by(ItemType.sort_order))]


def _rules_page(s: Session, *, form: RuleForm | None = None, editing: CirculationRule | None = None,
                status: int = 200) -> Any:
    rules = sorted(s.scalars(select(CirculationRule)), key=lambda r: (r.specificity(), r.scope_key))
    if form is None:
        form = RuleForm(formdata=None, obj=editing) if editing else RuleForm(formdata=None, data={
            "loan_days": 30, "renewals": 1, "max_items": 10, "max_holds": 5, "grace_days": 0,
            "consequence": "suspension", "fine_per_day": Decimal("0.10"), "fine_cap": Decimal("20.00"),
            "suspension_factor": Decimal("1"), "max_suspension_days": 90, "hold_shelf_days": 7,
            "charge_limit": Decimal("10.00")})
        if editing:
            form.branch_id.data = editing.branch_id or 0
            form.reader_category_code.data = editing.reader_category_code or ""
            form.item_type_code.data = editing.item_type_code or ""
    _scope_choices(s, form)
    tester = RuleTestForm(request.args)
    _scope_choices(s, tester)
    tested = None
    if "test" in request.args:
        tested = find_rule(s, branch_id=tester.branch_id.data or None,
                           category=tester.reader_category_code.data or None,
                           item_type=tester.item_type_code.data or None)
    names = {b.id: b.name for b in s.scalars(select(Branch))}
    cats = {c.code: c.name for c in s.scalars(select(ReaderCategory))}
    types = {t.code: t for t in s.scalars(select(ItemType))}
    return render_template("circulation/rules.html", rules=rules, form=form, editing=editing, tester=tester,
                           tested=tested, names=names, cats=cats, types=types), status


@bp.route("/rules", methods=["GET", "POST"])
@bp.route("/rules/<int:rule_id>", methods=["GET", "POST"])
@staff_required("admin")
def rules(rule_id: int | None = None) -> Any:
    s = db_session()
    editing = s.get(CirculationRule, rule_id) if rule_id else None
    if rule_id and editing is None:
        abort(404)
    if request.method == "GET":
        return _rules_page(s, editing=editing)
    form = RuleForm()
    _scope_choices(s, form)
    if not form.validate():
        return _rules_page(s, form=form, editing=editing, status=422)
    values = {name: form.data[name] for name in RULE_FIELDS}
    values["note"] = values.get("note") or ""
    try:
        rule = save_rule(s, rule=editing, branch_id=form.branch_id.data or None,
                         category=form.reader_category_code.data or None,
                         item_type=form.item_type_code.data or None, values=values)
        from library import audit

        audit.record(s, action="circulation.rule_saved", staff=current_staff(), target_type="circulation_rule",
                     target_id=rule.id, details={"scope": rule.scope_key,
                                                 **{k: str(v) for k, v in values.items()}}, now=clock.now())
        s.commit()
    except LibraryError as exc:
        s.rollback()
        flash(exc.text, "error")
        return _rules_page(s, form=form, editing=editing, status=exc.status)
    flash(_("规则已保存"), "success")
    return redirect(url_for("circulation.rules"))


@bp.route("/rules/<int:rule_id>/delete", methods=["POST"])
@staff_required("admin")
def delete_rule(rule_id: int) -> Any:
    ReasonForm().validate() or abort(400)
    s = db_session()
    rule = s.get(CirculationRule, rule_id)
    if rule is None:
        abort(404)
    if rule.scope_key == "*|*|*":
        flash(_("默认规则不能删除，可以修改"), "error")
        return redirect(url_for("circulation.rules"))
    from library import audit

    audit.record(s, action="circulation.rule_deleted", staff=current_staff(), target_type="circulation_rule",
                 target_id=rule.id, details={"scope": rule.scope_key}, now=clock.now())
    s.delete(rule)
    s.commit()
    flash(_("规则已删除"), "success")
    return redirect(url_for("circulation.rules"))


def init_app(app: Flask) -> None:
    """Register the circulation blueprints, API, CLI commands, jobs and demo steps."""
    from circulation import api, demo, jobs, reader_views

    app.register_blueprint(bp)
    reader_views.init_app(app)
    api.init_app(app)
    jobs.init_app(app)
    demo.init_app(app)
    register_nav(app, NavItem("circulation.counter", _l("借还台"), audience="staff", roles=("circulation",),
                              order=20))
    register_nav(app, NavItem("circulation.checkin", _l("还书"), audience="staff", roles=("circulation",),
                              order=21))
    register_nav(app, NavItem("circulation.transfers", _l("调拨"), audience="staff", roles=("circulation",),
                              order=22))
    register_nav(app, NavItem("circulation.hold_shelf", _l("预约架"), audience="staff", roles=("circulation",),
                              order=23))
    register_nav(app, NavItem("circulation.pull_list_page", _l("取书单"), audience="staff", roles=("circulation",),
                              order=24))
    app.jinja_env.globals["circulation_pull_count"] = _branch_pull_count
    register_nav(app, NavItem("circulation.stats", _l("流通统计"), audience="staff", roles=("circulation",),
                              order=25))
    register_admin_link(app, "circulation.rules", _l("流通规则"))

