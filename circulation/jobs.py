"""Scheduled jobs. Each ``func(app)`` opens its own transaction and is idempotent (a unique
notice per dedup key, one fine per loan, holds expire once), so running it twice does nothing
new; tests call them directly."""

from __future__ import annotations

import datetime as dt
import os

from flask import Flask
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from catalog.models import Item
from circulation.calendar import BranchCalendar, local_date
from circulation.channels import send_notices
from circulation.common import lock_item_by_id, zh
from circulation.holds import expire_hold
from circulation.loans import accrue_fine, loan_rule
from circulation.models import Hold, Loan
from circulation.notices import queue_notice
from circulation.privacy import anonymise_returned_loans
from library import clock
from library.db import get_database
from library.models import Branch
from library.registry import JobSpec, register_job


def _due_soon_days(app: Flask) -> int:
    return int(app.config.get("LIBRARY_DUE_SOON_DAYS") or os.environ.get("LIBRARY_DUE_SOON_DAYS") or 3)


def _anonymise_after_days(app: Flask) -> int:
    value = app.config.get("LIBRARY_ANONYMISE_AFTER_DAYS")
    if value is None:
        value = os.environ.get("LIBRARY_ANONYMISE_AFTER_DAYS") or 0
    return max(0, int(value))


def _title(item: Item) -> str:
    return item.record.title if item.record is not None else item.barcode


def loan_notices(app: Flask) -> int:
    """Queue "due in N days" and "overdue" notices (one per loan and due date)."""
    now = clock.now()
    today = local_date(now)
    soon = today + dt.timedelta(days=_due_soon_days(app))
    queued = 0
    with get_database(app).transaction() as session:
        loans = session.scalars(
            select(Loan).where(Loan.state == "on_loan", (Loan.due_on == soon) | (Loan.due_on < today))
            .options(joinedload(Loan.item).joinedload(Item.record), joinedload(Loan.reader), joinedload(Loan.branch))
        ).all()
        for loan in loans:
            if loan.reader is None:  # only returned loans lose their reader; these are on loan
                continue
            title = _title(loan.item)
            if loan.due_on < today:
                n = queue_notice(
                    session, reader=loan.reader, kind="overdue", dedup_key=f"overdue:{loan.id}:{loan.due_on}",
                    branch=loan.branch, now=now, subject=zh(_l("图书已逾期：%(title)s", title=title)),
                    body=zh(_l("%(name)s，您借的《%(title)s》已于 %(day)s 到期，请尽快归还到任一馆点。",
                                name=loan.reader.name, title=title, day=loan.due_on.isoformat())))
            else:
                n = queue_notice(
                    session, reader=loan.reader, kind="due_soon", dedup_key=f"due-soon:{loan.id}:{loan.due_on}",
                    branch=loan.branch, now=now, subject=zh(_l("图书即将到期：%(title)s", title=title)),
                    body=zh(_l("%(name)s，您借的《%(title)s》将于 %(day)s 到期，可在“我的借阅”中续借。",
                                name=loan.reader.name, title=title, day=loan.due_on.isoformat())))
            queued += n is not None
        holds = session.scalars(
            select(Hold).where(Hold.state == "ready", Hold.expires_on == today + dt.timedelta(days=1))
            .options(joinedload(Hold.record), joinedload(Hold.reader), joinedload(Hold.pickup_branch))).all()
        for hold in holds:
            title = hold.record.title
            n = queue_notice(
                session, reader=hold.reader, kind="hold_expiring", dedup_key=f"hold-expiring:{hold.id}",
                branch=hold.pickup_branch, now=now, subject=zh(_l("预约图书明天到期：%(title)s", title=title)),
                body=zh(_l("%(name)s，您在%(branch)s预约的《%(title)s》保留到 %(day)s，过期将给下一位读者。",
                            name=hold.reader.name, branch=hold.pickup_branch.name, title=title,
                            day=hold.expires_on.isoformat() if hold.expires_on else "")))
            queued += n is not None
    return queued


def expire_holds(app: Flask) -> int:
    """Holds left on the shelf past their last day expire; each copy goes to the next reader."""
    now = clock.now()
    today = local_date(now)
    db = get_database(app)
    with db.transaction() as session:
        ids = list(session.scalars(select(Hold.id).where(Hold.state == "ready", Hold.expires_on < today)
                                   .order_by(Hold.expires_on, Hold.id)))
    expired = 0
    for hold_id in ids:  # one transaction per hold: one bad row never blocks the others
        with db.transaction() as session:
            trapped = session.scalar(select(Hold.trapped_item_id).where(Hold.id == hold_id))
            if trapped is not None:
                lock_item_by_id(session, trapped)  # the copy first, then the hold: the order check-in uses
            hold = session.scalar(select(Hold).where(Hold.id == hold_id).with_for_update()
                                  .execution_options(populate_existing=True))
            if hold is not None and hold.state == "ready" and hold.expires_on is not None and hold.expires_on < today:
                expire_hold(session, hold, now=now)
                expired += 1
    return expired


def accrue_fines(app: Flask) -> int:
    """Bring the overdue fine of every late loan under a fine rule up to date (closed days of the
    loan branch do not count)."""
    now = clock.now()
    today = local_date(now)
    touched = 0
    with get_database(app).transaction() as session:
        loans = session.scalars(select(Loan).where(Loan.state == "on_loan", Loan.due_on < today)).all()
        calendars: dict[int, BranchCalendar] = {}
        for loan in loans:
            rule = loan_rule(session, loan)
            if rule.consequence != "fine":
                continue
            if loan.branch_id not in calendars:
                calendars[loan.branch_id] = BranchCalendar.of(session, session.get_one(Branch, loan.branch_id))
            days = calendars[loan.branch_id].open_days_after(loan.due_on, today)
            if days > rule.grace_days and accrue_fine(session, loan, rule, days=days, now=now) is not None:
                touched += 1
    return touched


ANONYMISE_BATCH = 500


def anonymise_history(app: Flask) -> int:
    """Anonymise the returned, settled loans of readers who do not keep a reading history
    (``LIBRARY_ANONYMISE_AFTER_DAYS`` after the day of the return; see circulation.privacy), in
    transactions of ``ANONYMISE_BATCH`` loans."""
    now = clock.now()
    after_days = _anonymise_after_days(app)
    db = get_database(app)
    total = 0
    while True:
        with db.transaction() as session:
            n = anonymise_returned_loans(session, now=now, after_days=after_days, limit=ANONYMISE_BATCH)
        total += n
        if n < ANONYMISE_BATCH:
            return total


def send_pending_notices(app: Flask) -> int:
    return send_notices(app)


def init_app(app: Flask) -> None:
    register_job(app, JobSpec("circulation.send_notices", send_pending_notices, "interval", {"minutes": 5},
                              "Send pending notices through the configured channels"))
    register_job(app, JobSpec("circulation.loan_notices", loan_notices, "cron", {"hour": 8, "minute": 0},
                              "Queue due-soon, overdue and hold-expiring notices"))
    register_job(app, JobSpec("circulation.expire_holds", expire_holds, "cron", {"hour": 0, "minute": 10},
                              "Expire uncollected holds and pass the copies on"))
    register_job(app, JobSpec("circulation.accrue_fines", accrue_fines, "cron", {"hour": 1, "minute": 0},
                              "Bring overdue fines up to date"))
    register_job(app, JobSpec("circulation.anonymise_history", anonymise_history, "cron", {"hour": 2, "minute": 30},
                              "Anonymise returned loans of readers who do not keep a reading history"))

