"""Kiosk accounts on the admin pages (admin role only), the demo kiosks and ``library sip2``."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from circulation.sip2.models import Kiosk
from library.db import get_database
from library.models import AuditEntry, Branch
from library.security import verify_secret
from tests import factories
from tests.sip2.factories import KIOSK_PASSWORD, RawKiosk, make_kiosk


def _branch_id(app: Flask, code: str = "K01") -> int:
    with get_database(app).transaction() as session:
        return factories.make_branch(session, code=code, name="测试分馆").id


def test_only_admins_manage_kiosks(app: Flask, client: FlaskClient, staff_login) -> None:  # type: ignore[no-untyped-def]
    staff_login("circulation", branch_code="ZY")
    assert client.get("/admin/sip2/kiosks").status_code == 403
    assert client.post("/admin/sip2/kiosks/new", data={}).status_code == 403


def test_add_edit_and_disable_a_kiosk(app: Flask, client: FlaskClient, staff_login) -> None:  # type: ignore[no-untyped-def]
    branch_id = _branch_id(app)
    staff_login("admin")
    page = client.get("/admin/sip2/kiosks")
    assert page.status_code == 200 and "还没有自助设备账号" in page.get_data(as_text=True)
    assert "/admin/sip2/kiosks" in client.get("/admin/").get_data(as_text=True)

    # A bad form keeps what was typed and saves nothing.
    bad = client.post("/admin/sip2/kiosks/new", data={"sip_login": "K01-SC|1", "password": "123",
                                                      "branch_id": branch_id, "charset": "gbk",
                                                      "description": "一楼大厅"})
    assert bad.status_code == 422
    html = bad.get_data(as_text=True)
    assert "一楼大厅" in html and "K01-SC|1" in html
    no_password = client.post("/admin/sip2/kiosks/new", data={"sip_login": "K01-SC1", "branch_id": branch_id,
                                                              "charset": "utf-8"})
    assert no_password.status_code == 422 and "新账号必须设置密码" in no_password.get_data(as_text=True)

    ok = client.post("/admin/sip2/kiosks/new", data={"sip_login": "K01-SC1", "password": "longenough",
                                                     "branch_id": branch_id, "charset": "gbk",
                                                     "description": "一楼大厅", "active": "y"})
    assert ok.status_code == 302
    dup = client.post("/admin/sip2/kiosks/new", data={"sip_login": "k01-sc1", "password": "longenough",
                                                      "branch_id": branch_id, "charset": "utf-8", "active": "y"})
    assert dup.status_code == 409 and "已存在" in dup.get_data(as_text=True)
    listing = client.get("/admin/sip2/kiosks").get_data(as_text=True)
    assert "K01-SC1" in listing and "GBK" in listing and "一楼大厅" in listing

    with get_database(app).transaction() as session:
        kiosk = session.scalar(select(Kiosk).where(Kiosk.sip_login == "K01-SC1"))
        assert kiosk is not None and kiosk.charset == "gbk" and kiosk.active
        assert verify_secret(kiosk.password_hash, "longenough")
        kiosk_id, old_hash = kiosk.id, kiosk.password_hash

    # Edit without a password keeps it; unticking "active" disables the account.
    assert client.get(f"/admin/sip2/kiosks/{kiosk_id}").status_code == 200
    edited = client.post(f"/admin/sip2/kiosks/{kiosk_id}", data={"branch_id": branch_id, "charset": "utf-8",
                                                                 "description": "二楼"})
    assert edited.status_code == 302
    with get_database(app).transaction() as session:
        kiosk = session.get(Kiosk, kiosk_id)
        assert kiosk is not None
        assert kiosk.charset == "utf-8" and not kiosk.active and kiosk.password_hash == old_hash
        actions = list(session.scalars(select(AuditEntry.action).where(AuditEntry.target_type == "kiosk")
                                       .order_by(AuditEntry.id)))
    assert actions == ["sip2.kiosk.create", "sip2.kiosk.update"]
    assert client.get("/admin/sip2/kiosks/999").status_code == 404


def test_demo_lists_kiosks(app: Flask) -> None:
    """The demo step (order 35) on the demo's branch codes (the network step is the lead's to
    test)."""
    import random

    from circulation.sip2.demo import add_kiosks
    from library import clock
    from library.demo import DemoContext

    ctx = DemoContext(rng=random.Random(1), now=clock.now())
    with get_database(app).transaction() as session:
        for code in ("ZY", "ZY01", "ZY03"):
            factories.make_branch(session, code=code)
        factories.make_branch(session, code="ZY-VAN", kind="mobile")
    with get_database(app).transaction() as session:
        add_kiosks(session, ctx)
    kiosks = ctx.out["kiosks"]
    assert {k["branch"] for k in kiosks} >= {"ZY", "ZY-VAN"}
    with get_database(app).transaction() as session:
        branches = {b.code for b in session.scalars(select(Branch))}
        for k in kiosks:
            kiosk = session.scalar(select(Kiosk).where(Kiosk.sip_login == k["sip_login"]))
            assert kiosk is not None and kiosk.branch.code == k["branch"] and k["branch"] in branches
            assert verify_secret(kiosk.password_hash, k["sip_password"])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_library_sip2_command(app: Flask, database_url: str, tmp_path: Path) -> None:
    """``library sip2`` in its own process serves a kiosk and stops cleanly on SIGTERM."""
    with get_database(app).transaction() as session:
        login = make_kiosk(session).sip_login
    port = _free_port()
    env = {**os.environ, "LIBRARY_DATABASE_URL": database_url, "LIBRARY_DATA_DIR": str(tmp_path / "data"),
           "LIBRARY_SECRET_KEY": "test-secret-key"}
    exe = Path(sys.executable).parent / "library"
    proc = subprocess.Popen([str(exe), "sip2", "--port", str(port), "--idle-timeout", "60"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                kiosk = RawKiosk(port)
                break
            except OSError:
                assert proc.poll() is None, proc.communicate()
                assert time.monotonic() < deadline, "library sip2 did not start listening"
                time.sleep(0.2)
        with kiosk:
            assert kiosk.login(login, KIOSK_PASSWORD).fixed["all"] == "1"
            assert kiosk.ask("9900802.00").code == "98"
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert f"listening on 127.0.0.1:{port}" in out and "stopping" in out
