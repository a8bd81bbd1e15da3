"""01 Block Patron, 25 Patron Enable, 37 Fee Paid, 19 Item Status Update, 15 Hold with mode
``*`` and store-and-forward (offline) returns: raw frames over a socket and the PyPI client
where it offers the message."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import select

from circulation.models import Charge, Hold, Loan, Suspension
from circulation.sip2 import protocol as p
from circulation.sip2.server import Sip2Server
from library import clock
from library.db import get_database
from library.models import AuditEntry, Branch, Reader
from library.services import report_card_lost, update_reader
from tests.factories import READER_PIN
from tests.sip2.conftest import Scene
from tests.sip2.factories import KIOSK_PASSWORD, RawKiosk, sip_now
from tests.sip2.test_client import _client

BLANK_DATE = " " * 18


def _reader(app: Flask, card: str) -> tuple[str, str]:
    with get_database(app).transaction() as session:
        reader = session.scalar(select(Reader).where(Reader.card_number == card))
        assert reader is not None
        return reader.status, reader.notes


def _audit(app: Flask, action: str) -> list[AuditEntry]:
    with get_database(app).transaction() as session:
        rows = list(session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))
        session.expunge_all()
        return rows


def _checkout(k: RawKiosk, card: str, barcode: str) -> p.Message:
    return k.ask(f"11NN{sip_now()}{BLANK_DATE}AOZY|AA{card}|AB{barcode}|AC|")


# ---------------------------------------------------------------------------------------------
# 01 Block Patron, 25 Patron Enable


def test_a_kiosk_blocks_a_card_and_only_the_reader_with_the_pin_unblocks_it(app: Flask, server: Sip2Server,
                                                                            scene: Scene) -> None:
    with RawKiosk(server.port) as k:
        k.login(scene.kiosk_login)
        blocked = k.ask(f"01Y{sip_now()}AOZY|AL读者证遗留在机器上|AA{scene.card}|AC|")
        assert blocked.code == "24" and blocked.get("BL") == "Y"
        assert blocked.fixed["all"][0] == "Y"  # charge privileges denied
        assert "冻结" in blocked.get("AF")
        status, notes = _reader(app, scene.card)
        assert status == "blocked" and "读者证遗留在机器上" in notes and scene.kiosk_login in notes
        assert _checkout(k, scene.card, scene.barcodes[0]).fixed["all"][0] == "0"

        no_pin = k.ask(f"25{sip_now()}AOZY|AA{scene.card}|AC|")
        assert no_pin.code == "26" and no_pin.fixed["all"][0] == "Y" and no_pin.get("AF")
        wrong = k.ask(f"25{sip_now()}AOZY|AA{scene.card}|AC|AD000000|")
        assert wrong.get("CQ") == "N" and _reader(app, scene.card)[0] == "blocked"

        enabled = k.ask(f"25{sip_now()}AOZY|AA{scene.card}|AC|AD{READER_PIN}|")
        assert enabled.code == "26" and enabled.get("CQ") == "Y" and enabled.get("BL") == "Y"
        assert enabled.fixed["all"][:14] == " " * 14, enabled.raw
        assert _reader(app, scene.card)[0] == "active"
        assert _checkout(k, scene.card, scene.barcodes[0]).fixed["all"][0] == "1"
        # enabling twice does nothing more
        again = k.ask(f"25{sip_now()}AOZY|AA{scene.card}|AC|AD{READER_PIN}|")
        assert again.get("AF") and _reader(app, scene.card)[0] == "active"

        unknown = k.ask(f"01N{sip_now()}AOZY|ALx|AAX0000000|AC|")
        assert unknown.code == "24" and unknown.get("BL") == "N"

    block = [a for a in _audit(app, "sip2.block_patron") if a.details.get("result") == "ok"]
    assert len(block) == 1 and block[0].actor == f"kiosk:{scene.kiosk_login}"
    assert block[0].details["previous_status"] == "active" and block[0].details["card_retained"] is True
    enable = _audit(app, "sip2.patron_enable")
    assert [e.details["result"] for e in enable] == ["pin_required", "bad_pin", "ok", "card_not_enableable"]
    assert {e.actor for e in enable} == {f"kiosk:{scene.kiosk_login}"}


def test_patron_enable_leaves_blocks_by_staff_and_lost_cards_alone(app: Flask, server: Sip2Server,
                                                                   scene: Scene) -> None:
    with get_database(app).transaction() as session:
        reader = session.scalar(select(Reader).where(Reader.card_number == scene.card))
        assert reader is not None
        update_reader(session, reader, name=reader.name, category_code=reader.category_code,
                      home_branch=reader.home_branch, card_expires_on=reader.card_expires_on, status="blocked",
                      now=clock.now())
        other = session.scalar(select(Reader).where(Reader.card_number == scene.other_card))
        assert other is not None
        report_card_lost(session, other, now=clock.now())
    with RawKiosk(server.port) as k:
        k.login(scene.kiosk_login)
        # blocked by staff: a kiosk block on top changes nothing, and 25 does not undo the staff block
        k.ask(f"01N{sip_now()}AOZY|ALtampering|AA{scene.card}|AC|")
        refused = k.ask(f"25{sip_now()}AOZY|AA{scene.card}|AC|AD{READER_PIN}|")
        assert refused.fixed["all"][0] == "Y" and "服务台" in refused.get("AF")
        assert _reader(app, scene.card)[0] == "blocked"
        # a lost card stays lost
        k.ask(f"01N{sip_now()}AOZY|ALfound|AA{scene.other_card}|AC|")
        assert _reader(app, scene.other_card)[0] == "lost_card"
        k.ask(f"25{sip_now()}AOZY|AA{scene.other_card}|AC|AD{READER_PIN}|")
        assert _reader(app, scene.other_card)[0] == "lost_card"
    results = [a.details["result"] for a in _audit(app, "sip2.block_patron")]
    assert results == ["unchanged", "unchanged"]


def test_a_staff_change_after_the_kiosk_block_leaves_it_to_the_desk(app: Flask, server: Sip2Server,
                                                                    scene: Scene) -> None:
    with RawKiosk(server.port) as k:
        k.login(scene.kiosk_login)
        k.ask(f"01N{sip_now()}AOZY|ALtampering|AA{scene.card}|AC|")
        with get_database(app).transaction() as session:
            reader = session.scalar(select(Reader).where(Reader.card_number == scene.card))
            assert reader is not None
            update_reader(session, reader, name=reader.name, category_code=reader.category_code,
                          home_branch=reader.home_branch, card_expires_on=reader.card_expires_on,
                          notes=reader.notes + "\n已核实，保持冻结", now=clock.now())
        refused = k.ask(f"25{sip_now()}AOZY|AA{scene.card}|AC|AD{READER_PIN}|")
        assert "服务台" in refused.get("AF") and _reader(app, scene.card)[0] == "blocked"


def test_pypi_client_block_patron_and_patron_enable(app: Flask, server: Sip2Server, scene: Scene,
                                                    tmp_path: Path) -> None:
    c = _client(server.port, tmp_path)
    try:
        assert c.sip_login_response(c.get_response(c.sip_login_request(scene.kiosk_login, KIOSK_PASSWORD)))[
            "fixed"]["Ok"] == "1"
        c.patron = scene.card
        blocked = c.sip_patron_status_response(c.get_response(c.sip_block_patron_request("读者证遗留")))
        assert blocked["fixed"]["PatronStatus"][0] == "Y" and blocked["variable"]["BL"] == ["Y"]
        assert _reader(app, scene.card)[0] == "blocked"
        c.patronpwd = READER_PIN
        enabled = c.sip_patron_enable_response(c.get_response(c.sip_patron_enable_request()))
        assert enabled["fixed"]["PatronStatus"] == " " * 14 and enabled["variable"]["CQ"] == ["Y"]
        assert _reader(app, scene.card)[0] == "active"
    finally:
        c.disconnect()


# ---------------------------------------------------------------------------------------------
# 37 Fee Paid


def _charges(app: Flask, card: str, amounts: list[tuple[str, str]]) -> list[int]:
    """Open charges of the reader, oldest first (kind, amount)."""
    ids = []
    with get_database(app).transaction() as session:
        reader = session.scalar(select(Reader).where(Reader.card_number == card))
        assert reader is not None
        start = clock.now() - dt.timedelta(days=len(amounts))
        for i, (kind, amount) in enumerate(amounts):
            at = start + dt.timedelta(days=i)
            charge = Charge(reader_id=reader.id, kind=kind, amount=Decimal(amount), state="open", created_at=at,
                            updated_at=at, note="")
            session.add(charge)
            session.flush()
            ids.append(charge.id)
    return ids


def _charge_states(app: Flask) -> dict[int, tuple[str, str]]:
    with get_database(app).transaction() as session:
        return {c.id: (c.state, c.note) for c in session.scalars(select(Charge))}


def _fee(k: RawKiosk, card: str, amount: str, *, fee_type: str = "01", payment: str = "00",
         currency: str = "CNY", extra: str = "") -> p.Message:
    return k.ask(f"37{sip_now()}{fee_type}{payment}{currency}BV{amount}|AOZY|AA{card}|{extra}")


def test_fee_paid_settles_whole_charges_never_more_than_owed(app: Flask, server: Sip2Server,
                                                             scene: Scene) -> None:
    old, damage, replacement = _charges(app, scene.card, [("overdue_fine", "5.00"), ("damage", "7.50"),
                                                          ("replacement", "20.00")])
    with RawKiosk(server.port) as k:
        k.login(scene.kiosk_login)
        listed = k.ask(f"63000{sip_now()}   Y      AOZY|AA{scene.card}|")
        assert [line.split()[0] for line in listed.fields["AV"]] == [f"#{old}", f"#{damage}", f"#{replacement}"]

        partial = _fee(k, scene.card, "6.00")
        assert partial.code == "38" and partial.fixed["all"][0] == "N"
        assert "5.00 / 12.50 / 32.50" in partial.get("AF")
        too_much = _fee(k, scene.card, "40.00")
        assert too_much.fixed["all"][0] == "N" and "32.50" in too_much.get("AF")
        assert _fee(k, scene.card, "5.00", currency="USD").fixed["all"][0] == "N"
        assert _fee(k, scene.card, "abc").fixed["all"][0] == "N"
        assert _fee(k, scene.card, "-5.00").fixed["all"][0] == "N"
        assert _fee(k, scene.card, "5.001").fixed["all"][0] == "N"
        assert _fee(k, scene.card, "1E+400").fixed["all"][0] == "N"
        assert _fee(k, scene.card, "5.00", extra="AD000000|").fixed["all"][0] == "N"  # wrong PIN
        assert {s for s, _n in _charge_states(app).values()} == {"open"}

        # one charge by its number (CG), paid by card, with the kiosk's transaction id
        by_id = _fee(k, scene.card, "7.50", payment="02", extra=f"CG#{damage}|BKTX-1|")
        assert by_id.fixed["all"][0] == "Y" and by_id.get("BK") == "TX-1", by_id.raw
        assert _fee(k, scene.card, "5.00", extra=f"CG{damage}|").fixed["all"][0] == "N"  # already paid
        # the fee type narrows the oldest-first choice: replacement (07) only
        assert _fee(k, scene.card, "5.00", fee_type="07").fixed["all"][0] == "N"
        # the oldest remaining charges, exactly: 5.00 + 20.00
        rest = _fee(k, scene.card, "25.00", extra=f"AD{READER_PIN}|")
        assert rest.fixed["all"][0] == "Y" and "2" in rest.get("AF")
        nothing = _fee(k, scene.card, "1.00")
        assert nothing.fixed["all"][0] == "N"

    states = _charge_states(app)
    assert {i: s for i, (s, _n) in states.items()} == {old: "paid", damage: "paid", replacement: "paid"}
    assert "信用卡" in states[damage][1] and "TX-1" in states[damage][1] and "现金" in states[old][1]
    paid = _audit(app, "circulation.charge_paid")
    assert sorted(int(a.target_id) for a in paid) == sorted([old, damage, replacement])
    assert {a.actor for a in paid} == {f"kiosk:{scene.kiosk_login}"}
    fee_audit = _audit(app, "sip2.fee_paid")
    assert [a.details["result"] for a in fee_audit if a.details["result"] == "ok"] == ["ok", "ok"]
    assert all(a.details["result"] != "ok" for a in fee_audit[:8])


def test_two_kiosks_paying_the_same_charge_pay_it_once(app: Flask, server: Sip2Server, scene: Scene) -> None:
    import threading

    (charge,) = _charges(app, scene.card, [("damage", "3.00")])
    answers: list[str] = []

    def pay() -> None:
        with RawKiosk(server.port) as k:
            k.login(scene.kiosk_login)
            answers.append(_fee(k, scene.card, "3.00", extra=f"CG{charge}|").fixed["all"][0])

    threads = [threading.Thread(target=pay) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(answers) == ["N", "N", "N", "Y"]
    assert len(_audit(app, "circulation.charge_paid")) == 1


def test_pypi_client_fee_paid(app: Flask, server: Sip2Server, scene: Scene, tmp_path: Path) -> None:
    (charge,) = _charges(app, scene.card, [("overdue_fine", "2.50")])
    c = _client(server.port, tmp_path)
    try:
        c.sip_login_response(c.get_response(c.sip_login_request(scene.kiosk_login, KIOSK_PASSWORD)))
        c.patron = scene.card
        refused = c.sip_fee_paid_response(c.get_response(c.sip_fee_paid_request(4, 0, "2.50")))  # EUR
        assert refused["fixed"]["PaymentAccepted"] == "N"
        paid = c.sip_fee_paid_response(c.get_response(c.sip_fee_paid_request(
            4, 0, "2.50", feeIdentifier=str(charge), transactionId="K-77", currencyType="CNY")))
        assert paid["fixed"]["PaymentAccepted"] == "Y" and paid["variable"]["BK"] == ["K-77"]
    finally:
        c.disconnect()
    assert _charge_states(app)[charge][0] == "paid"


# ---------------------------------------------------------------------------------------------
# 19 Item Status Update


def test_item_status_update_is_refused_clearly(app: Flask, server: Sip2Server, scene: Scene,
                                               tmp_path: Path) -> None:
    c = _client(server.port, tmp_path)
    try:
        c.sip_login_response(c.get_response(c.sip_login_request(scene.kiosk_login, KIOSK_PASSWORD)))
        status = c.sip_sc_status_response(c.get_response(c.sip_sc_status_request()))
        bx = status["variable"]["BX"][0]
        assert (bx[3], bx[9], bx[11], bx[12]) == ("Y", "Y", "N", "Y")  # 01, 37, 19, 25
        answer = c.sip_item_status_update_response(c.get_response(
            c.sip_item_status_update_request(scene.barcodes[0], "RFID:E004")))
        assert answer["fixed"]["ItemPropertiesOk"] == "0"
        assert answer["variable"]["AJ"] == ["平凡的世界"] and "服务台" in answer["variable"]["AF"][0]
        unknown = c.sip_item_status_update_response(c.get_response(c.sip_item_status_update_request("NOPE", "x")))
        assert unknown["fixed"]["ItemPropertiesOk"] == "0"
    finally:
        c.disconnect()
    (entry,) = _audit(app, "sip2.item_status_update")
    assert entry.details["properties"] == "RFID:E004" and entry.actor == f"kiosk:{scene.kiosk_login}"


# ---------------------------------------------------------------------------------------------
# 15 Hold, mode "*"


def _holds(app: Flask) -> list[tuple[str, str]]:
    with get_database(app).transaction() as session:
        return [(h.state, session.get_one(Branch, h.pickup_branch_id).code)
                for h in session.scalars(select(Hold).order_by(Hold.id))]


def test_hold_modify_moves_a_waiting_hold_to_another_pickup_branch(app: Flask, server: Sip2Server, scene: Scene,
                                                                    tmp_path: Path) -> None:
    with RawKiosk(server.port) as k:
        k.login(scene.kiosk_login)
        for b in scene.barcodes:
            assert _checkout(k, scene.card, b).fixed["all"][0] == "1"
        assert k.ask(f"15+{sip_now()}AOZY|AA{scene.other_card}|AJ{scene.record_id}|").fixed["all"][0] == "1"
        no_branch = k.ask(f"15*{sip_now()}AOZY|AA{scene.other_card}|AJ{scene.record_id}|")
        unknown = k.ask(f"15*{sip_now()}BSNOWHERE|AOZY|AA{scene.other_card}|AJ{scene.record_id}|")
        not_mine = k.ask(f"15*{sip_now()}BS{scene.other_branch_code}|AOZY|AA{scene.card}|AJ{scene.record_id}|")
        assert [a.fixed["all"][0] for a in (no_branch, unknown, not_mine)] == ["0", "0", "0"]
    assert _holds(app) == [("waiting", scene.branch_code)]

    c = _client(server.port, tmp_path)
    try:
        c.sip_login_response(c.get_response(c.sip_login_request(scene.kiosk_login, KIOSK_PASSWORD)))
        c.patron = scene.other_card
        c.patronpwd = READER_PIN
        raw = c.get_response(c.sip_hold_request(
            "*", titleIdentifier=str(scene.record_id), pickupLocation=scene.other_branch_code))
        moved = c.sip_hold_response(raw)
        assert moved["fixed"]["Ok"] == "1", moved
        # The client reads an 18-character expiration date after the fixed part (BW is a variable
        # field in SIP2 2.00), so the variable fields are read here.
        fields = p.parse_fields(raw.strip()[22:raw.rindex("AY")])
        assert fields["BS"] == [scene.other_branch_code] and fields["BR"] == ["1"]
    finally:
        c.disconnect()
    assert _holds(app) == [("waiting", scene.other_branch_code)]
    (entry,) = _audit(app, "circulation.hold_pickup_changed")
    assert entry.actor == f"kiosk:{scene.kiosk_login}"

    # once a copy is trapped for it, the pickup branch stays (the copy is already routed)
    with RawKiosk(server.port) as k:
        k.login(scene.kiosk_login)
        back = k.ask(f"09N{sip_now()}{sip_now()}AOZY|AB{scene.barcodes[0]}|AC|")
        assert back.get("CV") == "02"  # in transit to the new pickup branch
        stuck = k.ask(f"15*{sip_now()}BS{scene.branch_code}|AOZY|AA{scene.other_card}|AJ{scene.record_id}|")
        assert stuck.fixed["all"][0] == "0" and "服务台" in stuck.get("AF")
    assert _holds(app) == [("in_transit", scene.other_branch_code)]
    assert [a.details["result"] for a in _audit(app, "sip2.hold_modify")] == ["ok", "hold_not_allowed"]


# ---------------------------------------------------------------------------------------------
# 09 Checkin with a return date in the past (store and forward)


def _sip_date(moment: dt.datetime) -> str:
    return p.sip_datetime(moment)


def _lend_long_ago(app: Flask, server: Sip2Server, scene: Scene, days_ago: int) -> dt.datetime:
    lent_at = clock.now() - dt.timedelta(days=days_ago)
    with clock.frozen(lent_at), RawKiosk(server.port) as k:
        k.login(scene.kiosk_login)
        assert _checkout(k, scene.card, scene.barcodes[0]).fixed["all"][0] == "1"
    return lent_at


def _loan(app: Flask) -> Loan:
    with get_database(app).transaction() as session:
        loan = session.scalar(select(Loan))
        assert loan is not None
        session.expunge(loan)
        return loan


def _offline_checkin(k: RawKiosk, barcode: str, returned: dt.datetime, no_block: str = "Y") -> p.Message:
    return k.ask(f"09{no_block}{sip_now()}{_sip_date(returned)}APVan|AOZY|AB{barcode}|AC|")


def test_offline_return_date_is_recorded_and_bounded(app: Flask, server: Sip2Server, scene: Scene) -> None:
    lent_at = _lend_long_ago(app, server, scene, 60)
    with RawKiosk(server.port) as k:
        k.login(scene.kiosk_login)
        # a date before the checkout is the handheld's clock: bounded to the checkout
        back = _offline_checkin(k, scene.barcodes[0], lent_at - dt.timedelta(days=10))
        assert back.fixed["all"][0] == "1"
    (entry,) = [a for a in _audit(app, "sip2.checkin")]
    assert entry.details["offline"] is True and entry.details["bounded"] == "checkout"
    recorded = dt.datetime.fromisoformat(entry.details["returned_at"])
    assert abs(recorded - lent_at) < dt.timedelta(seconds=1)
    # a return date now or in the future is an ordinary return
    with RawKiosk(server.port) as k:
        k.login(scene.kiosk_login)
        assert _checkout(k, scene.other_card, scene.barcodes[1]).fixed["all"][0] == "1"
        ahead = _offline_checkin(k, scene.barcodes[1], clock.now() + dt.timedelta(days=2), no_block="N")
        assert ahead.fixed["all"][0] == "1"
    last = _audit(app, "sip2.checkin")[-1]
    assert "offline" not in last.details


def test_a_book_returned_on_time_offline_is_not_punished(app: Flask, server: Sip2Server, scene: Scene) -> None:
    lent_at = _lend_long_ago(app, server, scene, 60)
    due = _loan(app).due_on
    returned = dt.datetime.combine(due - dt.timedelta(days=3), dt.time(10, 0), tzinfo=dt.UTC)
    assert lent_at < returned < clock.now()
    with RawKiosk(server.port) as k:
        k.login(scene.kiosk_login)
        back = _offline_checkin(k, scene.barcodes[0], returned)
        assert back.fixed["all"][0] == "1" and back.get("AF") == "还书成功"
    loan = _loan(app)
    assert loan.state == "returned" and loan.on_time is True and loan.overdue_days == 0
    assert abs(loan.returned_at - returned) < dt.timedelta(seconds=1) if loan.returned_at else False
    with get_database(app).transaction() as session:
        assert session.scalar(select(Suspension)) is None


def test_a_late_offline_return_counts_the_days_until_it_was_returned(app: Flask, server: Sip2Server,
                                                                       scene: Scene) -> None:
    _lend_long_ago(app, server, scene, 60)
    with RawKiosk(server.port) as k:
        k.login(scene.kiosk_login)
        back = _offline_checkin(k, scene.barcodes[0], clock.now() - dt.timedelta(days=1))
        assert back.fixed["all"][0] == "1" and "逾期" in back.get("AF")
    loan = _loan(app)
    assert loan.on_time is False and loan.overdue_days > 0
    with get_database(app).transaction() as session:
        assert session.scalar(select(Suspension)) is not None


def test_parse_sip_datetime() -> None:
    moment = p.parse_sip_datetime("20260301    083000")
    assert moment == dt.datetime(2026, 3, 1, 0, 30, tzinfo=dt.UTC)  # Beijing time
    assert p.parse_sip_datetime("20260301   Z083000") == dt.datetime(2026, 3, 1, 8, 30, tzinfo=dt.UTC)
    assert p.parse_sip_datetime(" " * 18) is None
    assert p.parse_sip_datetime("20261301    083000") is None
    assert p.parse_sip_datetime("2026") is None
    stamp: Any = p.sip_datetime(dt.datetime(2026, 5, 4, 3, 2, 1, tzinfo=dt.UTC))
    assert p.parse_sip_datetime(stamp) == dt.datetime(2026, 5, 4, 3, 2, 1, tzinfo=dt.UTC)
