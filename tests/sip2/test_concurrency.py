"""Twenty kiosks at once, each checking its own copies out and in: every transaction is
answered, and the loans in the database are exactly what the kiosks were told."""

from __future__ import annotations

import threading
from collections import Counter

from flask import Flask
from sqlalchemy import func, select

from catalog.models import Item
from circulation.models import Loan
from library.db import get_database
from library.models import AuditEntry, Reader
from tests import factories
from tests.circulation.factories import make_item, make_record
from tests.sip2.factories import RawKiosk, make_kiosk, running_server, sip_now

KIOSKS = 20
ROUNDS = 5
BLANK_DATE = " " * 18


def test_twenty_kiosks_at_once(app: Flask) -> None:
    plans: list[tuple[str, str, list[str]]] = []
    with get_database(app).transaction() as session:
        branches = [factories.make_branch(session) for _ in range(4)]
        record = make_record(session, title="并发测试")
        for i in range(KIOSKS):
            branch = branches[i % len(branches)]
            kiosk = make_kiosk(session, branch=branch)
            reader = factories.make_reader(session, home_branch=branch)
            items = [make_item(session, record=record, branch=branch).barcode for _ in range(2)]
            plans.append((kiosk.sip_login, reader.card_number, items))

    told: dict[str, set[str]] = {}
    answers: Counter[str] = Counter()
    failures: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(KIOSKS)

    def run(login: str, card: str, items: list[str]) -> None:
        on_loan: set[str] = set()
        try:
            with RawKiosk(server.port, timeout=120) as k:
                start.wait()
                assert k.login(login).fixed["all"] == "1"
                steps = [("out", items[0]), ("out", items[1]), ("in", items[0]), ("in", items[1])] * ROUNDS
                steps.append(("out", items[0]))
                for kind, barcode in steps:
                    if kind == "out":
                        m = k.ask(f"11NN{sip_now()}{BLANK_DATE}AOZY|AA{card}|AB{barcode}|AC|")
                        assert m.code == "12"
                        if m.fixed["all"][0] == "1":
                            on_loan.add(barcode)
                        else:
                            failures.append(f"{login} checkout {barcode}: {m.get('AF')}")
                    else:
                        m = k.ask(f"09N{sip_now()}{sip_now()}APx|AOZY|AB{barcode}|AC|")
                        assert m.code == "10"
                        if m.fixed["all"][0] == "1":
                            on_loan.discard(barcode)
                        else:
                            failures.append(f"{login} checkin {barcode}: {m.get('AF')}")
                    with lock:
                        answers[m.code] += 1
        except Exception as exc:  # reported below; a thread must not die silently
            failures.append(f"{login}: {exc!r}")
        finally:
            with lock:
                told[card] = on_loan

    with running_server(app) as server:
        threads = [threading.Thread(target=run, args=plan) for plan in plans]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=300)
        assert not any(t.is_alive() for t in threads)

    assert failures == []
    per_kiosk = 4 * ROUNDS + 1
    assert answers == Counter({"12": KIOSKS * (2 * ROUNDS + 1), "10": KIOSKS * 2 * ROUNDS})
    with get_database(app).transaction() as session:
        rows = session.execute(select(Reader.card_number, Item.barcode).join(Loan, Loan.reader_id == Reader.id)
                               .join(Item, Item.id == Loan.item_id).where(Loan.state == "on_loan")).all()
        in_db: dict[str, set[str]] = {card: set() for _, card, _ in plans}
        for card, barcode in rows:
            in_db[card].add(barcode)
        assert in_db == told
        assert all(len(v) == 1 for v in told.values())
        assert session.scalar(select(func.count()).select_from(Loan)) == KIOSKS * (2 * ROUNDS + 1)
        audited = session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action.in_(("sip2.checkout", "sip2.checkin")))) or 0
        assert audited == KIOSKS * per_kiosk
        on_loan_items = session.scalar(select(func.count()).select_from(Item).where(Item.status == "on_loan"))
        assert on_loan_items == KIOSKS
