"""Reader and public pages: upcoming events, registering and cancelling on the OPAC, the
reader's own registrations and reading challenges, and the iCalendar feeds."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response as WResponse

from library import clock
from library.auth import current_reader, reader_required
from library.db import db_session
from library.errors import LibraryError
from library.models import Branch
from reading_points.campaigns import events, ical, services
from reading_points.campaigns.forms import ReadingLogForm
from reading_points.campaigns.models import Campaign, ChallengeCompletion, Event, EventSession, Registration

bp = Blueprint("campaigns_opac", __name__)

PUBLIC_CAMPAIGN = ("published", "active", "ended")


def _visible_event(event: Event) -> bool:
    return event.status != "draft" and (event.campaign is None or event.campaign.status in PUBLIC_CAMPAIGN)


def _public_upcoming(limit: int) -> list[EventSession]:
    stmt = (select(EventSession).join(Event).outerjoin(Campaign, Event.campaign_id == Campaign.id).where(
        EventSession.starts_at >= clock.now(), EventSession.status == "scheduled", Event.status == "published",
        (Event.campaign_id.is_(None)) | (Campaign.status.in_(PUBLIC_CAMPAIGN)))
        .options(selectinload(EventSession.event).selectinload(Event.branch))
        .order_by(EventSession.starts_at).limit(limit))
    return list(db_session().scalars(stmt))


@bp.app_template_global("upcoming_event_sessions")
def upcoming_event_sessions(limit: int = 5) -> list[EventSession]:
    """For the home page panel: the next public sessions across the network."""
    return _public_upcoming(limit)


@bp.route("/events/")
def upcoming() -> str:
    session = db_session()
    branch_code = request.args.get("branch", "")
    audience = request.args.get("audience", "")
    stmt = (select(EventSession).join(Event).outerjoin(Campaign, Event.campaign_id == Campaign.id).where(
        EventSession.starts_at >= clock.now(), EventSession.status == "scheduled", Event.status == "published",
        (Event.campaign_id.is_(None)) | (Campaign.status.in_(PUBLIC_CAMPAIGN)))
        .options(selectinload(EventSession.event).selectinload(Event.branch))
        .order_by(EventSession.starts_at).limit(100))
    if branch_code:
        stmt = stmt.join(Branch, Event.branch_id == Branch.id).where(Branch.code == branch_code)
    if audience:
        stmt = stmt.where(Event.audience == audience)
    sessions = session.scalars(stmt).all()
    campaigns = session.scalars(select(Campaign).where(
        Campaign.status.in_(("published", "active")), Campaign.end_date >= clock.local_today())
        .order_by(Campaign.start_date)).all()
    branches = session.execute(select(Branch.code, Branch.name).where(Branch.active.is_(True))
                               .order_by(Branch.code)).all()
    return render_template("campaigns/opac_list.html", sessions=sessions, campaigns=campaigns, branches=branches,
                           branch_code=branch_code, audience=audience,
                           counts={s.id: events.counts(session, s.id) for s in sessions})


@bp.route("/events/<int:event_id>")
def event_page(event_id: int) -> str:
    session = db_session()
    event = events.get_event(session, event_id)
    if not _visible_event(event):
        abort(404)
    mine: dict[int, Registration] = {}
    user = current_reader() if _is_reader() else None
    if user is not None:
        for reg in session.scalars(select(Registration).join(EventSession).where(
                EventSession.event_id == event.id, Registration.reader_id == user.id,
                Registration.status.in_(("registered", "waitlisted")))):
            mine[reg.session_id] = reg
    now = clock.now()
    rows = [(s, events.counts(session, s.id), events.registration_window(s)) for s in event.sessions
            if s.ends_at >= now - dt.timedelta(days=1)]
    return render_template("campaigns/opac_event.html", event=event, rows=rows, mine=mine, now=now)


def _is_reader() -> bool:
    from flask_login import current_user

    return bool(getattr(current_user, "is_authenticated", False) and getattr(current_user, "is_reader", False))


@bp.route("/events/sessions/<int:session_id>/register", methods=["POST"])
@reader_required
def register(session_id: int) -> WResponse:
    session = db_session()
    event_session = events.get_session(session, session_id)
    event_id = event_session.event_id
    try:
        reg = events.register(session, session_id=session_id, reader=current_reader(), now=clock.now())
    except LibraryError as exc:
        session.rollback()
        flash(exc.text, "error")
    else:
        session.commit()
        if reg.status == "registered":
            flash(_("报名成功，活动开始前我们会提醒您"), "success")
        else:
            flash(_("名额已满，您已进入候补名单；有人取消时将自动递补并通知您"), "warning")
    return redirect(url_for("campaigns_opac.event_page", event_id=event_id))


@bp.route("/events/registrations/<int:registration_id>/cancel", methods=["POST"])
@reader_required
def cancel(registration_id: int) -> WResponse:
    session = db_session()
    try:
        events.cancel_registration(session, registration_id=registration_id, now=clock.now(),
                                   reader=current_reader())
    except LibraryError as exc:
        session.rollback()
        flash(exc.text, "error")
    else:
        session.commit()
        flash(_("已取消报名"), "success")
    return redirect(request.form.get("next") or url_for("campaigns_opac.mine"))


@bp.route("/events/mine")
@reader_required
def mine() -> str:
    session = db_session()
    reader = current_reader()
    regs = session.scalars(select(Registration).join(EventSession).where(
        Registration.reader_id == reader.id, EventSession.starts_at >= clock.now() - dt.timedelta(days=90))
        .options(selectinload(Registration.session).selectinload(EventSession.event))
        .order_by(EventSession.starts_at.desc())).all()
    running = [c for c in services.running_campaigns(session, clock.now())
               if c.challenge_books and c.status != "ended"]
    progress = [(c, services.challenge_progress(session, c, reader.id)) for c in running]
    badges = session.scalars(select(ChallengeCompletion).where(ChallengeCompletion.reader_id == reader.id)
                             .order_by(ChallengeCompletion.completed_at.desc())).all()
    return render_template("campaigns/opac_mine.html", regs=regs, progress=progress, badges=badges,
                           log_form=ReadingLogForm(), now=clock.now())


@bp.route("/events/campaigns/<int:campaign_id>/log", methods=["POST"])
@reader_required
def log_book(campaign_id: int) -> WResponse | tuple[str, int]:
    session = db_session()
    campaign = services.get_campaign(session, campaign_id)
    form = ReadingLogForm()
    if form.validate_on_submit():
        try:
            services.log_book(session, campaign, current_reader(), title=form.title.data or "",
                              author=form.author.data or "", now=clock.now())
        except LibraryError as exc:
            session.rollback()
            flash(exc.text, "error")
        else:
            session.commit()
            flash(_("已登记"), "success")
    else:
        flash(_("请填写书名"), "error")
    return redirect(url_for("campaigns_opac.mine"))


@bp.route("/events/campaigns/<int:campaign_id>")
def campaign_page(campaign_id: int) -> str:
    session = db_session()
    campaign = services.get_campaign(session, campaign_id)
    if campaign.status not in PUBLIC_CAMPAIGN:
        abort(404)
    return render_template("campaigns/opac_campaign.html", campaign=campaign,
                           event_list=[e for e in campaign.events if e.status == "published"])


@bp.route("/events/campaigns/<int:campaign_id>/poster")
def poster(campaign_id: int) -> Response:
    session = db_session()
    campaign = services.get_campaign(session, campaign_id)
    if not campaign.poster_filename:
        abort(404)
    from flask_login import current_user

    if campaign.status not in PUBLIC_CAMPAIGN and not getattr(current_user, "is_staff", False):
        abort(404)
    path = Path(current_app.config["LIBRARY_UPLOAD_DIR"]) / "campaign_posters" / Path(campaign.poster_filename).name
    if not path.is_file():
        abort(404)
    return send_file(path, max_age=3600)


# -- iCalendar ---------------------------------------------------------------------------------


def _ics(sessions: list[EventSession], name: str, filename: str) -> Response:
    body = ical.calendar_for(sessions, name=name, host=request.host.split(":")[0] or "library", now=clock.now())
    return Response(body, mimetype="text/calendar; charset=utf-8",
                    headers={"Content-Disposition": f'inline; filename="{filename}"'})


def _public_sessions(stmt: object) -> list[EventSession]:
    session = db_session()
    rows = session.scalars(stmt).all()  # type: ignore[call-overload]
    return [s for s in rows if _visible_event(s.event)]


@bp.route("/branches/<code>/events.ics")
def branch_ics(code: str) -> Response:
    session = db_session()
    branch = session.scalar(select(Branch).where(Branch.code == code))
    if branch is None:
        abort(404)
    since = clock.now() - dt.timedelta(days=90)
    sessions = _public_sessions(select(EventSession).join(Event).where(
        Event.branch_id == branch.id, EventSession.starts_at >= since).order_by(EventSession.starts_at))
    return _ics(sessions, f"{branch.name} · " + _("活动"), f"{code}-events.ics")


@bp.route("/campaigns/<int:campaign_id>/events.ics")
def campaign_ics(campaign_id: int) -> Response:
    session = db_session()
    campaign = services.get_campaign(session, campaign_id)
    if campaign.status not in PUBLIC_CAMPAIGN:
        abort(404)
    sessions = _public_sessions(select(EventSession).join(Event).where(Event.campaign_id == campaign.id)
                                .order_by(EventSession.starts_at))
    return _ics(sessions, campaign.name, f"campaign-{campaign.id}.ics")


@bp.route("/events/<int:event_id>.ics")
def event_ics(event_id: int) -> Response:
    session = db_session()
    event = events.get_event(session, event_id)
    if not _visible_event(event):
        abort(404)
    only = request.args.get("session", type=int)
    sessions = [s for s in event.sessions if only is None or s.id == only]
    return _ics(sessions, event.title, f"event-{event.id}.ics")
