"""The SIP2 server over real sockets: framing, refusals, routing answers, PINs, charsets, paging,
holds, idle timeout, disconnects and TLS."""

from __future__ import annotations

import contextlib
import socket
import ssl
import subprocess
import time
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from circulation.models import Hold, Loan
from circulation.sip2 import protocol as p
from circulation.sip2.models import Kiosk
from circulation.sip2.server import Sip2Server, tls_context
from library.db import get_database
from library.models import AuditEntry, LoginAttempt, Reader
from tests.conftest import shared_file
from tests.factories import READER_PIN
from tests.sip2.conftest import Scene
from tests.sip2.factories import RawKiosk, make_kiosk, parse_answer, running_server, sip_now

BLANK_DATE = " " * 18


def checkout(k: RawKiosk, card: str, barcode: str, pin: str | None = None, policy: str = "N") -> p.Message:
    ad = f"AD{pin}|" if pin is not None else ""
    return k.ask(f"11{policy}N{sip_now()}{BLANK_DATE}AOZY|AA{card}|AB{barcode}|AC|{ad}")


def checkin(k: RawKiosk, barcode: str) -> p.Message:
    return k.ask(f"09N{sip_now()}{sip_now()}APLobby|AOZY|AB{barcode}|AC|")


def _open_loans(app: Flask) -> dict[str, str]:
    from catalog.models import Item

    with get_database(app).transaction() as session:
        rows = session.execute(select(Item.barcode, Reader.card_number).join(Loan, Loan.item_id == Item.id)
                               .join(Reader, Reader.id == Loan.reader_id).where(Loan.state == "on_loan")).all()
    return {b: c for b, c in rows}


def test_every_shared_frame_is_answered_and_the_connection_stays(server: Sip2Server, scene: Scene) -> None:
    manifest = shared_file("sip2", "MANIFEST.tsv")
    names = [line.split("\t")[0] for line in manifest.read_text().splitlines()[1:] if line.strip()]
    assert len(names) >= 9
    with RawKiosk(server.port) as k:
        for logged_in in (False, True):
            if logged_in:
                assert k.login(scene.kiosk_login).fixed["all"] == "1"
            for name in names:
                raw = k.send_raw(shared_file("sip2", name).read_bytes())
                answer = parse_answer(raw)
                code = raw[:2].decode()
                request = shared_file("sip2", name).read_bytes()[:2].decode()
                expected = {"09": "10", "17": "18", "99": "98"}.get(request, "96")
                assert code == expected, (name, raw)
                if code != "96":
                    assert answer.sequence == "1"  # the request's AY echoed
                if request == "09" and logged_in:
                    assert answer.fixed["all"][0] == "0" and answer.get("AF")  # unknown barcode: refused
                if request == "99":
                    assert answer.fixed["all"][0] == ("Y" if logged_in else "N")
            # still connected and working
            assert k.ask(f"17{sip_now()}AOZY|AB{scene.barcodes[0]}|").code == "18"


def test_bad_checksum_gets_96_and_nothing_happens(app: Flask, server: Sip2Server, scene: Scene) -> None:
    with RawKiosk(server.port) as k:
        k.login(scene.kiosk_login)
        frame = k.frame(f"11NN{sip_now()}{BLANK_DATE}AOZY|AA{scene.card}|AB{scene.barcodes[0]}|AC|", checksum=False)
        assert k.send_raw(frame) == b"96AZFEF6"
        assert _open_loans(app) == {}
        # the kiosk resends it correctly
        assert checkout(k, scene.card, scene.barcodes[0]).fixed["all"][0] == "1"
    assert _open_loans(app) == {scene.barcodes[0]: scene.card}


