"""The PyPI ``sip2`` client (a real third-party kiosk implementation) against a live server."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from sqlalchemy import select

from circulation.models import Loan
from circulation.sip2.server import Sip2Server
from library.db import get_database
from library.models import AuditEntry
from tests.factories import READER_PIN
from tests.sip2.conftest import Scene
from tests.sip2.factories import KIOSK_PASSWORD


def _client(port: int, tmp_path: Path):  # type: ignore[no-untyped-def]
    from Sip2.sip2 import Sip2

    client = Sip2()
    client.hostName = "127.0.0.1"
    client.hostPort = port
    client.tlsEnable = False
    client.socketTimeout = 30
    client.logfile_path = str(tmp_path)
    client.institutionId = "ZY"
    client.scLocation = "Lobby"
    client.connect()
    return client


def test_pypi_client_full_session(app: Flask, server: Sip2Server, scene: Scene, tmp_path: Path) -> None:
    c = _client(server.port, tmp_path)
    try:
        login = c.sip_login_response(c.get_response(c.sip_login_request(scene.kiosk_login, KIOSK_PASSWORD)))
        assert login["fixed"]["Ok"] == "1"

        status = c.sip_sc_status_response(c.get_response(c.sip_sc_status_request()))
        assert status["fixed"]["OnlineStatus"] == "Y"
        assert status["fixed"]["CheckoutOk"] == "Y" and status["fixed"]["CheckinOk"] == "Y"
        assert status["fixed"]["ProtocolVersion"] == "2.00"
        assert status["variable"]["AM"] == ["测试总馆"]

        c.patron = scene.card
        c.patronpwd = READER_PIN
        ps = c.sip_patron_status_response(c.get_response(c.sip_patron_status_request()))
        assert ps["fixed"]["PatronStatus"] == " " * 14
        assert ps["variable"]["AE"] == ["王小明"]
        assert ps["variable"]["BL"] == ["Y"] and ps["variable"]["CQ"] == ["Y"]

        barcode = scene.barcodes[0]
        out = c.sip_checkout_response(c.get_response(c.sip_checkout_request(barcode)))
        assert out["fixed"]["Ok"] == "1", out
        assert out["variable"]["AB"] == [barcode]
        assert out["variable"]["AJ"] == ["平凡的世界"]
        due = out["variable"]["AH"][0]
        assert len(due) == 18

        info = c.sip_patron_information_response(c.get_response(c.sip_patron_information_request("charged")))
        assert info["fixed"]["ChargedItemsCount"] == "0001"
        assert info["variable"]["AU"] == [barcode]

        item = c.sip_item_information_response(c.get_response(c.sip_item_information_request(barcode)))
        assert item["fixed"]["CirculationStatus"] == "04"
        assert item["variable"]["AH"] == [due]

        renew = c.sip_renew_response(c.get_response(c.sip_renew_request(barcode)))
        assert renew["fixed"]["Ok"] == "1" and renew["fixed"]["RenewalOk"] == "Y", renew

        back = c.sip_checkin_response(c.get_response(c.sip_checkin_request(barcode)))
        assert back["fixed"]["Ok"] == "1" and back["fixed"]["Alert"] == "N"
        assert back["variable"]["AA"] == [scene.card]

        item = c.sip_item_information_response(c.get_response(c.sip_item_information_request(barcode)))
        assert item["fixed"]["CirculationStatus"] == "03"

        end = c.sip_end_patron_session_response(c.get_response(c.sip_end_patron_session_request()))
        assert end["fixed"]["EndSession"] == "Y"
    finally:
        c.disconnect()

    with get_database(app).transaction() as session:
        loans = session.scalars(select(Loan)).all()
        assert len(loans) == 1
        assert loans[0].state == "returned" and loans[0].renewals == 1
        assert loans[0].actor == f"kiosk:{scene.kiosk_login}"
        actions = [a for (a,) in session.execute(
            select(AuditEntry.action).where(AuditEntry.actor == f"kiosk:{scene.kiosk_login}")
            .order_by(AuditEntry.id))]
        assert actions == ["sip2.login", "sip2.checkout", "sip2.renew", "sip2.checkin"]


def test_pypi_client_wrong_kiosk_password(app: Flask, server: Sip2Server, scene: Scene, tmp_path: Path) -> None:
    c = _client(server.port, tmp_path)
    try:
        login = c.sip_login_response(c.get_response(c.sip_login_request(scene.kiosk_login, "wrong")))
        assert login["fixed"]["Ok"] == "0"
        # Not logged in: a checkout is refused cleanly and the connection stays usable.
        c.patron = scene.card
        out = c.sip_checkout_response(c.get_response(c.sip_checkout_request(scene.barcodes[0])))
        assert out["fixed"]["Ok"] == "0"
        login = c.sip_login_response(c.get_response(c.sip_login_request(scene.kiosk_login, KIOSK_PASSWORD)))
        assert login["fixed"]["Ok"] == "1"
    finally:
        c.disconnect()
