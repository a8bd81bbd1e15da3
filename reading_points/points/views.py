"""Points pages: "my points" and the leaderboard for readers; the ledger, adjustments,
redemptions to hand out, reports, rewards and rules for staff."""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.wrappers import Response as WerkzeugResponse
from wtforms.fields.choices import SelectChoice

from library import clock
from library.auth import current_reader, current_staff, reader_required, staff_required
from library.charts import PALETTE, Series, column_chart, line_chart
from library.db import db_session
from library.errors import LibraryError, NotFound
from library.models import Branch, Reader
from library.services import get_reader_by_card
from reading_points.points import queries, rewards, services
from reading_points.points.forms import AdjustForm, RedeemForm, ReverseForm, RewardForm
from reading_points.points.ledger import account_for, local_date
from reading_points.points.models import (
    EARN_KINDS,
    PENALTY_KINDS,
    PointsAccount,
    PointsEntry,
    PointsRule,
    PointsSetting,
    Redemption,
    Reward,
)

reader_bp = Blueprint("points_reader", __name__, url_prefix="/points")
staff_bp = Blueprint("points_staff", __name__, url_prefix="/staff/points")

PER_PAGE = 20
IMAGE_MAGIC = {b"\x89PNG": "png", b"\xff\xd8\xff": "jpg", b"RIFF": "webp"}


def _branches() -> list[Branch]:
    return list(db_session().scalars(select(Branch).where(Branch.active.is_(True)).order_by(Branch.code)))


def _month_arg() -> str:
    month = request.args.get("month", "")
    try:
        dt.datetime.strptime(month, "%Y-%m")
    except ValueError:
        month = clock.local_today().strftime("%Y-%m")
    return month


# --- readers -------------------------------------------------------------------------------

def _my_points_context(reader: Reader) -> dict[str, Any]:
    session = db_session()
    now = clock.now()
    account = account_for(session, reader.id)
    ctx: dict[str, Any] = {"reader": reader, "account": account, "entries": [], "next_before": None,
                           "chart": None, "expiring": [], "affordable": [], "redemptions": []}
    today = local_date(now)
    offers = queries.rewards_on_offer(session, today)
    stock = queries.stock_by_reward(session, [r.id for r in offers])
    ctx["offers"] = offers
    ctx["stock"] = stock
    if account is None:
        return ctx
    before = request.args.get("before", type=int)
    page = queries.history(session, account.id, before=before, per_page=PER_PAGE)
    ctx["entries"], ctx["next_before"] = page.entries, page.next_before
    series = queries.balance_by_month(session, account, today)
    ctx["chart"] = line_chart([m for m, _n in series], [Series(_("积分"), [n for _m, n in series])],
                              title=_("近 12 个月积分走势"), axis_labels=[m[5:] for m, _n in series])
    ctx["expiring"] = queries.expiring_soon(session, account, now)
    ctx["affordable"] = [r for r in offers if r.cost <= account.balance]
    ctx["redemptions"] = queries.recent_redemptions(session, reader.id)
    return ctx


@reader_bp.route("/")
@reader_required
def my_points() -> str:
    reader = current_reader()
    form = RedeemForm()
    form.branch_id.choices = [SelectChoice(str(b.id), b.name) for b in _branches()]
    form.branch_id.data = reader.home_branch_id
    return render_template("points/my_points.html", form=form, **_my_points_context(reader))


