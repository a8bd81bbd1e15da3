"""Jobs (called directly) and notice channels against local servers in threads."""

from __future__ import annotations

import datetime as dt
import json
import socketserver
import threading
from collections.abc import Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from circulation import jobs
from circulation.channels import send_notices
from circulation.models import Charge, Hold, Notice
from circulation.notices import queue_notice
from circulation.services import checkin, checkout, place_hold
from library import clock
from library.db import get_database
from library.models import Reader
from tests.circulation.factories import local_noon, make_item, make_record
from tests.factories import make_branch, make_reader

DAY0 = dt.date(2026, 11, 3)


class _Gateway(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []
    status = 200

    def do_POST(self) -> None:  # noqa: N802 (http.server API)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).received.append({"path": self.path, "auth": self.headers.get("Authorization"), **body})
        code = type(self).status
        if self.path.startswith("/wechat") and body["to"].endswith("X"):
            code = 404  # card not bound to a WeChat account
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"ok": true}')

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def gateway() -> Iterator[tuple[str, type[_Gateway]]]:
    handler = type("Gateway", (_Gateway,), {"received": [], "status": 200})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", handler
    finally:
        server.shutdown()
        server.server_close()


class _Smtp(socketserver.StreamRequestHandler):
    """Just enough SMTP to accept one message."""

    messages: list[str] = []

    def handle(self) -> None:
        self.wfile.write(b"220 localhost test\r\n")
        data = False
        lines: list[str] = []
        while True:
            raw = self.rfile.readline()
            if not raw:
                return
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            if data:
                if line == ".":
                    data = False
                    type(self).messages.append("\n".join(lines))
                    self.wfile.write(b"250 OK\r\n")
                else:
                    lines.append(line)
                continue
            verb = line[:4].upper()
            if verb == "EHLO" or verb == "HELO":
                self.wfile.write(b"250 localhost\r\n")
            elif verb == "DATA":
                data = True
                self.wfile.write(b"354 go\r\n")
            elif verb == "QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"250 OK\r\n")


def _reader_with_loan(app: Flask, *, item_type: str = "book", **reader_kw: Any) -> tuple[int, str]:
    with get_database(app).transaction() as s:
        a = make_branch(s)
        item = make_item(s, branch=a, item_type_code=item_type)
        reader = make_reader(s, home_branch=a, **reader_kw)
        checkout(s, item_barcode=item.barcode, card_number=reader.card_number, branch=a, now=local_noon(DAY0))
        return reader.id, item.barcode


def test_due_soon_and_overdue_notices_once(app: Flask) -> None:
    reader_id, _barcode = _reader_with_loan(app)
    clock.set_now(local_noon(DAY0 + dt.timedelta(days=27)))  # due on day 30: "due in 3 days"
    assert jobs.loan_notices(app) == 1
    assert jobs.loan_notices(app) == 0
    clock.set_now(local_noon(DAY0 + dt.timedelta(days=31)))
    assert jobs.loan_notices(app) == 1
    assert jobs.loan_notices(app) == 0
    with get_database(app).transaction() as s:
        kinds = [n.kind for n in s.scalars(select(Notice).where(Notice.reader_id == reader_id).order_by(Notice.id))]
    assert kinds == ["due_soon", "overdue"]


def test_send_notices_log_channel_at_most_once(app: Flask) -> None:
    _reader_with_loan(app)
    clock.set_now(local_noon(DAY0 + dt.timedelta(days=31)))
    jobs.loan_notices(app)
    assert send_notices(app) == 1
    assert send_notices(app) == 0
    with get_database(app).transaction() as s:
        n = s.scalars(select(Notice)).one()
        assert n.sent_at is not None and n.channel == "log" and n.attempts == 1


def test_sms_and_wechat_gateways(app: Flask, gateway: tuple[str, type[_Gateway]]) -> None:
    url, handler = gateway
    app.config.update(LIBRARY_NOTICE_CHANNELS="wechat,sms,log", LIBRARY_SMS_GATEWAY_URL=f"{url}/sms",
                      LIBRARY_SMS_GATEWAY_TOKEN="t0k", LIBRARY_WECHAT_GATEWAY_URL=f"{url}/wechat")
    now = local_noon(DAY0)
    with get_database(app).transaction() as s:
        bound = make_reader(s, phone="13800000001")
        unbound = make_reader(s, card_number="CARD-X", phone="13800000002")
        for r in (bound, unbound):
            queue_notice(s, reader=r, kind="hold_ready", dedup_key=f"k:{r.id}", subject="预约到馆", body="请取书",
                         branch=None, now=now)
    assert send_notices(app) == 2
    paths = sorted((m["path"], m["to"]) for m in handler.received)
    assert paths == [("/sms", "13800000002"), ("/wechat", "CARD-X"), ("/wechat", bound.card_number)]
    assert any(m["auth"] == "Bearer t0k" for m in handler.received if m["path"] == "/sms")
    with get_database(app).transaction() as s:
        channels = {n.reader_id: n.channel for n in s.scalars(select(Notice))}
    assert channels == {bound.id: "wechat", unbound.id: "sms"}


