"""The terminal password (AC): when a kiosk account has one, every request after the login must
carry it; a wrong or missing one gets the message's own "not done" answer, runs nothing, and is
audited."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from circulation.models import Loan
from circulation.sip2.models import Kiosk
from circulation.sip2.server import Sip2Server
from circulation.sip2.services import create_kiosk
from library import clock
from library.db import get_database
from library.models import AuditEntry, Branch, Reader
from library.security import hash_secret, verify_secret
from tests.factories import READER_PIN
from tests.sip2.conftest import Scene
from tests.sip2.factories import KIOSK_PASSWORD, RawKiosk, sip_now
from tests.sip2.test_client import _client

BLANK_DATE = " " * 18
TERMINAL = "4321"


def _kiosk_with_terminal_password(app: Flask, scene: Scene) -> str:
    with get_database(app).transaction() as session:
        branch = session.scalar(select(Branch).where(Branch.code == scene.branch_code))
        assert branch is not None
        kiosk = create_kiosk(session, sip_login="VAN-H1", password=KIOSK_PASSWORD, branch=branch, now=clock.now(),
                             terminal_password=TERMINAL, fast_hash=True)
        return kiosk.sip_login


def _loans(app: Flask) -> int:
    with get_database(app).transaction() as session:
        return len(session.scalars(select(Loan)).all())


def _refusals(app: Flask) -> list[str]:
    with get_database(app).transaction() as session:
        return [e.details["message"] for e in session.scalars(
            select(AuditEntry).where(AuditEntry.action == "sip2.terminal_password").order_by(AuditEntry.id))]


def test_wrong_or_missing_terminal_password_is_refused_in_each_messages_own_form(app: Flask, server: Sip2Server,
                                                                                 scene: Scene) -> None:
    login = _kiosk_with_terminal_password(app, scene)
    card, barcode = scene.card, scene.barcodes[0]
    with RawKiosk(server.port) as k:
        assert k.login(login).fixed["all"] == "1"
        assert k.ask("9900802.00").fixed["all"][0] == "Y"  # 99 has no AC field
        out = k.ask(f"11NN{sip_now()}{BLANK_DATE}AOZY|AA{card}|AB{barcode}|AC9999|")
        assert out.code == "12" and out.fixed["all"][0] == "0" and "终端密码" in out.get("AF")
        missing = k.ask(f"11NN{sip_now()}{BLANK_DATE}AOZY|AA{card}|AB{barcode}|")
        empty = k.ask(f"11NN{sip_now()}{BLANK_DATE}AOZY|AA{card}|AB{barcode}|AC|")
        assert missing.fixed["all"][0] == "0" and empty.fixed["all"][0] == "0"
        assert _loans(app) == 0
        status = k.ask(f"23000{sip_now()}AOZY|AA{card}|AC9999|AD{READER_PIN}|")
        assert status.code == "24" and status.get("BL") == "N" and status.get("AE") == ""
        info = k.ask(f"63000{sip_now()}  Y       AOZY|AA{card}|AC9999|")
        assert info.code == "64" and info.get("BL") == "N"
        item = k.ask(f"17{sip_now()}AOZY|AB{barcode}|")
        assert item.code == "18" and item.get("AJ") == ""
        blocked = k.ask(f"01N{sip_now()}AOZY|ALx|AA{card}|AC9999|")
        assert blocked.code == "24" and blocked.get("BL") == "N"
        fee = k.ask(f"37{sip_now()}0100CNYBV1.00|AOZY|AA{card}|AC9999|")
        assert fee.code == "38" and fee.fixed["all"][0] == "N"
        hold = k.ask(f"15+{sip_now()}AOZY|AA{card}|AB{barcode}|AC9999|")
        assert hold.code == "16" and hold.fixed["all"][0] == "0"

        # the right terminal password: the same requests go through
        ok = k.ask(f"11NN{sip_now()}{BLANK_DATE}AOZY|AA{card}|AB{barcode}|AC{TERMINAL}|")
        assert ok.fixed["all"][0] == "1", ok.raw
        assert k.ask(f"23000{sip_now()}AOZY|AA{card}|AC{TERMINAL}|").get("AE") == "王小明"
        back = k.ask(f"09N{sip_now()}{sip_now()}AOZY|AB{barcode}|AC{TERMINAL}|")
        assert back.fixed["all"][0] == "1"
        assert k.ask(f"09N{sip_now()}{sip_now()}AOZY|AB{barcode}|AC9999|").fixed["all"][0] == "0"
    with get_database(app).transaction() as session:
        reader = session.scalar(select(Reader).where(Reader.card_number == card))
        assert reader is not None and reader.status == "active"
    assert _refusals(app) == ["11", "11", "11", "23", "63", "17", "01", "37", "15", "09"]


def test_a_changed_terminal_password_applies_to_an_open_connection(app: Flask, server: Sip2Server,
                                                                   scene: Scene) -> None:
    login = _kiosk_with_terminal_password(app, scene)
    with RawKiosk(server.port) as k:
        k.login(login)
        assert k.ask(f"17{sip_now()}AOZY|AB{scene.barcodes[0]}|AC{TERMINAL}|").get("AJ") == "平凡的世界"
        with get_database(app).transaction() as session:
            kiosk = session.scalar(select(Kiosk).where(Kiosk.sip_login == login))
            assert kiosk is not None
            kiosk.terminal_password_hash = hash_secret("8765", fast=True)
        assert k.ask(f"17{sip_now()}AOZY|AB{scene.barcodes[0]}|AC{TERMINAL}|").get("AJ") == ""
        assert k.ask(f"17{sip_now()}AOZY|AB{scene.barcodes[0]}|AC8765|").get("AJ") == "平凡的世界"
        with get_database(app).transaction() as session:
            kiosk = session.scalar(select(Kiosk).where(Kiosk.sip_login == login))
            assert kiosk is not None
            kiosk.terminal_password_hash = None
        assert k.ask(f"17{sip_now()}AOZY|AB{scene.barcodes[0]}|").get("AJ") == "平凡的世界"


def test_pypi_client_with_a_terminal_password(app: Flask, server: Sip2Server, scene: Scene, tmp_path: Path) -> None:
    login = _kiosk_with_terminal_password(app, scene)
    c = _client(server.port, tmp_path)
    try:
        assert c.sip_login_response(c.get_response(c.sip_login_request(login, KIOSK_PASSWORD)))["fixed"]["Ok"] == "1"
        c.patron = scene.card
        c.terminalPassword = "wrong"
        refused = c.sip_checkout_response(c.get_response(c.sip_checkout_request(scene.barcodes[0])))
        assert refused["fixed"]["Ok"] == "0"
        c.terminalPassword = TERMINAL
        out = c.sip_checkout_response(c.get_response(c.sip_checkout_request(scene.barcodes[0])))
        assert out["fixed"]["Ok"] == "1", out
        back = c.sip_checkin_response(c.get_response(c.sip_checkin_request(scene.barcodes[0])))
        assert back["fixed"]["Ok"] == "1"
    finally:
        c.disconnect()
    assert _refusals(app) == ["11"]


def test_admin_sets_and_clears_the_terminal_password(app: Flask, client: FlaskClient, staff_login,  # type: ignore[no-untyped-def]
                                                     scene: Scene) -> None:
    with get_database(app).transaction() as session:
        kiosk = session.scalar(select(Kiosk).where(Kiosk.sip_login == scene.kiosk_login))
        assert kiosk is not None and kiosk.terminal_password_hash is None
        kiosk_id, branch_id = kiosk.id, kiosk.branch_id
    staff_login("admin")
    form = {"branch_id": branch_id, "charset": "utf-8", "active": "y"}
    too_short = client.post(f"/admin/sip2/kiosks/{kiosk_id}", data={**form, "terminal_password": "12"})
    assert too_short.status_code == 422
    assert client.post(f"/admin/sip2/kiosks/{kiosk_id}", data={**form, "terminal_password": TERMINAL}).status_code \
        == 302
    with get_database(app).transaction() as session:
        kiosk = session.get_one(Kiosk, kiosk_id)
        assert kiosk.terminal_password_hash is not None and verify_secret(kiosk.terminal_password_hash, TERMINAL)
    assert "取消终端密码" in client.get(f"/admin/sip2/kiosks/{kiosk_id}").get_data(as_text=True)
    # saving without it keeps it; ticking "clear" removes it
    assert client.post(f"/admin/sip2/kiosks/{kiosk_id}", data=form).status_code == 302
    with get_database(app).transaction() as session:
        assert session.get_one(Kiosk, kiosk_id).terminal_password_hash is not None
    assert client.post(f"/admin/sip2/kiosks/{kiosk_id}",
                       data={**form, "clear_terminal_password": "y"}).status_code == 302
    with get_database(app).transaction() as session:
        assert session.get_one(Kiosk, kiosk_id).terminal_password_hash is None
        changes = [e.details.get("terminal_password") for e in session.scalars(
            select(AuditEntry).where(AuditEntry.action == "sip2.kiosk.update").order_by(AuditEntry.id))]
    assert changes == ["set", None, "cleared"]
