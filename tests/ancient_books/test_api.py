"""The census JSON API: reign-date reading, search and one record; errors as JSON."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from tests.ancient_books.factories import make_census


def test_parse_date_api(client: FlaskClient, staff_login: Any) -> None:
    assert client.get("/api/v1/ancient-books/parse-date?text=康熙丙午").status_code == 401
    staff_login("ancient_books")
    ok = client.get("/api/v1/ancient-books/parse-date?text=康熙丙午")
    assert ok.status_code == 200 and ok.json["year_from"] == 1666 and ok.json["ganzhi"] == "丙午"
    bad = client.get("/api/v1/ancient-books/parse-date?text=乾隆九十年")
    assert bad.status_code == 422 and "没有九十年" in bad.json["error"]["message"]


def test_records_api(app: Flask, db: Any, client: FlaskClient, staff_login: Any) -> None:
    with db.transaction() as session:
        number = make_census(session, app, title="資治通鑑").census_no
    staff_login("ancient_books_reviewer")
    found = client.get("/api/v1/ancient-books/records?q=资治通鉴")
    assert found.status_code == 200 and found.json["total"] == 1
    assert found.json["records"][0]["census_no"] == number
    one = client.get(f"/api/v1/ancient-books/records/{number}")
    assert one.json["edition"]["year_from"] == 1874 and one.json["authors"][0]["name"] == "姚念楊"
    missing = client.get("/api/v1/ancient-books/records/430000-0902-9999999")
    assert missing.status_code == 404 and missing.json["error"]["code"] == "census_record_not_found"
    spec = client.get("/api/v1/openapi.json").json
    assert "/ancient-books/records/{census_no}" in spec["paths"]


def test_parse_date_of_an_edition_statement(client: FlaskClient, staff_login: Any) -> None:
    staff_login("ancient_books")
    whole = client.get("/api/v1/ancient-books/parse-date?edition=1&text=明萬曆間刻本")
    assert whole.status_code == 200 and (whole.json["year_from"], whole.json["year_to"]) == (1573, 1620)
    assert whole.json["circa"] is True and whole.json["original"] == "明萬曆間刻本"
    assert client.get("/api/v1/ancient-books/parse-date?text=明萬曆間刻本").status_code == 422