def test_failed_gateway_releases_the_notice_for_a_retry(app: Flask, gateway: tuple[str, type[_Gateway]]) -> None:
    url, handler = gateway
    handler.status = 503
    app.config.update(LIBRARY_NOTICE_CHANNELS="sms", LIBRARY_SMS_GATEWAY_URL=f"{url}/sms")
    with get_database(app).transaction() as s:
        r = make_reader(s, phone="13800000003")
        queue_notice(s, reader=r, kind="x", dedup_key="retry", subject="s", body="b", branch=None,
                     now=local_noon(DAY0))
    assert send_notices(app) == 0
    with get_database(app).transaction() as s:
        n = s.scalars(select(Notice)).one()
        assert n.sent_at is None and n.claimed_at is None and n.attempts == 1 and "503" in n.last_error
    handler.status = 200
    assert send_notices(app) == 1


def test_smtp_channel(app: Flask) -> None:
    handler = type("Smtp", (_Smtp,), {"messages": []})
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        app.config.update(LIBRARY_NOTICE_CHANNELS="email,log", LIBRARY_SMTP_HOST="127.0.0.1",
                          LIBRARY_SMTP_PORT=str(server.server_address[1]), LIBRARY_SMTP_FROM="lib@example.org")
        with get_database(app).transaction() as s:
            r = make_reader(s, email="reader@example.org")
            queue_notice(s, reader=r, kind="x", dedup_key="mail", subject="图书到期", body="请还书", branch=None,
                         now=local_noon(DAY0))
        assert send_notices(app) == 1
    finally:
        server.shutdown()
        server.server_close()
    assert len(handler.messages) == 1 and "reader@example.org" in handler.messages[0]


def test_uncollected_hold_expires_and_passes_on(app: Flask) -> None:
    now = local_noon(DAY0)
    with get_database(app).transaction() as s:
        a = make_branch(s)
        record = make_record(s)
        item = make_item(s, branch=a, record=record)
        r1, r2 = make_reader(s, home_branch=a), make_reader(s, home_branch=a)
        h1 = place_hold(s, card_number=r1.card_number, pickup_branch=a, record_id=record.id, now=now)
        h2 = place_hold(s, card_number=r2.card_number, pickup_branch=a, record_id=record.id, now=now)
        checkin(s, item_barcode=item.barcode, branch=a, now=now)  # pulled from the shelf for the first hold
        h1_id, h2_id, expires = h1.id, h2.id, h1.expires_on
    assert expires == DAY0 + dt.timedelta(days=7)
    clock.set_now(local_noon(DAY0 + dt.timedelta(days=6)))
    assert jobs.loan_notices(app) == 1  # "hold expiring tomorrow"
    clock.set_now(local_noon(DAY0 + dt.timedelta(days=7)))
    assert jobs.expire_holds(app) == 0  # the last day is still a day to collect
    clock.set_now(local_noon(DAY0 + dt.timedelta(days=8)))
    assert jobs.expire_holds(app) == 1
    assert jobs.expire_holds(app) == 0
    with get_database(app).transaction() as s:
        assert s.get_one(Hold, h1_id).state == "expired"
        h2 = s.get_one(Hold, h2_id)
        assert h2.state == "ready" and h2.expires_on == DAY0 + dt.timedelta(days=15)
        assert s.scalar(select(Notice).where(Notice.dedup_key == f"hold-ready:{h2_id}")) is not None


def test_fine_accrual_is_idempotent_and_capped(app: Flask) -> None:
    _reader_with_loan(app, item_type="periodical")  # 14 days, 0.10/day, cap 5.00
    clock.set_now(local_noon(DAY0 + dt.timedelta(days=24)))
    assert jobs.accrue_fines(app) == 1
    assert jobs.accrue_fines(app) == 1
    with get_database(app).transaction() as s:
        assert [c.amount for c in s.scalars(select(Charge))] == [Decimal("1.00")]
    clock.set_now(local_noon(DAY0 + dt.timedelta(days=200)))
    jobs.accrue_fines(app)
    with get_database(app).transaction() as s:
        charge = s.scalars(select(Charge)).one()
        assert charge.amount == Decimal("5.00")
        reader = s.get_one(Reader, charge.reader_id)
    clock.set_now(local_noon(DAY0 + dt.timedelta(days=201)))
    with get_database(app).transaction() as s:
        loan_item = s.scalars(select(Charge)).one().loan
        assert loan_item is not None
        result = checkin(s, item_barcode=loan_item.item.barcode, branch=loan_item.branch, now=clock.now())
        assert result.fine is not None and result.fine.amount == Decimal("5.00")
        assert len(s.scalars(select(Charge).where(Charge.reader_id == reader.id)).all()) == 1


def test_two_senders_at_once_send_each_notice_once(app: Flask, gateway: tuple[str, type[_Gateway]]) -> None:
    url, handler = gateway
    app.config.update(LIBRARY_NOTICE_CHANNELS="sms", LIBRARY_SMS_GATEWAY_URL=f"{url}/sms")
    with get_database(app).transaction() as s:
        readers = [make_reader(s, phone=f"1390000{i:04d}") for i in range(6)]
        for i in range(30):
            queue_notice(s, reader=readers[i % 6], kind="x", dedup_key=f"race:{i}", subject="s", body="b",
                         branch=None, now=local_noon(DAY0))
    barrier = threading.Barrier(2)
    counts: list[int] = []

    def sender() -> None:
        barrier.wait(timeout=30)
        counts.append(send_notices(app, batch=5))

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    ids = [m["id"] for m in handler.received]
    assert sorted(ids) == sorted(f"race:{i}" for i in range(30)) and sum(counts) == 30