@reader_bp.route("/redeem/<int:reward_id>", methods=["POST"])
@reader_required
def redeem(reward_id: int) -> WerkzeugResponse | tuple[str, int]:
    reader = current_reader()
    form = RedeemForm()
    form.branch_id.choices = [SelectChoice(str(b.id), b.name) for b in _branches()]
    session = db_session()
    if not form.validate_on_submit():
        flash(_("请选择领取分馆"), "error")
        return render_template("points/my_points.html", form=form, **_my_points_context(reader)), 422
    try:
        redemption = services.redeem(session, reader_id=reader.id, reward_id=reward_id,
                                     branch_id=form.branch_id.data or reader.home_branch_id, now=clock.now(),
                                     idempotency_key=f"web:{reader.id}:{reward_id}:{form.token.data}")
    except LibraryError as exc:
        session.rollback()
        flash(exc.text, "error")
        return render_template("points/my_points.html", form=form, **_my_points_context(reader)), exc.status
    session.commit()
    if redemption.status == "held":
        flash(_("兑换成功，请在 %(date)s 前到 %(branch)s 领取",
                date=redemption.expires_at.astimezone(clock.DEFAULT_TZ).strftime("%Y-%m-%d"),
                branch=redemption.branch.name), "success")
    else:
        flash(_("兑换成功，权益已生效"), "success")
    return redirect(url_for("points_reader.my_points"))


@reader_bp.route("/redemptions/<int:redemption_id>/cancel", methods=["POST"])
@reader_required
def cancel(redemption_id: int) -> WerkzeugResponse:
    reader = current_reader()
    session = db_session()
    try:
        services.cancel_redemption(session, redemption_id=redemption_id, reader_id=reader.id, now=clock.now())
    except LibraryError as exc:
        session.rollback()
        flash(exc.text, "error")
        return redirect(url_for("points_reader.my_points"))
    session.commit()
    flash(_("已取消兑换，积分已退回"), "success")
    return redirect(url_for("points_reader.my_points"))


@reader_bp.route("/leaderboard")
def leaderboard() -> str:
    session = db_session()
    branches = _branches()
    branch_id = request.args.get("branch", type=int) or (branches[0].id if branches else 0)
    month = _month_arg()
    rows = queries.leaderboard(session, branch_id=branch_id, month=month) if branch_id else []
    return render_template("points/leaderboard.html", branches=branches, branch_id=branch_id, month=month, rows=rows)


@reader_bp.route("/rewards/<int:reward_id>/picture")
def reward_picture(reward_id: int) -> Response:
    reward = db_session().get(Reward, reward_id)
    if reward is None or not reward.picture:
        abort(404)
    return send_from_directory(Path(current_app.config["LIBRARY_UPLOAD_DIR"]) / "rewards", reward.picture,
                               max_age=3600)


# --- staff ---------------------------------------------------------------------------------

@staff_bp.route("/")
@staff_required("circulation")
def index() -> str | WerkzeugResponse:
    card = request.args.get("card", "").strip()
    if card:
        return redirect(url_for("points_staff.ledger", card_number=card))
    staff = current_staff()
    held = queries.open_redemptions(db_session(), branch_ids=staff.branch_ids_for("circulation"))
    return render_template("points/staff_index.html", redemptions=held, now=clock.now())


def _ledger_page(card_number: str, adjust_form: AdjustForm | None = None, status: int = 200) -> tuple[str, int]:
    session = db_session()
    try:
        reader = get_reader_by_card(session, card_number)
    except NotFound:
        abort(404)
    account = account_for(session, reader.id)
    page = queries.history(session, account.id, before=request.args.get("before", type=int), per_page=50) \
        if account else queries.HistoryPage([], None)
    reversed_ids = set()
    if page.entries:
        reversed_ids = set(session.scalars(select(PointsEntry.reverses_id).where(
            PointsEntry.reverses_id.in_([e.id for e in page.entries]))))
    return render_template(
        "points/staff_ledger.html", reader=reader, account=account, entries=page.entries,
        next_before=page.next_before, adjust_form=adjust_form or AdjustForm(), reverse_form=ReverseForm(),
        reversed_ids=reversed_ids, redemptions=queries.recent_redemptions(session, reader.id),
        expiring=queries.expiring_soon(session, account, clock.now()) if account else [],
    ), status


