"""The holds pull list (取书单): waiting holds a copy on this branch's shelf can fill; scanning a
pulled copy at check-in traps it; the page, the counter navigation and the JSON API."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from circulation.models import Hold
from circulation.pull_list import pull_list
from circulation.services import cancel_hold, checkin, place_hold
from library import clock
from library.db import get_database
from library.models import Branch
from tests.circulation.factories import local_noon, make_item, make_record
from tests.factories import make_branch, make_reader

TODAY = dt.date(2026, 11, 3)


def at(minutes: int) -> dt.datetime:
    return local_noon(TODAY) + dt.timedelta(minutes=minutes)


def _network(app: Flask) -> dict[str, Any]:
    """Holds placed while every copy was in repair (so they wait), then copies back on the shelves.

    R1: copies A1, A2 on branch PA's shelf, B1 still in repair; holds h1 (pickup PA), h2 (pickup PB),
        h3 (pickup PA), in that order.
    R2: copies A3, A4 at PA; a title-level hold h4, then an item-level hold h5 on A3.
    R3: a copy on PB's shelf only, hold h6 (pickup PA).
    R4: a reference copy (not for loan) at PA next to a loanable one in repair, hold h7.
    A cancelled hold h8 on R1 (placed first) is never listed."""
    with get_database(app).transaction() as s:
        pa, pb = make_branch(s, code="PA", name="东城分馆"), make_branch(s, code="PB", name="西城分馆")
        r1, r2, r3, r4 = (make_record(s, title=t) for t in ("红楼梦", "围城", "边城", "辞海"))
        r1.call_number = "I242.4/C1"
        copies = {
            "A1": make_item(s, record=r1, branch=pa, barcode="A1", status="in_repair", shelf_location="二楼文学区"),
            "A2": make_item(s, record=r1, branch=pa, barcode="A2", status="in_repair", shelf_location="二楼文学区"),
            "B1": make_item(s, record=r1, branch=pb, barcode="B1", status="in_repair"),
            "A3": make_item(s, record=r2, branch=pa, barcode="A3", status="in_repair", call_number="I246/Q1"),
            "A4": make_item(s, record=r2, branch=pa, barcode="A4", status="in_repair", call_number="I246/Q1"),
            "B2": make_item(s, record=r3, branch=pb, barcode="B2", status="in_repair"),
            "A5": make_item(s, record=r4, branch=pa, barcode="A5", item_type_code="reference"),
            "A6": make_item(s, record=r4, branch=pa, barcode="A6", status="in_repair"),
        }
        readers = [make_reader(s, home_branch=pa) for _ in range(8)]

        def hold(n: int, minute: int, pickup: Branch, record_id: int | None = None, barcode: str | None = None) -> int:
            return place_hold(s, card_number=readers[n].card_number, pickup_branch=pickup, now=at(minute),
                              record_id=record_id, item_barcode=barcode).id

        h8 = hold(7, 0, pa, r1.id)
        ids = {"h1": hold(0, 1, pa, r1.id), "h2": hold(1, 2, pb, r1.id), "h3": hold(2, 3, pa, r1.id),
               "h4": hold(3, 4, pa, r2.id), "h5": hold(4, 5, pa, barcode="A3"), "h6": hold(5, 6, pa, r3.id),
               "h7": hold(6, 7, pa, r4.id)}
        cancel_hold(s, hold_id=h8, now=at(8))
        assert {h.state for h in s.query(Hold)} == {"waiting", "cancelled"}
        for code in ("A1", "A2", "A3", "A4", "B2"):  # back from repair, on the shelf
            copies[code].status = "available"
        return {**ids, "pa": pa.id, "pb": pb.id}


def test_pull_list_first_come_first_served_one_copy_per_hold(app: Flask) -> None:
    ids = _network(app)
    with get_database(app).transaction() as s:
        pa = s.get_one(Branch, ids["pa"])
        pulls = pull_list(s, pa)
        lines = [(line.hold.id, line.barcodes, line.pickup_branch.code, line.here) for line in pulls.lines]
        assert lines == [
            (ids["h1"], ["A1", "A2"], "PA", True),
            (ids["h2"], ["A2"], "PB", False),  # A1 is h1's; h3 waits (no third copy here)
            (ids["h4"], ["A4", "A3"], "PA", True),  # A3 is the one h5 asks for: A4 first
            (ids["h5"], ["A3"], "PA", True),
        ]
        assert (pulls.count, pulls.here_count) == (4, 3)
        first = pulls.lines[0]
        assert (first.title, first.call_number, first.shelf_location) == ("红楼梦", "I242.4/C1", "二楼文学区")
        assert pulls.lines[2].call_number == "I246/Q1" and pulls.lines[3].item_level
        pb_lines = pull_list(s, s.get_one(Branch, ids["pb"])).lines
        assert [line.hold.id for line in pb_lines] == [ids["h6"]]  # B2 on PB's shelf, for a reader at PA
        assert [line.barcodes for line in pb_lines] == [["B2"]]


def test_scanning_a_pulled_copy_at_check_in_traps_it_for_the_first_hold(app: Flask) -> None:
    ids = _network(app)
    with get_database(app).transaction() as s:
        pa = s.get_one(Branch, ids["pa"])
        result = checkin(s, item_barcode="A1", branch=pa, now=at(60))
        assert result.action == "hold_shelf" and result.hold is not None and result.hold.id == ids["h1"]
        result = checkin(s, item_barcode="A2", branch=pa, now=at(61))
        assert result.action == "transit" and result.hold is not None and result.hold.id == ids["h2"]
        assert result.destination is not None and result.destination.code == "PB"
        assert [line.hold.id for line in pull_list(s, pa).lines] == [ids["h4"], ids["h5"]]


def test_pull_list_page_nav_and_api(app: Flask, client: FlaskClient, staff_login: Any) -> None:
    clock.set_now(at(30))
    _network(app)
    staff_login("circulation", branch_code="PA")
    page = client.get("/circulation/pull-list")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "取书单" in html and '<strong id="pull-count">4</strong>' in html
    assert "红楼梦" in html and "I242.4/C1" in html and "二楼文学区" in html and "A1、A2" in html
    assert "送往 西城分馆" in html and "边城" not in html and "辞海" not in html
    assert "pull_list_print.css" in html and 'media="print"' in html
    assert 'action="/circulation/checkin"' in html  # scan the pulled copies right here
    counter = client.get("/circulation/checkin").get_data(as_text=True)
    assert 'href="/circulation/pull-list"' in counter and '<span class="badge">4</span>' in counter
    with client.get("/static/pull_list_print.css") as css:
        assert css.status_code == 200 and b"@media" not in css.data and b".pull-table" in css.data

    r = client.get("/api/v1/branches/PA/pull-list")
    assert r.status_code == 200 and r.json["branch"] == "PA" and r.json["count"] == 4
    first = r.json["lines"][0]
    assert first["item_barcodes"] == ["A1", "A2"] and first["pickup_branch"] == "PA" and first["title"] == "红楼梦"
    assert first["call_number"] == "I242.4/C1" and first["item_level"] is False and first["placed_at"]
    assert client.get("/api/v1/branches/PB/pull-list").status_code == 403  # not this librarian's branch
    assert client.get("/api/v1/branches/NOPE/pull-list").status_code == 404
    assert "/branches/{code}/pull-list" in client.get("/api/v1/openapi.json").json["paths"]

    client.post("/circulation/checkin", data={"barcode": "A1"})
    html = client.get("/circulation/pull-list").get_data(as_text=True)
    assert '<strong id="pull-count">3</strong>' in html and "A1、A2" not in html
