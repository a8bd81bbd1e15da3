"""A week across the network: borrow at A, return at B, transit home; a hold by a reader of C
trapped on a return anywhere, in transit, on the hold shelf, expired and passed on; a due date
moved past closed days; an overdue return suspended (closed days not counted)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from flask import Flask
from sqlalchemy import select

from circulation import jobs
from circulation.models import Hold, Loan, Notice, Suspension, Transit
from circulation.rules import save_rule
from circulation.services import checkin, checkout, mark_sent, place_hold, reader_blocks, to_send
from library import clock
from library.db import get_database
from library.models import Branch, ClosedDay, Reader
from tests.circulation.factories import local_noon, make_item, make_record
from tests.factories import make_branch, make_reader

MON = dt.date(2026, 11, 2)


def day(n: int) -> dt.datetime:
    return local_noon(MON + dt.timedelta(days=n))


def test_a_week_across_branches(app: Flask) -> None:
    db = get_database(app)
    with db.transaction() as s:
        a = make_branch(s, code="WA", kind="central")
        b = make_branch(s, code="WB", open_days=(1, 2, 3, 4, 5, 6))
        c = make_branch(s, code="WC")
        a.closed_days.extend([ClosedDay(day=dt.date(2026, 12, 2), reason="盘点"),
                              ClosedDay(day=dt.date(2026, 12, 3), reason="盘点"),
                              ClosedDay(day=dt.date(2026, 10, 31), reason="停电")])
        # the hold shelf at C keeps books two days (a branch-specific rule beats the defaults)
        save_rule(s, branch_id=c.id, category=None, item_type=None,
                  values={"loan_days": 30, "renewals": 1, "max_items": 10, "max_holds": 5, "grace_days": 3,
                          "consequence": "suspension", "suspension_factor": Decimal("1"), "max_suspension_days": 90,
                          "hold_shelf_days": 2, "charge_limit": Decimal("10"), "note": "C 馆预约架"})
        record = make_record(s, title="活着")
        x = make_item(s, branch=a, record=record, barcode="X1")
        late_item = make_item(s, branch=a, barcode="L1")
        r1, r2, r3, r4, r5 = (make_reader(s, home_branch=a), make_reader(s, home_branch=c),
                              make_reader(s, home_branch=b), make_reader(s, home_branch=c),
                              make_reader(s, home_branch=a))
        ids = {k: v.id for k, v in dict(a=a, b=b, c=c).items()}
        cards = {k: v.card_number for k, v in dict(r1=r1, r2=r2, r3=r3, r4=r4, r5=r5).items()}
        # reader 5 borrowed five weeks ago (due 2026-10-28)
        checkout(s, item_barcode=late_item.barcode, card_number=r5.card_number, branch=a,
                 now=local_noon(dt.date(2026, 9, 28)))
        assert x.status == "available"

    def br(s: object, key: str) -> Branch:
        return s.get_one(Branch, ids[key])  # type: ignore[attr-defined,no-any-return]

    # Monday: borrow at A; day 30 falls on A's stocktaking days, so the due date moves on
    with clock.frozen(day(0)), db.transaction() as s:
        loan = checkout(s, item_barcode="X1", card_number=cards["r1"], branch=br(s, "a"), now=clock.now())
        assert loan.due_on == dt.date(2026, 12, 4)
    # Tuesday: returned at B -> in transit home to A, listed to send at B, sent with the van
    with clock.frozen(day(1)), db.transaction() as s:
        result = checkin(s, item_barcode="X1", branch=br(s, "b"), now=clock.now())
        assert (result.action, result.destination.code if result.destination else None) == ("transit", "WA")
        assert result.on_time is True and result.item.status == "in_transit"
        assert [t.item.barcode for t in to_send(s, ids["b"])] == ["X1"]
        assert mark_sent(s, transit_ids=[t.id for t in to_send(s, ids["b"])], branch_id=ids["b"],
                         now=clock.now()) == 1
    # Wednesday: arrives home at A and is reshelved; reader 3 borrows it; reader 2 (of C) holds the title
    with clock.frozen(day(2)), db.transaction() as s:
        arrival = checkin(s, item_barcode="X1", branch=br(s, "a"), now=clock.now())
        assert arrival.action == "reshelve" and arrival.loan is None
        transit = s.scalars(select(Transit)).one()
        assert transit.sent_at is not None and transit.received_at is not None and transit.reason == "home"
        checkout(s, item_barcode="X1", card_number=cards["r3"], branch=br(s, "a"), now=clock.now())
        h2 = place_hold(s, card_number=cards["r2"], pickup_branch=br(s, "c"), record_id=record.id, now=clock.now())
        assert h2.state == "waiting"
        hold2 = h2.id
    with clock.frozen(day(2) + dt.timedelta(hours=1)), db.transaction() as s:
        h4 = place_hold(s, card_number=cards["r4"], pickup_branch=br(s, "c"), record_id=record.id, now=clock.now())
        hold4 = h4.id
    # Thursday: reader 3 returns it at B -> trapped for reader 2 (first in the queue), sent to C
    with clock.frozen(day(3)), db.transaction() as s:
        result = checkin(s, item_barcode="X1", branch=br(s, "b"), now=clock.now())
        assert result.action == "transit" and result.hold is not None and result.hold.id == hold2
        assert result.destination is not None and result.destination.code == "WC"
        assert s.get_one(Hold, hold2).state == "in_transit" and s.get_one(Hold, hold4).state == "waiting"
    # Friday: arrives at C -> on the hold shelf for two days, reader 2 notified (by C, the pickup branch)
    with clock.frozen(day(4)), db.transaction() as s:
        result = checkin(s, item_barcode="X1", branch=br(s, "c"), now=clock.now())
        assert result.action == "hold_shelf" and result.item.status == "on_hold_shelf"
        h = s.get_one(Hold, hold2)
        assert h.state == "ready" and h.expires_on == MON + dt.timedelta(days=6)
        notice = s.scalar(select(Notice).where(Notice.dedup_key == f"hold-ready:{hold2}"))
        assert notice is not None and notice.branch_id == ids["c"]
    # Saturday: reader 5 returns five weeks' loan late: 9 open days late (A was closed on 10-31)
    with clock.frozen(day(5)), db.transaction() as s:
        result = checkin(s, item_barcode="L1", branch=br(s, "a"), now=clock.now())
        assert result.on_time is False and result.loan is not None and result.loan.overdue_days == 9
        assert result.suspension is not None
        assert (result.suspension.starts_on, result.suspension.ends_on) == (MON + dt.timedelta(days=5),
                                                                            MON + dt.timedelta(days=13))
        r5 = s.get_one(Reader, s.scalar(select(Loan.reader_id).where(Loan.id == result.loan.id)))
        assert [blk.code for blk in reader_blocks(s, r5, clock.now())] == ["suspended"]
    # Sunday: reader 2's last day to collect has passed -> expired, the copy passes to reader 4
    with clock.frozen(day(7)):
        assert jobs.expire_holds(app) == 1
    with db.transaction() as s:
        assert s.get_one(Hold, hold2).state == "expired"
        h4 = s.get_one(Hold, hold4)
        assert h4.state == "ready" and h4.trapped_item is not None and h4.trapped_item.barcode == "X1"
        assert s.scalar(select(Notice).where(Notice.dedup_key == f"hold-ready:{hold4}")) is not None
        assert s.scalars(select(Suspension)).one().ends_on == MON + dt.timedelta(days=13)
    # Monday after: reader 4 collects at C
    with clock.frozen(day(8)), db.transaction() as s:
        loan = checkout(s, item_barcode="X1", card_number=cards["r4"], branch=br(s, "c"), now=clock.now())
        assert s.get_one(Hold, hold4).state == "collected" and loan.hold_id == hold4