@staff_bp.route("/reader/<card_number>")
@staff_required("circulation")
def ledger(card_number: str) -> tuple[str, int]:
    return _ledger_page(card_number)


@staff_bp.route("/reader/<card_number>/adjust", methods=["POST"])
@staff_required("circulation")
def adjust(card_number: str) -> WerkzeugResponse | tuple[str, int]:
    form = AdjustForm()
    session = db_session()
    reader = session.scalar(select(Reader).where(Reader.card_number == card_number))
    if reader is None:
        abort(404)
    if not form.validate_on_submit():
        return _ledger_page(card_number, form, 422)
    staff = current_staff()
    try:
        services.adjust(session, reader_id=reader.id, points=form.points.data or 0, reason=form.reason.data or "",
                        now=clock.now(), staff=staff, idempotency_key=f"adjust:{form.token.data}")
    except LibraryError as exc:
        session.rollback()
        form.points.errors = [*form.points.errors, exc.text]
        return _ledger_page(card_number, form, exc.status)
    session.commit()
    flash(_("积分已调整"), "success")
    return redirect(url_for("points_staff.ledger", card_number=card_number))


@staff_bp.route("/entries/<int:entry_id>/reverse", methods=["POST"])
@staff_required("admin")
def reverse(entry_id: int) -> WerkzeugResponse:
    form = ReverseForm()
    session = db_session()
    entry = session.get(PointsEntry, entry_id)
    if entry is None:
        abort(404)
    account = session.get(PointsAccount, entry.account_id)
    assert account is not None
    card = account.reader.card_number
    if not form.validate_on_submit():
        flash(_("请填写冲正原因"), "error")
        return redirect(url_for("points_staff.ledger", card_number=card))
    try:
        services.reverse_entry(session, entry_id=entry_id, reason=form.reason.data or "", now=clock.now(),
                               staff=current_staff())
    except LibraryError as exc:
        session.rollback()
        flash(exc.text, "error")
        return redirect(url_for("points_staff.ledger", card_number=card))
    session.commit()
    flash(_("已冲正"), "success")
    return redirect(url_for("points_staff.ledger", card_number=card))


def _redemption_for_staff(redemption_id: int) -> Redemption:
    redemption = db_session().get(Redemption, redemption_id)
    if redemption is None:
        abort(404)
    if not current_staff().can_act_at("circulation", redemption.branch_id):
        abort(403)
    return redemption


@staff_bp.route("/redemptions/<int:redemption_id>/settle", methods=["POST"])
@staff_required("circulation")
def settle(redemption_id: int) -> WerkzeugResponse:
    _redemption_for_staff(redemption_id)
    session = db_session()
    try:
        services.settle_redemption(session, redemption_id=redemption_id, now=clock.now(), staff=current_staff())
    except LibraryError as exc:
        session.rollback()
        flash(exc.text, "error")
        return redirect(url_for("points_staff.index"))
    session.commit()
    flash(_("已发放"), "success")
    return redirect(request.form.get("next") or url_for("points_staff.index"))


@staff_bp.route("/redemptions/<int:redemption_id>/release", methods=["POST"])
@staff_required("circulation")
def release(redemption_id: int) -> WerkzeugResponse:
    _redemption_for_staff(redemption_id)
    session = db_session()
    try:
        services.release_redemption(session, redemption_id=redemption_id, now=clock.now(), staff=current_staff(),
                                    reason="馆员取消兑换")
    except LibraryError as exc:
        session.rollback()
        flash(exc.text, "error")
        return redirect(url_for("points_staff.index"))
    session.commit()
    flash(_("已取消兑换，积分已退回"), "success")
    return redirect(url_for("points_staff.index"))


