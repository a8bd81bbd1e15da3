"""Event use cases: events and their sessions (one-off or an RRULE), registration with a
waitlist, cancellation with automatic promotion, check-in, reminders and no-shows.

Concurrency: every change to a session's registrations first locks the session row
(``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite write transactions are already serialised by
``BEGIN IMMEDIATE``), so capacity holds and each cancellation promotes exactly one waitlisted
reader, the first one, even when cancellations arrive at the same moment."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from dateutil.rrule import rrulestr
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from library import audit, clock
from library.models import Reader, StaffUser
from library.services import get_reader_by_card
from reading_points.campaigns import integration
from reading_points.campaigns.errors import (
    AlreadyRegistered,
    EventNotFound,
    InvalidEvent,
    NotRegistered,
    ReaderBlocked,
    RegistrationClosed,
    RegistrationNotFound,
    SessionFull,
    SessionNotFound,
)
from reading_points.campaigns.models import AUDIENCES, Event, EventSession, Registration
from reading_points.campaigns.services import get_settings
from reading_points.campaigns.text import _, zh

MAX_SESSIONS = 200
NO_SHOW_GRACE = dt.timedelta(hours=1)


@dataclass
class EventData:
    """What an organiser fills in for an event. ``starts_at`` is the first session (aware)."""

    title: str
    branch_id: int
    capacity: int
    starts_at: dt.datetime
    duration_minutes: int = 60
    audience: str = "adults"
    room: str = ""
    description: str = ""
    campaign_id: int | None = None
    recurrence_rule: str | None = None
    registration_opens_at: dt.datetime | None = None
    registration_closes_hours: int = 0


def occurrences(starts_at: dt.datetime, rule: str | None) -> list[dt.datetime]:
    """Session start times: ``starts_at`` alone, or the RRULE expanded from it in local time (so
    a weekly 10:00 story time stays at 10:00). Raises InvalidEvent for a bad or unbounded rule."""
    if not rule:
        return [starts_at]
    local = clock.to_local(starts_at).replace(tzinfo=None)
    text = rule.strip()
    if text.upper().startswith("RRULE:"):
        text = text[6:]
    if "COUNT=" not in text.upper() and "UNTIL=" not in text.upper():
        raise InvalidEvent(reason=_("重复规则需要 COUNT 或 UNTIL"))
    try:
        parsed = rrulestr(text, dtstart=local)
        times = []
        for i, t in enumerate(parsed):  # type: ignore[attr-defined]
            if i >= MAX_SESSIONS:
                raise InvalidEvent(reason=_("重复次数过多（最多 %(n)s 场）", n=MAX_SESSIONS))
            times.append(t.replace(tzinfo=clock.DEFAULT_TZ).astimezone(dt.UTC))
    except (ValueError, TypeError) as exc:
        raise InvalidEvent(reason=_("重复规则无法解析")) from exc
    if not times:
        raise InvalidEvent(reason=_("重复规则没有产生任何场次"))
    return times


def _validate(data: EventData) -> None:
    if not data.title.strip():
        raise InvalidEvent(reason=_("请填写标题"))
    if data.capacity <= 0:
        raise InvalidEvent(reason=_("名额应大于 0"))
    if data.duration_minutes <= 0:
        raise InvalidEvent(reason=_("时长应大于 0"))
    if data.audience not in AUDIENCES:
        raise InvalidEvent(reason=_("对象无效"))
    if data.starts_at.tzinfo is None:
        raise InvalidEvent(reason=_("开始时间无效"))


def get_event(session: Session, event_id: int) -> Event:
    event = session.get(Event, event_id)
    if event is None:
        raise EventNotFound()
    return event


def get_session(session: Session, session_id: int, *, lock: bool = False) -> EventSession:
    stmt = select(EventSession).where(EventSession.id == session_id)
    if lock:
        stmt = stmt.with_for_update()
    found = session.scalar(stmt)
    if found is None:
        raise SessionNotFound()
    return found


def create_event(session: Session, data: EventData, *, now: dt.datetime, staff: StaffUser | None = None) -> Event:
    """A published event with its sessions. Raises InvalidEvent."""
    _validate(data)
    times = occurrences(data.starts_at, data.recurrence_rule)
    event = Event(created_at=now, status="published")
    _fill(event, data)
    duration = dt.timedelta(minutes=data.duration_minutes)
    event.sessions = [EventSession(starts_at=t, ends_at=t + duration, status="scheduled") for t in times]
    session.add(event)
    session.flush()
    audit.record(session, action="event.create", staff=staff, target_type="event", target_id=event.id,
                 branch_id=event.branch_id, now=now, details={"sessions": len(times)})
    return event


def _fill(event: Event, data: EventData) -> None:
    event.title = data.title.strip()
    event.description = data.description
    event.branch_id = data.branch_id
    event.room = data.room.strip()
    event.audience = data.audience
    event.capacity = data.capacity
    event.campaign_id = data.campaign_id
    event.first_starts_at = data.starts_at
    event.duration_minutes = data.duration_minutes
    event.recurrence_rule = (data.recurrence_rule or "").strip() or None
    event.registration_opens_at = data.registration_opens_at
    event.registration_closes_hours = data.registration_closes_hours


def update_event(session: Session, event: Event, data: EventData, *, now: dt.datetime,
                 staff: StaffUser | None = None) -> Event:
    """Edit an event. Future sessions without registrations follow a new time or rule; sessions
    that have registrations or have passed are kept. Raises InvalidEvent."""
    _validate(data)
    times = occurrences(data.starts_at, data.recurrence_rule)
    old_capacity = event.capacity
    _fill(event, data)
    duration = dt.timedelta(minutes=data.duration_minutes)
    keep = {}
    for s in list(event.sessions):
        has_regs = session.scalar(select(func.count()).select_from(Registration).where(
            Registration.session_id == s.id)) or 0
        if has_regs or s.starts_at <= now:
            keep[s.starts_at] = s
            s.ends_at = s.starts_at + duration
        else:
            event.sessions.remove(s)
    session.flush()
    for t in times:
        if t not in keep and t > now:
            event.sessions.append(EventSession(starts_at=t, ends_at=t + duration, status="scheduled"))
    session.flush()
    if event.capacity > old_capacity:
        for s in event.sessions:
            if s.starts_at > now:
                locked = get_session(session, s.id, lock=True)
                _fill_places(session, locked, now=now)
    audit.record(session, action="event.update", staff=staff, target_type="event", target_id=event.id,
                 branch_id=event.branch_id, now=now)
    return event


def cancel_session(session: Session, event_session: EventSession, *, now: dt.datetime,
                   staff: StaffUser | None = None) -> None:
    """Cancel one session: its readers are told, nobody is reminded or counted as a no-show."""
    locked = get_session(session, event_session.id, lock=True)
    if locked.status == "cancelled":
        return
    locked.status = "cancelled"
    event = locked.event
    for reg in active_registrations(session, locked.id):
        reg.status = "cancelled"
        reg.cancelled_at = now
        integration.queue_notice(
            session, reader=reg.reader, kind="event_cancelled", dedup_key=f"event-cancelled:{locked.id}:{reg.reader_id}",
            subject=zh("活动取消：%(title)s", title=event.title),
            body=zh("很抱歉，您报名的活动“%(title)s”（%(when)s，%(branch)s）已取消。", title=event.title,
                   when=format_local(locked.starts_at), branch=event.branch.name),
            branch=event.branch, now=now)
    audit.record(session, action="event.session_cancel", staff=staff, target_type="event_session",
                 target_id=locked.id, branch_id=event.branch_id, now=now)


def format_local(value: dt.datetime) -> str:
    return clock.to_local(value).strftime("%Y-%m-%d %H:%M")


# -- registrations -----------------------------------------------------------------------------


def active_registrations(session: Session, session_id: int) -> list[Registration]:
    return list(session.scalars(select(Registration).where(
        Registration.session_id == session_id, Registration.status.in_(("registered", "waitlisted")))
        .order_by(Registration.created_at, Registration.id)))


def counts(session: Session, session_id: int) -> dict[str, int]:
    rows = session.execute(select(Registration.status, func.count()).where(Registration.session_id == session_id)
                           .group_by(Registration.status)).all()
    out = {"registered": 0, "waitlisted": 0, "cancelled": 0}
    out.update({status: n for status, n in rows})
    out["attended"] = session.scalar(select(func.count()).select_from(Registration).where(
        Registration.session_id == session_id, Registration.attended_at.is_not(None))) or 0
    return out


def registration_window(event_session: EventSession) -> tuple[dt.datetime | None, dt.datetime]:
    event = event_session.event
    closes = event_session.starts_at - dt.timedelta(hours=event.registration_closes_hours)
    return event.registration_opens_at, closes


def register(session: Session, *, session_id: int, reader: Reader, now: dt.datetime, source: str = "opac",
             staff: StaffUser | None = None) -> Registration:
    """Register ``reader`` for a session: a place while there is one, else the waitlist.
    Raises RegistrationClosed, AlreadyRegistered or ReaderBlocked (when the settings refuse
    readers blocked from circulation)."""
    event_session = get_session(session, session_id, lock=True)
    event = event_session.event
    opens, closes = registration_window(event_session)
    if event.status != "published" or event_session.status != "scheduled" or now >= closes \
            or (opens is not None and now < opens):
        raise RegistrationClosed()
    if event.campaign is not None and event.campaign.status == "draft":
        raise RegistrationClosed()
    if session.scalar(select(Registration.id).where(
            Registration.session_id == session_id, Registration.reader_id == reader.id,
            Registration.status.in_(("registered", "waitlisted")))) is not None:
        raise AlreadyRegistered()
    if get_settings(session).refuse_blocked_readers:
        reasons = integration.reader_block_messages(session, reader, now)
        if reasons:
            raise ReaderBlocked(reasons="；".join(reasons))
    taken = counts(session, session_id)["registered"]
    status = "registered" if taken < event.capacity else "waitlisted"
    reg = Registration(session_id=session_id, reader_id=reader.id, status=status, source=source, created_at=now)
    session.add(reg)
    session.flush()
    audit.record(session, action=f"event.{status}", staff=staff, actor="" if staff else f"reader:{reader.id}",
                 target_type="event_registration", target_id=reg.id, branch_id=event.branch_id, now=now)
    return reg


def register_by_card(session: Session, *, session_id: int, card_number: str, now: dt.datetime,
                     staff: StaffUser) -> Registration:
    """Staff register a reader at the counter by card number."""
    reader = get_reader_by_card(session, card_number.strip())
    return register(session, session_id=session_id, reader=reader, now=now, source="counter", staff=staff)


def _fill_places(session: Session, event_session: EventSession, *, now: dt.datetime) -> list[Registration]:
    """Promote waitlisted readers, first come first served, while places are free; each
    promoted reader is told (one notice per registration). The session row must be locked."""
    capacity = event_session.event.capacity
    taken = counts(session, event_session.id)["registered"]
    promoted: list[Registration] = []
    if taken >= capacity or event_session.status != "scheduled" or event_session.starts_at <= now:
        return promoted
    waiting = session.scalars(select(Registration).where(
        Registration.session_id == event_session.id, Registration.status == "waitlisted")
        .order_by(Registration.created_at, Registration.id).limit(capacity - taken)).all()
    event = event_session.event
    for reg in waiting:
        reg.status = "registered"
        reg.promoted_at = now
        promoted.append(reg)
        integration.queue_notice(
            session, reader=reg.reader, kind="event_promoted", dedup_key=f"event-promoted:{reg.id}",
            subject=zh("候补成功：%(title)s", title=event.title),
            body=zh("您已从候补名单转为正式报名：“%(title)s”，%(when)s，%(branch)s %(room)s。", title=event.title,
                   when=format_local(event_session.starts_at), branch=event.branch.name, room=event.room),
            branch=event.branch, now=now)
    session.flush()
    return promoted


def cancel_registration(session: Session, *, registration_id: int, now: dt.datetime,
                        reader: Reader | None = None, staff: StaffUser | None = None) -> list[Registration]:
    """Cancel a registration (a reader may cancel only their own). A freed place goes to the
    first waitlisted reader, who is told. Cancelling twice does nothing the second time.
    Returns the promoted registrations. Raises RegistrationNotFound."""
    reg = session.get(Registration, registration_id)
    if reg is None or (reader is not None and reg.reader_id != reader.id):
        raise RegistrationNotFound()
    event_session = get_session(session, reg.session_id, lock=True)
    session.refresh(reg)  # the state after the lock: a concurrent cancellation may have won
    if reg.status == "cancelled":
        return []
    reg.status = "cancelled"
    reg.cancelled_at = now
    session.flush()
    promoted = _fill_places(session, event_session, now=now)
    audit.record(session, action="event.cancel_registration", staff=staff,
                 actor="" if staff else f"reader:{reg.reader_id}", target_type="event_registration",
                 target_id=reg.id, branch_id=event_session.event.branch_id, now=now,
                 details={"promoted": [p.id for p in promoted]})
    return promoted


# -- attendance --------------------------------------------------------------------------------


def check_in(session: Session, *, session_id: int, card_number: str, now: dt.datetime, staff: StaffUser,
             allow_walk_in: bool = True) -> Registration:
    """Staff scan a reader's card at the session. A registered reader is marked present and
    earns the attendance points once; a walk-in gets a free place if there is one.
    Raises NotRegistered, SessionFull, or circulation's reader look-up errors."""
    reader = get_reader_by_card(session, card_number.strip())
    event_session = get_session(session, session_id, lock=True)
    reg = session.scalar(select(Registration).where(
        Registration.session_id == session_id, Registration.reader_id == reader.id,
        Registration.status.in_(("registered", "waitlisted"))))
    if reg is None or reg.status == "waitlisted":
        if not allow_walk_in:
            raise NotRegistered()
        if counts(session, session_id)["registered"] >= event_session.event.capacity:
            raise SessionFull()
        if reg is None:
            reg = Registration(session_id=session_id, reader_id=reader.id, status="registered", source="walk_in",
                               created_at=now)
            session.add(reg)
        else:
            reg.status = "registered"
            reg.promoted_at = now
    if reg.attended_at is None:
        reg.attended_at = now
        reg.checked_in_by_id = staff.id
        reg.no_show = False
        session.flush()
        if get_settings(session).attendance_points:
            integration.earn(session, reader_id=reader.id, kind="event_attended",
                             idempotency_key=f"event-session:{session_id}:attended:{reader.id}",
                             reason=zh("参加活动：%(title)s", title=event_session.event.title), now=now,
                             source=f"event_session:{session_id}")
        audit.record(session, action="event.check_in", staff=staff, target_type="event_registration",
                     target_id=reg.id, branch_id=event_session.event.branch_id, now=now)
    return reg