def test_resend_97_and_a_repeated_frame_do_not_run_twice(app: Flask, server: Sip2Server, scene: Scene) -> None:
    with RawKiosk(server.port) as k:
        k.login(scene.kiosk_login)
        frame = k.frame(f"11NN{sip_now()}{BLANK_DATE}AOZY|AA{scene.card}|AB{scene.barcodes[0]}|AC|")
        first = k.send_raw(frame)
        assert parse_answer(first).fixed["all"][0] == "1"
        # The kiosk did not hear us and sends the very same frame (same AY): same answer, one loan.
        assert k.send_raw(frame) == first
        # 97: "say that again"
        assert k.send_raw(b"97AZFEF5\r") == first
    with get_database(app).transaction() as session:
        assert session.scalar(select(func.count()).select_from(Loan)) == 1
        assert session.scalar(select(func.count()).select_from(AuditEntry)
                              .where(AuditEntry.action == "sip2.checkout")) == 1


def test_frames_split_and_joined_in_tcp_segments(server: Sip2Server, scene: Scene) -> None:
    with RawKiosk(server.port) as k:
        login = k.frame(f"9300CN{scene.kiosk_login}|COkiosk-secret-1|")
        status = k.frame("9900802.00")
        data = login + b"\n" + status  # CR LF endings, two frames in one segment
        k.sock.sendall(data[:7])
        time.sleep(0.05)
        k.sock.sendall(data[7:])
        assert parse_answer(k.read()).code == "94"
        assert parse_answer(k.read()).code == "98"


def test_checkout_refusals_are_clean(app: Flask, server: Sip2Server, scene: Scene) -> None:
    with RawKiosk(server.port) as k:
        k.login(scene.kiosk_login)
        unknown = checkout(k, scene.card, "NO-SUCH-ITEM")
        assert unknown.code == "12" and unknown.fixed["all"][:1] == "0" and unknown.get("AF")
        no_reader = checkout(k, "NOBODY", scene.barcodes[0])
        assert no_reader.fixed["all"][0] == "0"
        ok = checkout(k, scene.card, scene.barcodes[0])
        assert ok.fixed["all"][0] == "1" and ok.fixed["all"][3] == "Y"  # desensitize
        taken = checkout(k, scene.other_card, scene.barcodes[0])
        assert taken.fixed["all"][0] == "0" and "已被借出" in taken.get("AF")
        # The same reader scanning it again: told it is theirs (idempotent), no second loan.
        again = checkout(k, scene.card, scene.barcodes[0])
        assert again.fixed["all"][0] == "1" and again.get("AH") == ok.get("AH")
        # ... and with SC renewal policy Y it is renewed.
        renewed = checkout(k, scene.card, scene.barcodes[0], policy="Y")
        assert renewed.fixed["all"][:2] == "1Y"
        missing = k.ask(f"11NN{sip_now()}{BLANK_DATE}AOZY|AA{scene.card}|AC|")
        assert missing.fixed["all"][0] == "0"
    assert _open_loans(app) == {scene.barcodes[0]: scene.card}
    with get_database(app).transaction() as session:
        results = [d["result"] for (d,) in session.execute(
            select(AuditEntry.details).where(AuditEntry.action == "sip2.checkout").order_by(AuditEntry.id))]
    assert results == ["item_not_found", "reader_not_found", "ok", "item_already_on_loan",
                       "already_on_loan_to_reader", "renewed"]


def test_pin_checked_when_sent_and_rate_limited(app: Flask, server: Sip2Server, scene: Scene) -> None:
    with RawKiosk(server.port) as k:
        k.login(scene.kiosk_login)
        bad = checkout(k, scene.card, scene.barcodes[0], pin="000000")
        assert bad.fixed["all"][0] == "0" and "密码" in bad.get("AF")
        status = k.ask(f"23000{sip_now()}AOZY|AA{scene.card}|AC|AD999999|")
        assert status.get("CQ") == "N" and status.get("BL") == "Y"
        for _ in range(5):
            checkout(k, scene.card, scene.barcodes[0], pin="111111")
        # Now even the right PIN is refused for a while (too many failures).
        locked = checkout(k, scene.card, scene.barcodes[0], pin=READER_PIN)
        assert locked.fixed["all"][0] == "0" and "分钟" in locked.get("AF")
        other = checkout(k, scene.other_card, scene.barcodes[1], pin=READER_PIN)
        assert other.fixed["all"][0] == "1"
    assert _open_loans(app) == {scene.barcodes[1]: scene.other_card}
    with get_database(app).transaction() as session:
        kinds = set(session.scalars(select(LoginAttempt.kind)))
    assert kinds == {"sip2"}


