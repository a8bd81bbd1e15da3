"""Reading-history privacy: the nightly job anonymises the returned, settled loans of readers who
do not keep a history; the statistics read the same before and after."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from catalog.models import Item
from circulation import jobs
from circulation.models import AnonymisedReaderCount, CirculationEvent, Hold, Loan
from circulation.services import checkin, checkout, mark_damaged, place_hold, record_visit, renew
from circulation.stats import daily_stats
from library import clock
from library.db import get_database
from library.models import Branch, Reader
from library.services import set_reader_privacy
from tests.circulation.factories import local_noon, make_item, make_record
from tests.factories import make_branch, make_reader

DAY0 = dt.date(2026, 11, 3)
RUN_DAY = DAY0 + dt.timedelta(days=5)


def day(n: int) -> dt.datetime:
    return local_noon(DAY0 + dt.timedelta(days=n))


def _stats(app: Flask) -> list[dict[str, Any]]:
    with get_database(app).transaction() as s:
        return [dataclasses.asdict(r) for r in daily_stats(s, start=DAY0, end=RUN_DAY)]


def _network(app: Flask) -> dict[str, Any]:
    """Readers who keep no history (out, charged, late), one who keeps it (kept); loans returned
    on several days at two branches, one still open, one returned today, one with an open charge."""
    with get_database(app).transaction() as s:
        a, b = make_branch(s), make_branch(s)
        out = make_reader(s, home_branch=a)
        kept = make_reader(s, home_branch=a, keep_history=True)
        charged = make_reader(s, home_branch=a)
        late = make_reader(s, home_branch=b)
        items = [make_item(s, branch=a) for _ in range(7)]
        bc = [i.barcode for i in items]
        record_visit(s, reader=out, branch=a, now=day(0))
        returned = checkout(s, item_barcode=bc[0], card_number=out.card_number, branch=a, now=day(0))
        still_open = checkout(s, item_barcode=bc[1], card_number=out.card_number, branch=a, now=day(0))
        renew(s, item_barcode=bc[0], now=day(1))
        checkin(s, item_barcode=bc[0], branch=b, now=day(2))
        kept_loan = checkout(s, item_barcode=bc[2], card_number=kept.card_number, branch=a, now=day(0))
        checkin(s, item_barcode=bc[2], branch=a, now=day(2))
        charged_loan = checkout(s, item_barcode=bc[3], card_number=charged.card_number, branch=a, now=day(0))
        checkin(s, item_barcode=bc[3], branch=a, now=day(1))
        mark_damaged(s, item_barcode=bc[3], amount=Decimal("5.00"), note="水渍", now=day(1))
        today = checkout(s, item_barcode=bc[4], card_number=out.card_number, branch=b, now=day(1))
        checkin(s, item_barcode=bc[4], branch=b, now=day(5))
        # "late" returns a book while opted out, turns history on, then returns another
        before_optin = checkout(s, item_barcode=bc[5], card_number=late.card_number, branch=b, now=day(0))
        checkin(s, item_barcode=bc[5], branch=b, now=day(1))
        set_reader_privacy(s, late, keep_history=True, show_on_leaderboards=False, now=day(2))
        after_optin = checkout(s, item_barcode=bc[6], card_number=late.card_number, branch=b, now=day(2))
        checkin(s, item_barcode=bc[6], branch=b, now=day(3))
        return {"a": a.id, "b": b.id, "out": out.id, "kept": kept.id, "charged": charged.id, "late": late.id,
                "returned": returned.id, "still_open": still_open.id, "kept_loan": kept_loan.id,
                "charged_loan": charged_loan.id, "today": today.id, "before_optin": before_optin.id,
                "after_optin": after_optin.id, "item0": items[0].id}


def _readers(app: Flask) -> dict[int, int | None]:
    with get_database(app).transaction() as s:
        return {loan.id: loan.reader_id for loan in s.scalars(select(Loan))}


def test_job_anonymises_only_settled_returned_loans_of_readers_without_history(app: Flask) -> None:
    ids = _network(app)
    clock.set_now(local_noon(RUN_DAY))
    before = _stats(app)
    assert any(r["active_readers"] for r in before)

    assert jobs.anonymise_history(app) == 2
    readers = _readers(app)
    assert readers[ids["returned"]] is None and readers[ids["before_optin"]] is None
    assert readers[ids["still_open"]] == ids["out"]  # open loan untouched
    assert readers[ids["today"]] == ids["out"]  # returned today: next night
    assert readers[ids["kept_loan"]] == ids["kept"]  # the reader keeps a history
    assert readers[ids["charged_loan"]] == ids["charged"]  # an open charge on it
    assert readers[ids["after_optin"]] == ids["late"]  # returned after turning history on
    with get_database(app).transaction() as s:
        loan = s.get_one(Loan, ids["returned"])
        # the copy's circulation history stays: copy, branches, dates, renewals
        assert (loan.item_id, loan.branch_id, loan.return_branch_id, loan.renewals) == (
            ids["item0"], ids["a"], ids["b"], 1)
        assert loan.checked_out_at == day(0) and loan.returned_at == day(2) and loan.anonymised_at == day(5)
        events = s.scalars(select(CirculationEvent).where(CirculationEvent.item_id == ids["item0"])).all()
        assert sorted(e.kind for e in events) == ["checkin", "checkout", "renewal"]
        assert all(e.reader_id is None for e in events)
        # the visit and the still-open loan's checkout keep the reader at (a, day 0)
        assert s.scalar(select(CirculationEvent.id).where(CirculationEvent.reader_id == ids["out"],
                                                          CirculationEvent.kind == "visit")) is not None
    assert _stats(app) == before

    assert jobs.anonymise_history(app) == 0  # idempotent
    assert _stats(app) == before
    with get_database(app).transaction() as s:
        counts = sorted((c.branch_id, c.day, c.readers) for c in s.scalars(select(AnonymisedReaderCount)))
    # out left (a, day 1: renewal) and (b, day 2: check-in) but not (a, day 0); late left (b, day 0), (b, day 1)
    assert counts == sorted([(ids["a"], DAY0 + dt.timedelta(days=1), 1), (ids["b"], DAY0 + dt.timedelta(days=2), 1),
                             (ids["b"], DAY0, 1), (ids["b"], DAY0 + dt.timedelta(days=1), 1)])

    # turning history off makes the past loans eligible at the next run
    with get_database(app).transaction() as s:
        set_reader_privacy(s, s.get_one(Reader, ids["kept"]), keep_history=False, show_on_leaderboards=False)
    assert jobs.anonymise_history(app) == 1
    assert _readers(app)[ids["kept_loan"]] is None
    assert _stats(app) == before


def test_anonymise_after_days_setting(app: Flask) -> None:
    ids = _network(app)
    clock.set_now(local_noon(RUN_DAY))
    app.config["LIBRARY_ANONYMISE_AFTER_DAYS"] = 3  # returned before day 2: only "before_optin" (day 1)
    assert jobs.anonymise_history(app) == 1
    assert _readers(app)[ids["returned"]] == ids["out"]
    app.config["LIBRARY_ANONYMISE_AFTER_DAYS"] = 2
    assert jobs.anonymise_history(app) == 1
    assert _readers(app)[ids["returned"]] is None


def test_collected_hold_no_longer_leads_to_the_reader(app: Flask) -> None:
    with get_database(app).transaction() as s:
        a = make_branch(s)
        record = make_record(s)
        item = make_item(s, branch=a, record=record)
        first, second = make_reader(s, home_branch=a), make_reader(s, home_branch=a)
        checkout(s, item_barcode=item.barcode, card_number=first.card_number, branch=a, now=day(0))
        hold = place_hold(s, card_number=second.card_number, pickup_branch=a, record_id=record.id, now=day(0))
        checkin(s, item_barcode=item.barcode, branch=a, now=day(1))  # trapped for the hold
        loan = checkout(s, item_barcode=item.barcode, card_number=second.card_number, branch=a, now=day(1))
        assert loan.hold_id == hold.id
        checkin(s, item_barcode=item.barcode, branch=a, now=day(2))
        loan_id, hold_id = loan.id, hold.id
    clock.set_now(local_noon(RUN_DAY))
    assert jobs.anonymise_history(app) == 2
    with get_database(app).transaction() as s:
        assert s.get_one(Loan, loan_id).hold_id is None
        assert s.get_one(Hold, hold_id).loan_id is None  # no way back from the loan to the reader


def test_damage_found_after_anonymisation_charges_nobody(app: Flask) -> None:
    with get_database(app).transaction() as s:
        a = make_branch(s)
        item = make_item(s, branch=a)
        reader = make_reader(s, home_branch=a)
        checkout(s, item_barcode=item.barcode, card_number=reader.card_number, branch=a, now=day(0))
        checkin(s, item_barcode=item.barcode, branch=a, now=day(1))
        barcode = item.barcode
    clock.set_now(local_noon(RUN_DAY))
    assert jobs.anonymise_history(app) == 1
    with get_database(app).transaction() as s:
        # the last borrower is no longer known: the copy goes to repair, nobody is charged
        assert mark_damaged(s, item_barcode=barcode, amount=Decimal("5.00"), note="水渍", now=clock.now()) is None
        assert s.scalar(select(Loan.reader_id).where(Loan.item_id == s.scalar(
            select(Item.id).where(Item.barcode == barcode)))) is None
    with get_database(app).transaction() as s:
        assert s.scalar(select(Item.status).where(Item.barcode == barcode)) == "in_repair"


def test_database_refuses_an_open_loan_without_reader(app: Flask) -> None:
    with get_database(app).transaction() as s:
        a = make_branch(s)
        item = make_item(s, branch=a)
        reader = make_reader(s, home_branch=a)
        loan_id = checkout(s, item_barcode=item.barcode, card_number=reader.card_number, branch=a, now=day(0)).id
    with pytest.raises(IntegrityError), get_database(app).transaction() as s:
        loan = s.get_one(Loan, loan_id)
        loan.reader_id = None
        loan.anonymised_at = day(1)
        s.flush()
    with pytest.raises(IntegrityError), get_database(app).transaction() as s:
        s.get_one(Loan, loan_id).anonymised_at = day(1)  # anonymised but still naming the reader
        s.flush()


def test_history_page_shows_only_loans_kept(app: Flask, client: FlaskClient, reader_login: Any) -> None:
    clock.set_now(day(0))
    reader = reader_login(keep_history=False)
    with get_database(app).transaction() as s:
        a = make_branch(s)
        old = make_item(s, branch=a, record=make_record(s, title="开启前借的书"))
        new = make_item(s, branch=a, record=make_record(s, title="开启后借的书"))
        card = s.get_one(Reader, reader.id).card_number
        checkout(s, item_barcode=old.barcode, card_number=card, branch=a, now=day(0))
        checkin(s, item_barcode=old.barcode, branch=a, now=day(0))
    page = client.get("/my/history").get_data(as_text=True)
    assert "夜间匿名化" in page and "开启前借的书" not in page
    clock.set_now(day(1))
    assert client.post("/me/privacy", data={"privacy-keep_history": "y"}).status_code == 302
    with get_database(app).transaction() as s:
        assert s.get_one(Reader, reader.id).history_kept_since == day(1)
        checkout(s, item_barcode=new.barcode, card_number=card, branch=s.get_one(Branch, a.id), now=day(1))
        checkin(s, item_barcode=new.barcode, branch=s.get_one(Branch, a.id), now=day(1))
    page = client.get("/my/history").get_data(as_text=True)
    assert "开启后借的书" in page and "开启前借的书" not in page and "无法恢复" in page