# -- what the scheduler does -------------------------------------------------------------------


def send_reminders(session: Session, now: dt.datetime) -> int:
    """Remind registered readers (never the waitlisted) of sessions starting within the lead
    time; each reader once per session (dedup key). Returns the number of notices queued."""
    lead = dt.timedelta(hours=get_settings(session).reminder_lead_hours)
    due = session.scalars(select(EventSession).join(Event).where(
        EventSession.status == "scheduled", Event.status == "published",
        EventSession.starts_at > now, EventSession.starts_at <= now + lead)).all()
    sent = 0
    for s in due:
        event = s.event
        for reg in session.scalars(select(Registration).where(
                Registration.session_id == s.id, Registration.status == "registered")):
            notice = integration.queue_notice(
                session, reader=reg.reader, kind="event_reminder", dedup_key=f"event-reminder:{s.id}:{reg.reader_id}",
                subject=zh("活动提醒：%(title)s", title=event.title),
                body=zh("您报名的活动“%(title)s”将于 %(when)s 在%(branch)s %(room)s 开始，欢迎准时参加。",
                       title=event.title, when=format_local(s.starts_at), branch=event.branch.name, room=event.room),
                branch=event.branch, now=now)
            if notice is not None:
                reg.reminded_at = now
                sent += 1
    session.flush()
    return sent


def process_no_shows(session: Session, now: dt.datetime) -> int:
    """After a session ended (plus an hour for late check-ins), registered readers who did not
    come are marked no-show and get the configured consequence, once per session (the session
    is stamped processed; the ledger key is unique too). Returns the number of no-shows."""
    penalty = get_settings(session).no_show_penalty
    ended = session.scalars(select(EventSession).where(
        EventSession.status == "scheduled", EventSession.no_shows_processed_at.is_(None),
        EventSession.ends_at <= now - NO_SHOW_GRACE).with_for_update()).all()
    total = 0
    for s in ended:
        for reg in session.scalars(select(Registration).where(
                Registration.session_id == s.id, Registration.status == "registered",
                Registration.attended_at.is_(None))):
            reg.no_show = True
            total += 1
            if penalty:
                integration.penalise(session, reader_id=reg.reader_id, kind="no_show",
                                     idempotency_key=f"event-session:{s.id}:no_show:{reg.reader_id}",
                                     reason=zh("报名未到：%(title)s", title=s.event.title), now=now)
        s.no_shows_processed_at = now
    session.flush()
    return total