def test_checkin_routing_answers(app: Flask, server: Sip2Server, scene: Scene) -> None:
    from catalog.models import Item

    with RawKiosk(server.port) as k:
        k.login(scene.kiosk_login)
        # An item of another branch returned here goes home: alert, CT = its branch.
        assert checkout(k, scene.card, scene.other_branch_barcode).fixed["all"][0] == "1"
        back = checkin(k, scene.other_branch_barcode)
        assert back.fixed["all"][:4] == "1YNY", back.raw
        assert back.get("CT") == scene.other_branch_code and back.get("CV") == "04"
        assert back.get("AA") == scene.card and "请送往" in back.get("AF")
        # A copy another reader holds is put on the hold shelf here for them.
        assert checkout(k, scene.card, scene.barcodes[0]).fixed["all"][0] == "1"
        hold = k.ask(f"15+{sip_now()}BS{scene.branch_code}|AOZY|AA{scene.other_card}|AB{scene.barcodes[0]}|")
        assert hold.code == "16" and hold.fixed["all"][0] == "1", hold.raw
        back = checkin(k, scene.barcodes[0])
        assert back.fixed["all"][3] == "Y" and back.get("CV") == "01"
        assert back.get("CY") == scene.other_card and back.get("DA") == "李*"
        assert "预约架" in back.get("AF")
        # Reshelve: nothing special.
        assert checkout(k, scene.card, scene.barcodes[1]).fixed["all"][0] == "1"
        back = checkin(k, scene.barcodes[1])
        assert back.fixed["all"][:4] == "1YNN" and not back.has("CT") and back.get("AF") == "还书成功"
        # 17 tells the held copy waits on the hold shelf.
        info = k.ask(f"17{sip_now()}AOZY|AB{scene.barcodes[0]}|")
        assert info.fixed["all"][:2] == "08" and info.has("CM")
    with get_database(app).transaction() as session:
        statuses = dict(session.execute(select(Item.barcode, Item.status)).all())
    assert statuses[scene.other_branch_barcode] == "in_transit"
    assert statuses[scene.barcodes[0]] == "on_hold_shelf"


def test_patron_information_lists_and_paging(app: Flask, server: Sip2Server, scene: Scene) -> None:
    from tests.circulation.factories import make_item

    with get_database(app).transaction() as session:
        branch = session.get(Kiosk, 1)
        assert branch is not None
        extra = [make_item(session, branch=branch.branch).barcode for _ in range(8)]
    barcodes = scene.barcodes + extra  # 11 copies; an adult may borrow 10 (default rule)
    with RawKiosk(server.port) as k:
        k.login(scene.kiosk_login)
        for b in barcodes[:10]:
            assert checkout(k, scene.card, b).fixed["all"][0] == "1"
        over = checkout(k, scene.card, barcodes[10])
        assert over.fixed["all"][0] == "0" and "上限" in over.get("AF")
        first = k.ask(f"63000{sip_now()}  Y       AOZY|AA{scene.card}|BP1|BQ4|")
        assert first.fixed["all"][43:47] == "0010"  # charged items count
        assert len(first.fields["AU"]) == 4
        second = k.ask(f"63000{sip_now()}  Y       AOZY|AA{scene.card}|BP5|BQ8|")
        third = k.ask(f"63000{sip_now()}  Y       AOZY|AA{scene.card}|BP9|BQ12|")
        listed = first.fields["AU"] + second.fields["AU"] + third.fields["AU"]
        assert sorted(listed) == sorted(barcodes[:10]) and len(third.fields["AU"]) == 2
        # no list asked: counts only
        none = k.ask(f"63000{sip_now()}          AOZY|AA{scene.card}|")
        assert "AU" not in none.fields and none.get("AE") == "王小明"
        # a hold that is not available yet shows as an unavailable hold (CD)
        k.ask(f"15+{sip_now()}AOZY|AA{scene.other_card}|AB{scene.barcodes[0]}|")
        holds = k.ask(f"63000{sip_now()}     Y    AOZY|AA{scene.other_card}|")
        assert holds.fixed["all"][55:59] == "0001" and holds.fields["CD"] == [scene.barcodes[0]]
        # 24 says why the 11th loan was refused: too many items charged.
        status = k.ask(f"23000{sip_now()}AOZY|AA{scene.card}|AC|AD|")
        assert status.fixed["all"][0] == "Y" and status.fixed["all"][5] == "Y"
        unknown = k.ask(f"63000{sip_now()}  Y       AOZY|AA{'X' * 10}|")
        assert unknown.get("BL") == "N"