@staff_bp.route("/reports")
@staff_required("circulation")
def reports() -> str:
    session = db_session()
    month = _month_arg()
    branch_id = request.args.get("branch", type=int)
    data = queries.report(session, month, branch_id)
    months = queries.months_back(dt.datetime.strptime(month, "%Y-%m").date(), 12)
    trend = queries.monthly_trend(session, months, branch_id)
    kinds = {"earned": _("获得"), "redeemed": _("兑换"), "expired": _("过期")}
    chart = column_chart([t["month"] for t in trend],
                         [Series(name, [t[key] for t in trend], PALETTE[i]) for i, (key, name) in enumerate(kinds.items())],
                         title=_("近 12 个月积分"), axis_labels=[t["month"][5:] for t in trend])
    return render_template("points/reports.html", month=month, branch_id=branch_id, branches=_branches(),
                           chart=chart, kind_labels=kind_labels(), **data)


@staff_bp.route("/reports.csv")
@staff_required("circulation")
def reports_csv() -> Response:
    session = db_session()
    month = _month_arg()
    data = queries.report(session, month, request.args.get("branch", type=int))
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["month", "branch_code", "branch", *queries.REPORT_COLUMNS])
    for row in data["rows"]:
        b = row["branch"]
        writer.writerow([month, b.code if b else "", b.name if b else "", *[row[k] for k in queries.REPORT_COLUMNS]])
    writer.writerow([])
    writer.writerow(["month", "entry_kind", "rule", "count", "points", "held_change"])
    for k in data["by_kind"]:
        writer.writerow([month, k["kind"], k["rule"], k["count"], k["amount"], k["held"]])
    return Response("\ufeff" + buf.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f"attachment; filename=points-{month}.csv"})


@staff_bp.route("/rewards")
@staff_required("circulation")
def reward_list() -> str:
    session = db_session()
    items = list(session.scalars(select(Reward).order_by(Reward.active.desc(), Reward.cost)))
    return render_template("points/rewards.html", rewards=items,
                           stock=queries.stock_by_reward(session, [r.id for r in items]))


def _save_picture(storage: Any) -> str | None:
    if storage is None or not getattr(storage, "filename", ""):
        return None
    head = storage.stream.read(12)
    storage.stream.seek(0)
    ext = next((e for magic, e in IMAGE_MAGIC.items() if head.startswith(magic)), None)
    if ext is None or (ext == "webp" and head[8:12] != b"WEBP"):
        raise ValueError("not an image")
    folder = Path(current_app.config["LIBRARY_UPLOAD_DIR"]) / "rewards"
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{uuid.uuid4().hex}.{ext}"
    storage.save(folder / name)
    return name


@staff_bp.route("/rewards/new", methods=["GET", "POST"], endpoint="reward_new")
@staff_bp.route("/rewards/<int:reward_id>/edit", methods=["GET", "POST"])
@staff_required("admin")
def reward_edit(reward_id: int | None = None) -> str | WerkzeugResponse | tuple[str, int]:
    session = db_session()
    reward = session.get(Reward, reward_id) if reward_id else None
    if reward_id and reward is None:
        abort(404)
    form = RewardForm(obj=reward)
    branches = _branches()
    current = {s.branch_id: s.quantity for s in reward.stock} if reward else {}
    stock_values = {b.id: request.form.get(f"stock_{b.id}", str(current.get(b.id, ""))) for b in branches}
    if request.method == "POST":
        stock: dict[int, int] = {}
        stock_errors = False
        for b in branches:
            raw = (request.form.get(f"stock_{b.id}") or "").strip()
            if raw == "":
                if b.id in current:
                    stock[b.id] = 0
                continue
            if not raw.isdigit():
                stock_errors = True
                continue
            stock[b.id] = int(raw)
        if form.validate_on_submit() and not stock_errors:
            try:
                picture = _save_picture(form.picture.data)
            except ValueError:
                form.picture.errors = [_("只接受 JPG、PNG 或 WebP 图片")]
            else:
                saved = rewards.save_reward(
                    session, reward=reward, name=form.name.data or "", description=form.description.data or "",
                    kind=form.kind.data or "goods", cost=form.cost.data or 1, limit_per_reader=form.limit_per_reader.data,
                    extra_loans=form.extra_loans.data or 0, benefit_days=form.benefit_days.data or 30,
                    active_from=form.active_from.data, active_until=form.active_until.data,
                    active=bool(form.active.data), now=clock.now(), picture=picture, stock=stock,
                    staff=current_staff())
                session.commit()
                flash(_("奖品已保存"), "success")
                return redirect(url_for("points_staff.reward_edit", reward_id=saved.id))
        if stock_errors:
            flash(_("库存必须是不小于 0 的整数"), "error")
        return render_template("points/reward_form.html", form=form, reward=reward, branches=branches,
                               stock_values=stock_values), 422
    return render_template("points/reward_form.html", form=form, reward=reward, branches=branches,
                           stock_values=stock_values)


