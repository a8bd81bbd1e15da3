"""Organiser pages: campaigns (plan, edit, publish, dashboard with charts and CSV), events and
their sessions (counter registration, check-in by card, cancellations), the month calendar,
the district statistics and the settings."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response as WResponse
from wtforms.fields.choices import SelectChoice

from library import audit, clock
from library.auth import current_staff, staff_required
from library.charts import PALETTE, Series, bar_chart, line_chart
from library.db import db_session
from library.errors import LibraryError
from library.models import Branch, Township
from reading_points.campaigns import events, services, stats
from reading_points.campaigns.forms import (
    AUDIENCE_LABELS,
    CHALLENGE_LABELS,
    KIND_LABELS,
    REGISTRATION_LABELS,
    SOURCE_LABELS,
    STATUS_LABELS,
    CampaignForm,
    CardForm,
    EventForm,
    PlanForm,
    SettingsForm,
)
from reading_points.campaigns.models import Campaign, Event, EventSession, Registration

bp = Blueprint("campaigns", __name__, url_prefix="/campaigns")

ORGANISER = ("organiser",)
COUNTER = ("organiser", "circulation")
POSTER_TYPES = {".jpg", ".jpeg", ".png", ".webp"}


@bp.app_context_processor
def _labels() -> dict[str, Any]:
    return {"kind_labels": KIND_LABELS, "campaign_status_labels": STATUS_LABELS, "audience_labels": AUDIENCE_LABELS,
            "challenge_labels": CHALLENGE_LABELS, "registration_labels": REGISTRATION_LABELS,
            "source_labels": SOURCE_LABELS}


def _branch_rows() -> list[tuple[int, str]]:
    rows = db_session().execute(select(Branch.id, Branch.code, Branch.name).where(Branch.active.is_(True))
                                .order_by(Branch.code)).all()
    return [(i, f"{name}（{code}）") for i, code, name in rows]


def _branch_choices() -> list[SelectChoice]:
    return [SelectChoice(i, label) for i, label in _branch_rows()]  # type: ignore[arg-type]


def _poster_dir() -> Path:
    path = Path(current_app.config["LIBRARY_UPLOAD_DIR"]) / "campaign_posters"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _save_poster(storage: Any) -> str | None:
    if storage is None or not getattr(storage, "filename", ""):
        return None
    suffix = Path(storage.filename).suffix.lower()
    if suffix not in POSTER_TYPES:
        return None
    name = f"{uuid.uuid4().hex}{suffix}"
    storage.save(_poster_dir() / name)
    return name


# -- campaigns ---------------------------------------------------------------------------------


@bp.route("/")
@staff_required(*ORGANISER)
def index() -> str:
    session = db_session()
    year = request.args.get("year", type=int) or clock.local_today().year
    campaigns = session.scalars(select(Campaign).where(
        Campaign.start_date >= dt.date(year, 1, 1), Campaign.start_date <= dt.date(year, 12, 31))
        .options(selectinload(Campaign.branches)).order_by(Campaign.start_date)).all()
    return render_template("campaigns/index.html", campaigns=campaigns, year=year,
                           plan_form=PlanForm(year=year), today=clock.local_today())


@bp.route("/plan", methods=["POST"])
@staff_required(*ORGANISER)
def plan() -> WResponse:
    form = PlanForm()
    if not form.validate_on_submit() or form.year.data is None:
        flash(_("年份无效"), "error")
        return redirect(url_for("campaigns.index"))
    session = db_session()
    created = services.plan_year(session, form.year.data, now=clock.now(), staff=current_staff())
    session.commit()
    flash(_("已生成 %(n)s 个活动季草稿，请调整后发布", n=len(created)) if created
          else _("该年度的活动季已存在，未重复生成"), "success" if created else "info")
    return redirect(url_for("campaigns.index", year=form.year.data))


def _campaign_data(form: CampaignForm) -> services.CampaignData:
    return services.CampaignData(
        name=form.name.data or "", kind=form.kind.data or "custom",
        start_date=form.start_date.data or dt.date.today(), end_date=form.end_date.data or dt.date.today(),
        branch_ids=list(form.branch_ids.data or []), multiplier=Decimal(form.multiplier.data or 1),
        description=form.description.data or "", challenge_books=form.challenge_books.data,
        challenge_mode=form.challenge_mode.data or "either", challenge_badge=form.challenge_badge.data or "",
        challenge_bonus=form.challenge_bonus.data or 0)


@bp.route("/new", methods=["GET", "POST"])
@bp.route("/<int:campaign_id>/edit", methods=["GET", "POST"])
@staff_required(*ORGANISER)
def edit(campaign_id: int | None = None) -> str | WResponse | tuple[str, int]:
    session = db_session()
    campaign = services.get_campaign(session, campaign_id) if campaign_id else None
    form = CampaignForm(obj=campaign)
    form.branch_ids.choices = _branch_choices()
    if request.method == "GET" and campaign is not None:
        form.branch_ids.data = [b.id for b in campaign.branches]
    if form.validate_on_submit():
        data = _campaign_data(form)
        try:
            if campaign is None:
                campaign = services.create_campaign(session, data, now=clock.now(), staff=current_staff())
            else:
                services.update_campaign(session, campaign, data, now=clock.now(), staff=current_staff())
        except LibraryError as exc:
            session.rollback()
            flash(exc.text, "error")
            return render_template("campaigns/campaign_form.html", form=form, campaign=campaign), exc.status
        poster = _save_poster(form.poster.data)
        if poster:
            campaign.poster_filename = poster
        session.commit()
        flash(_("活动季已保存"), "success")
        return redirect(url_for("campaigns.detail", campaign_id=campaign.id))
    status = 422 if request.method == "POST" else 200
    return render_template("campaigns/campaign_form.html", form=form, campaign=campaign), status


@bp.route("/<int:campaign_id>/publish", methods=["POST"])
@staff_required(*ORGANISER)
def publish(campaign_id: int) -> WResponse:
    session = db_session()
    campaign = services.get_campaign(session, campaign_id)
    if request.form.get("action") == "unpublish":
        services.unpublish_campaign(session, campaign, now=clock.now(), staff=current_staff())
        flash(_("已撤回为草稿"), "info")
    else:
        services.publish_campaign(session, campaign, now=clock.now(), staff=current_staff())
        flash(_("活动季已发布"), "success")
    session.commit()
    return redirect(url_for("campaigns.detail", campaign_id=campaign.id))


@bp.route("/<int:campaign_id>")
@staff_required(*ORGANISER)
def detail(campaign_id: int) -> str:
    session = db_session()
    campaign = services.get_campaign(session, campaign_id)
    board = stats.dashboard(session, campaign)
    return render_template("campaigns/detail.html", campaign=campaign, board=board, **_dashboard_charts(board))


def _dashboard_charts(board: stats.Dashboard) -> dict[str, Markup]:
    """Registration funnel (a colour per stage), loans per day against the same dates last year
    (dashed), registrations per event (the first 12)."""
    days = board.loans_by_day
    return {
        "funnel_svg": bar_chart([(_("报名人数"), board.registrations), (_("候补人数"), board.waitlisted),
                                 (_("签到人数"), board.attended), (_("未到人数"), board.no_shows)],
                                title=_("报名与签到"), colours=PALETTE[:4]),
        "loans_svg": line_chart([d.isoformat() for d, _a, _b in days],
                                [Series(_("今年"), [a for _d, a, _b in days], PALETTE[0]),
                                 Series(_("去年同期"), [b for _d, _a, b in days], PALETTE[1], dashed=True)],
                                title=_("活动期间每日借阅量与去年同期对比"),
                                axis_labels=[d.strftime("%m-%d") for d, _a, _b in days]),
        "events_svg": bar_chart([(str(row["event"].title), row["registered"]) for row in board.per_event[:12]],
                                title=_("各活动报名人数")),
    }


@bp.route("/<int:campaign_id>/dashboard.csv")
@staff_required(*ORGANISER)
def dashboard_csv(campaign_id: int) -> Response:
    session = db_session()
    campaign = services.get_campaign(session, campaign_id)
    body = "\ufeff" + stats.dashboard_csv(stats.dashboard(session, campaign))
    return Response(body, mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f"attachment; filename=campaign-{campaign.id}.csv"})


# -- events ------------------------------------------------------------------------------------


def _event_form_choices(form: EventForm) -> None:
    session = db_session()
    form.branch_id.choices = _branch_choices()
    camps = session.execute(select(Campaign.id, Campaign.name).where(Campaign.end_date >= clock.local_today()
                                                                     - dt.timedelta(days=365))
                            .order_by(Campaign.start_date.desc())).all()
    form.campaign_id.choices = [SelectChoice(0, _("（不属于活动季）"))] + [  # type: ignore[arg-type]
        SelectChoice(i, n) for i, n in camps]  # type: ignore[arg-type]


def _local_to_utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=clock.DEFAULT_TZ).astimezone(dt.UTC)


def _event_data(form: EventForm) -> events.EventData:
    rule = form.recurrence.data or ""
    if rule == "custom":
        rule = form.custom_rule.data or ""
    starts = _local_to_utc(form.starts_at.data)
    assert starts is not None
    return events.EventData(
        title=form.title.data or "", branch_id=form.branch_id.data or 0, capacity=form.capacity.data or 0,
        starts_at=starts, duration_minutes=form.duration_minutes.data or 60,
        audience=form.audience.data or "adults", room=form.room.data or "", description=form.description.data or "",
        campaign_id=form.campaign_id.data or None, recurrence_rule=rule or None,
        registration_opens_at=_local_to_utc(form.registration_opens_at.data),
        registration_closes_hours=form.registration_closes_hours.data or 0)


@bp.route("/events/new", methods=["GET", "POST"])
@bp.route("/events/<int:event_id>/edit", methods=["GET", "POST"])
@staff_required(*ORGANISER)
def event_edit(event_id: int | None = None) -> str | WResponse | tuple[str, int]:
    session = db_session()
    event = events.get_event(session, event_id) if event_id else None
    form = EventForm(obj=event)
    _event_form_choices(form)
    if request.method == "GET":
        if event is not None:
            form.campaign_id.data = event.campaign_id or 0
            form.starts_at.data = clock.to_local(event.first_starts_at).replace(tzinfo=None)
            if event.registration_opens_at:
                form.registration_opens_at.data = clock.to_local(event.registration_opens_at).replace(tzinfo=None)
            rule = event.recurrence_rule or ""
            known = {c.value for c in form.recurrence.choices}  # type: ignore[union-attr]
            form.recurrence.data = rule if rule in known else "custom"
            form.custom_rule.data = "" if rule in known else rule
        else:
            form.campaign_id.data = request.args.get("campaign_id", 0, type=int)
    if form.validate_on_submit():
        try:
            data = _event_data(form)
            if event is None:
                event = events.create_event(session, data, now=clock.now(), staff=current_staff())
            else:
                events.update_event(session, event, data, now=clock.now(), staff=current_staff())
        except LibraryError as exc:
            session.rollback()
            flash(exc.text, "error")
            return render_template("campaigns/event_form.html", form=form, event=event), exc.status
        session.commit()
        flash(_("活动已保存"), "success")
        return redirect(url_for("campaigns.event_detail", event_id=event.id))
    status = 422 if request.method == "POST" else 200
    return render_template("campaigns/event_form.html", form=form, event=event), status


@bp.route("/events/<int:event_id>")
@staff_required(*COUNTER)
def event_detail(event_id: int) -> str:
    session = db_session()
    event = events.get_event(session, event_id)
    rows = [(s, events.counts(session, s.id)) for s in event.sessions]
    return render_template("campaigns/event_detail.html", event=event, rows=rows, now=clock.now())


@bp.route("/sessions/<int:session_id>")
@staff_required(*COUNTER)
def session_detail(session_id: int) -> str:
    session = db_session()
    event_session = events.get_session(session, session_id)
    regs = session.scalars(select(Registration).where(Registration.session_id == session_id)
                           .options(selectinload(Registration.reader))
                           .order_by(Registration.created_at, Registration.id)).all()
    return render_template("campaigns/session_detail.html", s=event_session, event=event_session.event,
                           regs=regs, counts=events.counts(session, session_id), card_form=CardForm(),
                           checkin_form=CardForm(prefix="checkin"), now=clock.now())


def _staff_branch_check(event_session: EventSession) -> None:
    staff = current_staff()
    if not staff.has_role("organiser") and not staff.can_act_at("circulation", event_session.event.branch_id):
        abort(403)


@bp.route("/sessions/<int:session_id>/register", methods=["POST"])
@staff_required(*COUNTER)
def session_register(session_id: int) -> WResponse:
    session = db_session()
    _staff_branch_check(events.get_session(session, session_id))
    form = CardForm()
    if form.validate_on_submit():
        try:
            reg = events.register_by_card(session, session_id=session_id, card_number=form.card_number.data or "",
                                          now=clock.now(), staff=current_staff())
        except LibraryError as exc:
            session.rollback()
            flash(exc.text, "error")
        else:
            session.commit()
            flash(_("已报名") if reg.status == "registered" else _("名额已满，已加入候补名单"),
                  "success" if reg.status == "registered" else "warning")
    else:
        flash(_("请输入读者证号"), "error")
    return redirect(url_for("campaigns.session_detail", session_id=session_id))


@bp.route("/sessions/<int:session_id>/check-in", methods=["POST"])
@staff_required(*COUNTER)
def session_check_in(session_id: int) -> WResponse:
    session = db_session()
    _staff_branch_check(events.get_session(session, session_id))
    form = CardForm(prefix="checkin")
    if form.validate_on_submit():
        try:
            reg = events.check_in(session, session_id=session_id, card_number=form.card_number.data or "",
                                  now=clock.now(), staff=current_staff())
        except LibraryError as exc:
            session.rollback()
            flash(exc.text, "error")
        else:
            name = reg.reader.name
            session.commit()
            flash(_("%(name)s 已签到", name=name), "success")
    else:
        flash(_("请扫描读者证"), "error")
    return redirect(url_for("campaigns.session_detail", session_id=session_id) + "#checkin")


@bp.route("/registrations/<int:registration_id>/cancel", methods=["POST"])
@staff_required(*COUNTER)
def registration_cancel(registration_id: int) -> WResponse:
    session = db_session()
    reg = session.get(Registration, registration_id)
    if reg is None:
        abort(404)
    _staff_branch_check(reg.session)
    session_id = reg.session_id
    promoted = events.cancel_registration(session, registration_id=registration_id, now=clock.now(),
                                          staff=current_staff())
    session.commit()
    flash(_("报名已取消") + ("；" + _("已自动递补 %(n)s 位候补读者并通知", n=len(promoted)) if promoted else ""), "success")
    return redirect(url_for("campaigns.session_detail", session_id=session_id))


@bp.route("/sessions/<int:session_id>/cancel", methods=["POST"])
@staff_required(*ORGANISER)
def session_cancel(session_id: int) -> WResponse:
    session = db_session()
    event_session = events.get_session(session, session_id)
    events.cancel_session(session, event_session, now=clock.now(), staff=current_staff())
    session.commit()
    flash(_("该场次已取消，已通知报名读者"), "success")
    return redirect(url_for("campaigns.event_detail", event_id=event_session.event_id))


# -- calendar, statistics, settings ------------------------------------------------------------


def _month_arg() -> tuple[int, int]:
    raw = request.args.get("month", "")
    try:
        year, month = (int(x) for x in raw.split("-", 1))
        if 1 <= month <= 12 and 2000 <= year <= 2100:
            return year, month
    except ValueError:
        pass
    today = clock.local_today()
    return today.year, today.month


@bp.route("/calendar")
@staff_required(*COUNTER)
def month_calendar() -> str:
    session = db_session()
    year, month = _month_arg()
    branch_id = request.args.get("branch", type=int)
    prev_m = dt.date(year, month, 1) - dt.timedelta(days=1)
    next_m = dt.date(year, month, 28) + dt.timedelta(days=7)
    return render_template(
        "campaigns/calendar.html", year=year, month=month, grid=stats.month_grid(year, month),
        by_day=stats.month_sessions(session, year, month, branch_id=branch_id), branches=_branch_rows(),
        branch_id=branch_id, prev_month=f"{prev_m.year}-{prev_m.month:02d}",
        next_month=f"{next_m.year}-{next_m.month:02d}", today=clock.local_today())


@bp.route("/stats")
@staff_required(*ORGANISER)
def district_stats() -> str:
    session = db_session()
    year = request.args.get("year", type=int) or clock.local_today().year
    data = stats.district_stats(session, year)
    return render_template("campaigns/stats.html", stats=data, year=year,
                           townships=session.scalars(select(Township).order_by(Township.code)).all(),
                           chart_svg=bar_chart([(str(r["township"].name), round(r["rate"] or 0, 2))
                                                for r in data["townships"]], title=_("每万人活动场次（按乡镇）")))


@bp.route("/stats.csv")
@staff_required(*ORGANISER)
def district_stats_csv() -> Response:
    year = request.args.get("year", type=int) or clock.local_today().year
    body = "\ufeff" + stats.stats_csv(stats.district_stats(db_session(), year))
    return Response(body, mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f"attachment; filename=events-per-10000-{year}.csv"})


@bp.route("/stats/population", methods=["POST"])
@staff_required("admin")
def population() -> WResponse | tuple[str, int]:
    """Admins correct the population of each township (the denominator of the statistics)."""
    session = db_session()
    townships = session.scalars(select(Township).order_by(Township.code)).all()
    changes = {}
    for t in townships:
        raw = (request.form.get(f"population-{t.id}") or "").strip()
        if not raw.isdigit() or int(raw) > 10_000_000:
            flash(_("人口数必须是非负整数：%(name)s", name=t.name), "error")
            return redirect(url_for("campaigns.district_stats", year=request.form.get("year")))
        if int(raw) != t.population:
            changes[t.code] = [t.population, int(raw)]
            t.population = int(raw)
    if changes:
        audit.record(session, action="township.population", staff=current_staff(), target_type="township",
                     details=changes)
    session.commit()
    flash(_("人口数已更新"), "success")
    return redirect(url_for("campaigns.district_stats", year=request.form.get("year")))


@bp.route("/settings", methods=["GET", "POST"])
@staff_required(*ORGANISER)
def settings_page() -> str | WResponse | tuple[str, int]:
    session = db_session()
    settings = services.get_settings(session)
    form = SettingsForm(obj=settings)
    if form.validate_on_submit():
        if (form.summer_start_month.data or 0) > (form.summer_end_month.data or 0):
            form.summer_end_month.errors = [_("结束月份不能早于开始月份")]
            return render_template("campaigns/settings.html", form=form), 422
        form.populate_obj(settings)
        audit.record(session, action="campaign.settings", staff=current_staff(), target_type="campaign_settings")
        session.commit()
        flash(_("设置已保存"), "success")
        return redirect(url_for("campaigns.settings_page"))
    return render_template("campaigns/settings.html", form=form), 422 if request.method == "POST" else 200


@bp.route("/events")
@staff_required(*COUNTER)
def event_list() -> str:
    session = db_session()
    upcoming = session.scalars(select(EventSession).join(Event).where(EventSession.starts_at >= clock.now()
                                                                      - dt.timedelta(days=1))
                               .options(selectinload(EventSession.event).selectinload(Event.branch))
                               .order_by(EventSession.starts_at).limit(200)).all()
    return render_template("campaigns/event_list.html", sessions=upcoming,
                           counts={s.id: events.counts(session, s.id) for s in upcoming})