def test_hold_place_and_cancel(app: Flask, server: Sip2Server, scene: Scene) -> None:
    with RawKiosk(server.port) as k:
        k.login(scene.kiosk_login)
        for b in scene.barcodes:
            checkout(k, scene.card, b)
        placed = k.ask(f"15+{sip_now()}AOZY|AA{scene.other_card}|AJ{scene.record_id}|")
        assert placed.fixed["all"][:2] == "1N" and placed.get("BR") == "1" and placed.get("BS") == scene.branch_code
        twice = k.ask(f"15+{sip_now()}AOZY|AA{scene.other_card}|AJ{scene.record_id}|")
        assert twice.fixed["all"][0] == "0"
        modify = k.ask(f"15*{sip_now()}AOZY|AA{scene.other_card}|AJ{scene.record_id}|")
        assert modify.fixed["all"][0] == "0"
        cancelled = k.ask(f"15-{sip_now()}AOZY|AA{scene.other_card}|AB{scene.barcodes[0]}|")
        assert cancelled.fixed["all"][0] == "1", cancelled.raw
        gone = k.ask(f"15-{sip_now()}AOZY|AA{scene.other_card}|AB{scene.barcodes[0]}|")
        assert gone.fixed["all"][0] == "0"
    with get_database(app).transaction() as session:
        assert [h.state for h in session.scalars(select(Hold))] == ["cancelled"]


def test_renew_all(app: Flask, server: Sip2Server, scene: Scene) -> None:
    with RawKiosk(server.port) as k:
        k.login(scene.kiosk_login)
        for b in scene.barcodes[:2]:
            checkout(k, scene.card, b)
        k.ask(f"15+{sip_now()}AOZY|AA{scene.other_card}|AB{scene.barcodes[1]}|")
        answer = k.ask(f"65{sip_now()}AOZY|AA{scene.card}|AD{READER_PIN}|")
        assert answer.code == "66" and answer.fixed["all"][:9] == "100010001", answer.raw
        assert answer.fields["BM"] == [scene.barcodes[0]] and answer.fields["BN"] == [scene.barcodes[1]]


def test_gbk_kiosk_gets_gbk_answers(app: Flask, server: Sip2Server, scene: Scene) -> None:
    with get_database(app).transaction() as session:
        kiosk = session.scalar(select(Kiosk).where(Kiosk.sip_login == scene.kiosk_login))
        assert kiosk is not None
        old = make_kiosk(session, branch=kiosk.branch, charset="gbk")
        old_login = old.sip_login
    with RawKiosk(server.port, charset="gbk") as k:
        assert k.login(old_login).fixed["all"] == "1"
        raw = k.send_raw(k.frame(f"23000{sip_now()}AO总馆|AA{scene.card}|AC|AD|"))
        assert "王小明".encode("gbk") in raw
        with pytest.raises(UnicodeDecodeError):
            raw.decode("utf-8")
        assert parse_answer(raw, "gbk").get("AE") == "王小明"
        out = k.ask(f"11NN{sip_now()}{BLANK_DATE}AO总馆|AA{scene.card}|AB{scene.barcodes[0]}|AC|")
        assert out.get("AJ") == "平凡的世界" and "借书成功" in out.get("AF")


