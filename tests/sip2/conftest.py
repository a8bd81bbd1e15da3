"""Fixtures of the SIP2 tests: a network with a kiosk, a reader and copies, and a live server."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from flask import Flask

from circulation.sip2.server import Sip2Server
from library.db import get_database
from tests import factories
from tests.circulation.factories import make_item, make_record
from tests.sip2.factories import make_kiosk, running_server


@dataclass
class Scene:
    kiosk_login: str
    branch_code: str
    other_branch_code: str
    card: str
    other_card: str
    barcodes: list[str]
    other_branch_barcode: str
    record_id: int


@pytest.fixture
def scene(app: Flask) -> Scene:
    with get_database(app).transaction() as session:
        branch = factories.make_branch(session, name="测试总馆")
        other = factories.make_branch(session, name="测试分馆")
        kiosk = make_kiosk(session, branch=branch)
        reader = factories.make_reader(session, name="王小明", home_branch=branch)
        other_reader = factories.make_reader(session, name="李四", home_branch=branch)
        record = make_record(session, title="平凡的世界")
        items = [make_item(session, record=record, branch=branch) for _ in range(3)]
        away = make_item(session, record=make_record(session, title="围城"), branch=other)
        return Scene(kiosk.sip_login, branch.code, other.code, reader.card_number, other_reader.card_number,
                     [i.barcode for i in items], away.barcode, record.id)


@pytest.fixture
def server(app: Flask) -> Iterator[Sip2Server]:
    with running_server(app) as srv:
        yield srv


@pytest.fixture(autouse=True)
def _close_sip2_client_logs() -> Iterator[None]:
    """The PyPI client adds a file handler to the "Sip2" logger on every connect; close them."""
    yield
    logger = logging.getLogger("Sip2")
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