def kind_labels() -> dict[str, str]:
    return {
        "earn": _("获得"), "redeem": _("兑换"), "hold": _("兑换冻结"), "release": _("冻结退回"),
        "expire": _("过期"), "penalty": _("扣分"), "reverse": _("冲正"), "adjust": _("人工调整"),
        "checkout": _("借阅"), "renewal": _("续借"), "on_time_return": _("按期归还"),
        "event_attended": _("参加活动"), "review": _("书评"), "volunteer_hour": _("志愿服务"),
        "donation": _("捐书"), "challenge_bonus": _("阅读挑战"), "overdue": _("逾期"),
        "no_show": _("活动未到场"), "uncollected_hold": _("预约未取"),
    }


@reader_bp.app_context_processor
def _labels() -> dict[str, Any]:
    return {"points_kind_labels": kind_labels}


@staff_bp.route("/rules", methods=["GET", "POST"])
@staff_required("admin")
def rules() -> str | WerkzeugResponse | tuple[str, int]:
    session = db_session()
    rule_rows = [session.get(PointsRule, k) for k in (*EARN_KINDS, *PENALTY_KINDS)]
    settings = list(session.scalars(select(PointsSetting).order_by(PointsSetting.key)))
    errors: dict[str, str] = {}
    if request.method == "POST":
        values: dict[str, dict[str, int | None | bool]] = {}

        def number(name: str, *, optional: bool) -> int | None:
            raw = (request.form.get(name) or "").strip()
            if raw == "" and optional:
                return None
            if not raw.isdigit():
                errors[name] = _("请输入不小于 0 的整数")
                return None
            return int(raw)

        for rule in rule_rows:
            if rule is None:
                continue
            k = rule.kind
            values[k] = {"points": number(f"{k}_points", optional=False),
                         "daily_cap": number(f"{k}_daily_cap", optional=True),
                         "monthly_cap": number(f"{k}_monthly_cap", optional=True),
                         "per_item_cap": number(f"{k}_per_item_cap", optional=True),
                         "active": request.form.get(f"{k}_active") == "on"}
        setting_values = {s.key: number(f"setting_{s.key}", optional=False) for s in settings}
        if errors:
            return render_template("points/rules.html", rules=[r for r in rule_rows if r], settings=settings,
                                   errors=errors, form_values=request.form), 422
        changes = {}
        for rule in rule_rows:
            if rule is None:
                continue
            for field, value in values[rule.kind].items():
                if getattr(rule, field) != value:
                    changes[f"{rule.kind}.{field}"] = value
                    setattr(rule, field, value)
        for s in settings:
            value = setting_values[s.key]
            if value is not None and s.value != value:
                changes[s.key] = value
                s.value = value
        from library import audit

        audit.record(session, action="points.rules.update", staff=current_staff(), details=changes, now=clock.now())
        session.commit()
        flash(_("积分规则已保存"), "success")
        return redirect(url_for("points_staff.rules"))
    return render_template("points/rules.html", rules=[r for r in rule_rows if r], settings=settings, errors=errors,
                           form_values=None)