def test_messages_before_login_get_their_own_refusal(server: Sip2Server, scene: Scene) -> None:
    with RawKiosk(server.port) as k:
        blocked = k.ask(f"01N{sip_now()}AOZY|ALcard left|AA{scene.card}|AC|")
        assert blocked.code == "24" and blocked.get("BL") == "N"
        fee = k.ask(f"37{sip_now()}0100CNYBV1.00|AOZY|AA{scene.card}|")
        assert fee.code == "38" and fee.fixed["all"][0] == "N"
        enable = k.ask(f"25{sip_now()}AOZY|AA{scene.card}|AD{READER_PIN}|")
        assert enable.code == "26" and enable.get("BL") == "N"
        update = k.ask(f"19{sip_now()}AOZY|AB{scene.barcodes[0]}|CHx|")
        assert update.code == "20" and update.fixed["all"][0] == "0"
        assert k.ask("9900802.00").code == "98"


def test_idle_connection_is_closed(app: Flask, scene: Scene) -> None:
    with running_server(app, idle_timeout=0.5) as server, RawKiosk(server.port) as k:
        assert k.login(scene.kiosk_login).fixed["all"] == "1"
        k.sock.settimeout(10)
        assert k.sock.recv(100) == b""  # the server hung up after half a second of silence


def test_disconnect_mid_frame_leaves_nothing(app: Flask, server: Sip2Server, scene: Scene) -> None:
    with RawKiosk(server.port) as k:
        k.login(scene.kiosk_login)
        frame = k.frame(f"11NN{sip_now()}{BLANK_DATE}AOZY|AA{scene.card}|AB{scene.barcodes[0]}|AC|")
        k.sock.sendall(frame[:-1])  # everything but the CR
    # A checkout sent whole, the kiosk gone before reading the answer: all or nothing.
    k2 = RawKiosk(server.port)
    k2.login(scene.kiosk_login)
    k2.sock.sendall(k2.frame(f"11NN{sip_now()}{BLANK_DATE}AOZY|AA{scene.card}|AB{scene.barcodes[1]}|AC|"))
    k2.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    k2.close()
    # A new connection sees a consistent state.
    with RawKiosk(server.port) as k3:
        k3.login(scene.kiosk_login)
        info0 = k3.ask(f"17{sip_now()}AOZY|AB{scene.barcodes[0]}|")
        assert info0.fixed["all"][:2] == "03"
    deadline = time.monotonic() + 10
    from catalog.models import Item

    on_loan = (select(func.count()).select_from(Loan)
               .where(Loan.item_id == Item.id, Loan.state == "on_loan").scalar_subquery())
    while True:
        with get_database(app).transaction() as session:
            # the copy's status and its open loans in one statement: one snapshot, even while the
            # server may be committing the checkout
            rows = {b: (st, n) for b, st, n in session.execute(
                select(Item.barcode, Item.status, on_loan).where(Item.barcode.in_(scene.barcodes[:2])))}
        status1, loans1 = rows[scene.barcodes[1]]
        assert (status1 == "on_loan") == (loans1 == 1)
        if loans1 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert rows[scene.barcodes[0]] == ("available", 0)


