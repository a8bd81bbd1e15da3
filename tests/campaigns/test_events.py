"""Events: recurrence, registration and waitlist, concurrent cancellations, check-in and points,
reminders and no-shows with a controllable clock."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from library import clock
from library.db import get_database
from reading_points.campaigns import events, jobs, services
from reading_points.campaigns.errors import (
    AlreadyRegistered,
    InvalidEvent,
    ReaderBlocked,
    RegistrationClosed,
    SessionFull,
)
from reading_points.campaigns.models import Registration
from tests.campaigns.factories import count, ledger, local, make_event, notices, organiser
from tests.factories import make_reader

START = local(2026, 4, 23, 14, 30)


def test_weekly_rule_keeps_local_time() -> None:
    times = events.occurrences(local(2026, 4, 4, 10), "FREQ=WEEKLY;COUNT=4")
    assert [clock.to_local(t).strftime("%m-%d %H:%M") for t in times] == [
        "04-04 10:00", "04-11 10:00", "04-18 10:00", "04-25 10:00"]
    assert events.occurrences(START, None) == [START]
    assert len(events.occurrences(local(2026, 4, 4, 10), "RRULE:FREQ=WEEKLY;BYDAY=SA,SU;UNTIL=20260430T235959")) == 8
    with pytest.raises(InvalidEvent):
        events.occurrences(START, "FREQ=WEEKLY")  # unbounded
    with pytest.raises(InvalidEvent):
        events.occurrences(START, "FREQ=SOMETIMES;COUNT=2")
    with pytest.raises(InvalidEvent):
        events.occurrences(START, "FREQ=DAILY;COUNT=500")


def test_recurring_event_has_sessions(db_session: Session) -> None:
    event = make_event(db_session, starts_at=local(2026, 4, 4, 10), rule="FREQ=WEEKLY;COUNT=3", duration=90)
    assert len(event.sessions) == 3
    assert all(s.ends_at - s.starts_at == dt.timedelta(minutes=90) for s in event.sessions)


def _readers(session: Session, n: int, **kw: Any) -> list[Any]:
    return [make_reader(session, **kw) for _ in range(n)]


def test_full_session_waitlists_and_cancel_promotes_first(db_session: Session) -> None:
    event = make_event(db_session, starts_at=START, capacity=2)
    sid = event.sessions[0].id
    readers = _readers(db_session, 4)
    now = START - dt.timedelta(days=3)
    regs = [events.register(db_session, session_id=sid, reader=r, now=now + dt.timedelta(minutes=i))
            for i, r in enumerate(readers)]
    assert [r.status for r in regs] == ["registered", "registered", "waitlisted", "waitlisted"]
    with pytest.raises(AlreadyRegistered):
        events.register(db_session, session_id=sid, reader=readers[2], now=now)
    promoted = events.cancel_registration(db_session, registration_id=regs[0].id, now=now + dt.timedelta(hours=1))
    assert [p.id for p in promoted] == [regs[2].id]
    assert [r.status for r in regs] == ["cancelled", "registered", "registered", "waitlisted"]
    sent = notices(db_session, "event_promoted")
    assert [n.reader_id for n in sent] == [readers[2].id]
    assert events.cancel_registration(db_session, registration_id=regs[0].id, now=now) == []  # twice: nothing


def test_registration_window(db_session: Session) -> None:
    event = make_event(db_session, starts_at=START, capacity=5, registration_opens_at=START - dt.timedelta(days=7),
                       registration_closes_hours=2)
    sid = event.sessions[0].id
    reader = make_reader(db_session)
    with pytest.raises(RegistrationClosed):
        events.register(db_session, session_id=sid, reader=reader, now=START - dt.timedelta(days=8))
    with pytest.raises(RegistrationClosed):
        events.register(db_session, session_id=sid, reader=reader, now=START - dt.timedelta(hours=1))
    assert events.register(db_session, session_id=sid, reader=reader, now=START - dt.timedelta(hours=3)).status \
        == "registered"


def test_blocked_reader_refused_when_configured(db_session: Session) -> None:
    event = make_event(db_session, starts_at=START, capacity=5)
    sid = event.sessions[0].id
    expired = make_reader(db_session, card_expires_on=dt.date(2026, 1, 1))
    with pytest.raises(ReaderBlocked):
        events.register(db_session, session_id=sid, reader=expired, now=START - dt.timedelta(days=1))
    services.get_settings(db_session).refuse_blocked_readers = False
    assert events.register(db_session, session_id=sid, reader=expired, now=START - dt.timedelta(days=1)).status \
        == "registered"


def _setup_full_session(app: Flask) -> tuple[int, list[int]]:
    with get_database(app).transaction() as session:
        event = make_event(session, starts_at=START, capacity=2)
        sid = event.sessions[0].id
        readers = _readers(session, 4)
        now = START - dt.timedelta(days=3)
        reg_ids = [events.register(session, session_id=sid, reader=r, now=now + dt.timedelta(minutes=i)).id
                   for i, r in enumerate(readers)]
    return sid, reg_ids


def _cancel_concurrently(app: Flask, reg_ids: list[int]) -> list[BaseException]:
    db = get_database(app)
    barrier = threading.Barrier(len(reg_ids))
    errors: list[BaseException] = []

    def cancel(reg_id: int) -> None:
        try:
            barrier.wait()
            with db.transaction() as session:
                events.cancel_registration(session, registration_id=reg_id, now=START - dt.timedelta(days=1))
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    threads = [threading.Thread(target=cancel, args=(r,)) for r in reg_ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return errors


def test_same_cancellation_twice_at_once_promotes_exactly_first(app: Flask) -> None:
    """Capacity 2, 4 registrations; the same cancellation arrives twice at the same moment
    (double click, two tabs): exactly the first waitlisted reader is promoted, once."""
    sid, regs = _setup_full_session(app)
    assert _cancel_concurrently(app, [regs[0], regs[0]]) == []
    with get_database(app).transaction() as session:
        status = {r.id: r.status for r in session.scalars(select(Registration).where(Registration.session_id == sid))}
        assert [status[r] for r in regs] == ["cancelled", "registered", "registered", "waitlisted"]
        assert len(notices(session, "event_promoted")) == 1


def test_two_cancellations_at_once_promote_first_two_in_order(app: Flask) -> None:
    sid, regs = _setup_full_session(app)
    assert _cancel_concurrently(app, [regs[0], regs[1]]) == []
    with get_database(app).transaction() as session:
        status = {r.id: r.status for r in session.scalars(select(Registration).where(Registration.session_id == sid))}
        assert [status[r] for r in regs] == ["cancelled", "cancelled", "registered", "registered"]
        assert sorted(n.dedup_key for n in notices(session, "event_promoted")) == sorted(
            f"event-promoted:{r}" for r in regs[2:])


def test_concurrent_registrations_never_exceed_capacity(app: Flask) -> None:
    with get_database(app).transaction() as session:
        sid = make_event(session, starts_at=START, capacity=3).sessions[0].id
        reader_ids = [r.id for r in _readers(session, 8)]
    db = get_database(app)
    barrier = threading.Barrier(len(reader_ids))
    errors: list[BaseException] = []

    def register(rid: int) -> None:
        try:
            barrier.wait()
            with db.transaction() as session:
                from library.models import Reader

                reader = session.get(Reader, rid)
                assert reader is not None
                events.register(session, session_id=sid, reader=reader, now=START - dt.timedelta(days=1))
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=register, args=(r,)) for r in reader_ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    with db.transaction() as session:
        assert count(session, Registration, Registration.session_id == sid, Registration.status == "registered") == 3
        assert count(session, Registration, Registration.session_id == sid, Registration.status == "waitlisted") == 5


def test_check_in_earns_points_once_and_walk_in(db_session: Session) -> None:
    staff = organiser(db_session)
    event = make_event(db_session, starts_at=START, capacity=2)
    sid = event.sessions[0].id
    a, b, c = _readers(db_session, 3)
    events.register(db_session, session_id=sid, reader=a, now=START - dt.timedelta(days=1))
    at = START + dt.timedelta(minutes=3)
    reg = events.check_in(db_session, session_id=sid, card_number=a.card_number, now=at, staff=staff)
    events.check_in(db_session, session_id=sid, card_number=a.card_number, now=at, staff=staff)
    assert reg.attended_at == at
    assert len(ledger(db_session, f"event-session:{sid}:attended:{a.id}")) == 1
    walk_in = events.check_in(db_session, session_id=sid, card_number=b.card_number, now=at, staff=staff)
    assert (walk_in.source, walk_in.status) == ("walk_in", "registered")
    with pytest.raises(SessionFull):
        events.check_in(db_session, session_id=sid, card_number=c.card_number, now=at, staff=staff)


def test_reminder_once_at_the_right_time_to_registered_only(app: Flask) -> None:
    """Time travel over the lead time (24 h by default): nothing before it, one reminder per
    registered reader inside it however often the job runs, never to the waitlisted."""
    with get_database(app).transaction() as session:
        sid = make_event(session, starts_at=START, capacity=1).sessions[0].id
        first, waiting = _readers(session, 2)
        events.register(session, session_id=sid, reader=first, now=START - dt.timedelta(days=5))
        events.register(session, session_id=sid, reader=waiting, now=START - dt.timedelta(days=5))
        first_id = first.id

    def reminders() -> list[Any]:
        with get_database(app).transaction() as session:
            return [(n.reader_id, n.dedup_key) for n in notices(session, "event_reminder")]

    with clock.frozen(START - dt.timedelta(hours=24, minutes=1)):
        jobs.event_reminders(app)
    assert reminders() == []
    for minutes in (0, 5, 60, 600):
        with clock.frozen(START - dt.timedelta(hours=24) + dt.timedelta(minutes=minutes)):
            jobs.event_reminders(app)
    assert reminders() == [(first_id, f"event-reminder:{sid}:{first_id}")]
    with clock.frozen(START + dt.timedelta(minutes=1)):
        jobs.event_reminders(app)
    assert len(reminders()) == 1


def test_no_show_processed_once(app: Flask) -> None:
    from reading_points.points.services import earn

    with get_database(app).transaction() as session:
        staff = organiser(session)
        event = make_event(session, starts_at=START, capacity=3)
        sid = event.sessions[0].id
        came, stayed_away, waiting = _readers(session, 3)
        for r in (came, stayed_away):
            events.register(session, session_id=sid, reader=r, now=START - dt.timedelta(days=2))
            earn(session, reader_id=r.id, kind="volunteer_hour", idempotency_key=f"t:{r.id}", reason="t",
                 now=START - dt.timedelta(days=2), points=20)
        events.check_in(session, session_id=sid, card_number=came.card_number, now=START, staff=staff)
        came_id, away_id = came.id, stayed_away.id
    with clock.frozen(START + dt.timedelta(minutes=61)):  # still running (60 min) + grace
        jobs.event_no_shows(app)
    with get_database(app).transaction() as session:
        assert ledger(session, f"event-session:{sid}:no_show:") == []
    for hours in (3, 4, 30):
        with clock.frozen(START + dt.timedelta(hours=hours)):
            jobs.event_no_shows(app)
    with get_database(app).transaction() as session:
        entries = ledger(session, f"event-session:{sid}:no_show:")
        assert [e.idempotency_key for e in entries] == [f"event-session:{sid}:no_show:{away_id}"]
        assert entries[0].amount < 0
        flags = {r.reader_id: r.no_show for r in session.scalars(select(Registration))}
        assert flags == {came_id: False, away_id: True}


def test_editing_an_event_keeps_booked_sessions_and_raising_capacity_promotes(db_session: Session) -> None:
    event = make_event(db_session, starts_at=local(2026, 4, 4, 10), rule="FREQ=WEEKLY;COUNT=3", capacity=1)
    booked = event.sessions[0]
    a, b = _readers(db_session, 2)
    now = local(2026, 4, 1, 9)
    events.register(db_session, session_id=booked.id, reader=a, now=now)
    waiting = events.register(db_session, session_id=booked.id, reader=b, now=now)
    data = events.EventData(title=event.title, branch_id=event.branch_id, capacity=2, starts_at=local(2026, 4, 4, 15),
                            recurrence_rule="FREQ=WEEKLY;COUNT=3", duration_minutes=60)
    events.update_event(db_session, event, data, now=now)
    hours = sorted(clock.to_local(s.starts_at).strftime("%m-%d %H:%M") for s in event.sessions)
    assert hours == ["04-04 10:00", "04-04 15:00", "04-11 15:00", "04-18 15:00"]
    assert waiting.status == "registered" and waiting.promoted_at == now
    assert [n.reader_id for n in notices(db_session, "event_promoted")] == [b.id]


def test_sync_command_runs_the_jobs(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["campaigns", "sync"])
    assert result.exit_code == 0, result.output
    assert "campaign_states: opened 0, closed 0" in result.output and "event_no_shows: no-shows 0" in result.output