def test_tls(app: Flask, scene: Scene, tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    try:
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
                        "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"openssl cannot make a test certificate: {exc}")
    with running_server(app, tls=tls_context(str(cert), str(key))) as server:
        ctx = ssl.create_default_context(cafile=str(cert))
        ctx.check_hostname = False
        raw = socket.create_connection(("127.0.0.1", server.port), timeout=30)
        with ctx.wrap_socket(raw) as tls_sock:
            k = RawKiosk.__new__(RawKiosk)
            k.sock, k.charset, k.seq, k.buffer = tls_sock, "utf-8", 0, b""
            assert k.login(scene.kiosk_login).fixed["all"] == "1"
            assert k.ask(f"17{sip_now()}AOZY|AB{scene.barcodes[0]}|").get("AJ") == "平凡的世界"
        # plain text on a TLS port gets nowhere, and the server keeps serving
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as plain:
            plain.sendall(b"9900802.00AY1AZFCA0\r")
            plain.settimeout(10)
            try:
                data = plain.recv(100)
            except ConnectionResetError:
                data = b""
            assert not data.startswith(b"98")


def test_deactivated_kiosk_is_refused(app: Flask, server: Sip2Server, scene: Scene) -> None:
    with RawKiosk(server.port) as k:
        k.login(scene.kiosk_login)
        with get_database(app).transaction() as session:
            kiosk = session.scalar(select(Kiosk).where(Kiosk.sip_login == scene.kiosk_login))
            assert kiosk is not None
            kiosk.active = False
        out = checkout(k, scene.card, scene.barcodes[0])
        assert out.fixed["all"][0] == "0" and "停用" in out.get("AF")
        assert k.login(scene.kiosk_login).fixed["all"] == "0"
    assert _open_loans(app) == {}


def test_kiosk_of_a_closed_down_branch_is_refused(app: Flask, server: Sip2Server, scene: Scene) -> None:
    with RawKiosk(server.port) as k:
        assert k.login(scene.kiosk_login).fixed["all"] == "1"
        with get_database(app).transaction() as session:
            kiosk = session.scalar(select(Kiosk).where(Kiosk.sip_login == scene.kiosk_login))
            assert kiosk is not None
            kiosk.branch.active = False
        out = checkout(k, scene.card, scene.barcodes[0])
        assert out.fixed["all"][0] == "0" and "停用" in out.get("AF")
        assert k.login(scene.kiosk_login).fixed["all"] == "0"
    assert _open_loans(app) == {}


def test_overdue_fines_and_blocks_reach_the_kiosk(app: Flask, server: Sip2Server, scene: Scene) -> None:
    import datetime as dt
    from decimal import Decimal

    from circulation.models import Charge
    from library import clock

    with RawKiosk(server.port) as k:
        k.login(scene.kiosk_login)
        with clock.frozen(clock.now() - dt.timedelta(days=60)):
            assert checkout(k, scene.card, scene.barcodes[0]).fixed["all"][0] == "1"
        with get_database(app).transaction() as session:
            loan = session.scalar(select(Loan))
            assert loan is not None
            session.add(Charge(reader_id=loan.reader_id, loan_id=loan.id, kind="damage", amount=Decimal("12.50"),
                               state="open", created_at=clock.now(), updated_at=clock.now()))
        overdue = k.ask(f"63000{sip_now()} Y        AOZY|AA{scene.card}|")
        assert overdue.fixed["all"][39:43] == "0001" and overdue.fields["AT"] == [scene.barcodes[0]]
        flags = overdue.fixed["all"][:14]
        assert flags[0] == "Y" and flags[6] == "Y" and flags[10] == "Y"
        assert overdue.get("BV") == "12.50" and overdue.get("BH") == "CNY"
        assert "逾期" in overdue.get("AF")
        fines = k.ask(f"63000{sip_now()}   Y      AOZY|AA{scene.card}|")
        assert fines.fixed["all"][47:51] == "0001"
        with get_database(app).transaction() as session:
            charge_id = session.scalar(select(Charge.id))
        assert fines.fields["AV"] == [f"#{charge_id} {scene.barcodes[0]} 12.50 CNY damage"]
        refused = checkout(k, scene.card, scene.barcodes[1])
        assert refused.fixed["all"][0] == "0" and "逾期" in refused.get("AF")
        renew = k.ask(f"29NN{sip_now()}{BLANK_DATE}AOZY|AA{scene.card}|AB{scene.barcodes[0]}|")
        assert renew.code == "30" and renew.fixed["all"][:2] == "0N"
        back = checkin(k, scene.barcodes[0])
        assert back.fixed["all"][0] == "1" and back.get("AF") == "还书成功（已逾期）"


def test_a_kiosk_checkout_earns_reading_points_like_the_counter(app: Flask, server: Sip2Server,
                                                                scene: Scene) -> None:
    """The same checkout as at the counter: the circulation signals run inside the kiosk's
    transaction, so the points ledger posts the checkout (idempotently, once per loan)."""
    from reading_points.points.models import PointsEntry

    with RawKiosk(server.port) as k:
        k.login(scene.kiosk_login)
        assert checkout(k, scene.card, scene.barcodes[0]).fixed["all"][0] == "1"
        assert checkout(k, scene.card, scene.barcodes[0]).fixed["all"][0] == "1"  # scanned twice
    with get_database(app).transaction() as session:
        loan = session.scalar(select(Loan))
        assert loan is not None
        entries = session.scalars(select(PointsEntry).where(PointsEntry.source == f"loan:{loan.id}")).all()
    assert [e.rule for e in entries] == ["checkout"] and entries[0].amount > 0


def test_random_garbage_never_drops_the_connection(server: Sip2Server, scene: Scene) -> None:
    import random

    rng = random.Random(9)
    alphabet = b"0123456789|AYZ ABCDEFGHIJKLMNOPQRSTUVWXYZ\x00\xff\xfe\xe4\xb8\xad"
    with RawKiosk(server.port) as k:
        k.login(scene.kiosk_login)
        codes = list(p.REQUEST_LAYOUTS) + ["XX", "10", "12", "98", "9", ""]
        for _ in range(150):
            code = rng.choice(codes).encode()
            body = code + bytes(rng.choice(alphabet) for _ in range(rng.randrange(0, 120)))
            body = body.replace(b"\r", b"").replace(b"\n", b"")
            if not body.strip(b"\x00 "):
                continue
            if rng.random() < 0.5:
                body += b"AY" + str(rng.randrange(10)).encode() + b"AZ"
                body += p.checksum(body).encode()
            raw = k.send_raw(body + b"\r")
            assert raw[:2].isdigit() and raw[-6:-4] == b"AZ", (body, raw)
            assert p.checksum(raw[:-4]) == raw[-4:].decode()
        # (a garbled 93 is a failed login, which logs the connection out: log in again)
        assert k.login(scene.kiosk_login).fixed["all"] == "1"
        assert k.ask(f"17{sip_now()}AOZY|AB{scene.barcodes[0]}|").get("AJ") == "平凡的世界"


def test_the_server_keeps_the_search_index_following(app: Flask, scene: Scene) -> None:
    """Item status changes made by kiosks reach this node's search index without a search."""
    from catalog.models import SearchOutbox
    from catalog.search import backend

    with running_server(app, follow_index=True) as server, RawKiosk(server.port) as k:
        k.login(scene.kiosk_login)
        assert checkout(k, scene.card, scene.barcodes[0]).fixed["all"][0] == "1"
        with get_database(app).transaction() as session:
            target = session.scalar(select(func.max(SearchOutbox.id))) or 0
        assert target > 0
        deadline = time.monotonic() + 60
        with app.app_context():
            while backend(app).last_outbox_id() < target:
                assert time.monotonic() < deadline, "the index did not follow the outbox"
                time.sleep(0.2)


def test_connections_beyond_the_limit_are_refused(app: Flask, scene: Scene) -> None:
    with running_server(app, max_connections=1) as server, RawKiosk(server.port) as first:
        assert first.login(scene.kiosk_login).fixed["all"] == "1"
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as second:
            second.settimeout(30)
            with contextlib.suppress(ConnectionResetError):
                assert second.recv(10) == b""
        assert first.ask("9900802.00").code == "98"


def test_checkin_of_a_copy_held_for_pickup_elsewhere(app: Flask, server: Sip2Server, scene: Scene) -> None:
    with RawKiosk(server.port) as k:
        k.login(scene.kiosk_login)
        assert checkout(k, scene.card, scene.barcodes[0]).fixed["all"][0] == "1"
        hold = k.ask(f"15+{sip_now()}BS{scene.other_branch_code}|AOZY|AA{scene.other_card}|AB{scene.barcodes[0]}|")
        assert hold.fixed["all"][0] == "1" and hold.get("BS") == scene.other_branch_code
        back = checkin(k, scene.barcodes[0])
        assert back.fixed["all"][:4] == "1YNY", back.raw
        assert back.get("CV") == "02" and back.get("CT") == scene.other_branch_code
        assert back.get("CY") == scene.other_card and "预约书" in back.get("AF")
        info = k.ask(f"17{sip_now()}AOZY|AB{scene.barcodes[0]}|")
        assert info.fixed["all"][:2] == "10" and info.get("CF") == "1"
