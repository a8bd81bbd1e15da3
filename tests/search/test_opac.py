"""OPAC pages and the JSON search API: results with facets and availability from the database,
highlighting, paging, sorting, the record page with copies by branch, new arrivals."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from catalog.models import Item
from library.db import get_database
from tests.factories import make_branch
from tests.search.factories import cnmarc, make_item, make_record, marc21


@pytest.fixture
def shelf(app: Flask) -> dict[str, Any]:
    with get_database(app).transaction() as s:
        central = make_branch(s, code="ZY", name="资阳区图书馆")
        village = make_branch(s, name="茈湖口镇分馆")
        recs = {}
        for i in range(25):
            r = make_record(s, cnmarc(f"湖南农业简史第{i + 1}卷", authors=("王磊",), year=1990 + i, clc="F323",
                                      subjects=("农业经济",)))
            make_item(s, r, central)
            recs[f"vol{i + 1}"] = r.id
        tea = make_record(s, cnmarc("茶叶栽培", authors=("李强",), year=2001, clc="S571", subjects=("茶叶",)))
        make_item(s, tea, central, status="on_loan")
        make_item(s, tea, village)
        recs["tea"] = tea.id
        recs["en"] = make_record(s, marc21("Tea and Rice in Hunan", author="Li, Qiang", year=2010, clc="S5")).id
        make_item(s, s.get(type(tea), recs["en"]), village)  # type: ignore[arg-type]
        return {"ids": recs, "central": central.id, "village": village.id}


def test_home_page_searches_through_the_opac(client: Any, shelf: dict[str, Any]) -> None:
    home = client.get("/").get_data(as_text=True)
    assert 'action="/opac/search"' in home
    assert "新书上架" in home and "茶叶栽培" in home  # new arrivals panel


def test_results_page_with_facets_availability_and_highlight(client: Any, shelf: dict[str, Any]) -> None:
    page = client.get("/opac/search", query_string={"q": "茶叶"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "共找到 1 条记录" in html
    assert "<mark>茶叶</mark>栽培" in html
    assert "茈湖口镇分馆：<strong>1 册可借</strong>" in html
    assert "资阳区图书馆：暂无可借" in html
    assert "有可借副本的分馆" in html  # facet heading


def test_paging_sorting_and_facet_filter(client: Any, shelf: dict[str, Any]) -> None:
    api = client.get("/api/v1/search", query_string={"q": "农业", "sort": "year", "per_page": 10, "page": 2}).get_json()
    assert api["total"] == 25
    assert [h["year"] for h in api["hits"]] == list(range(2004, 1994, -1))
    titles = client.get("/api/v1/search", query_string={"q": "农业", "sort": "title", "per_page": 3}).get_json()
    assert [h["title"] for h in titles["hits"]] == ["湖南农业简史第1卷", "湖南农业简史第2卷", "湖南农业简史第3卷"]
    facets = client.get("/api/v1/search", query_string={"q": "茶叶 OR tea"}).get_json()["facets"]
    assert {f["value"]: f["count"] for f in facets["branch"]} == {str(shelf["village"]): 2}
    assert {f["value"]: f["count"] for f in facets["language"]} == {"chi": 1, "eng": 1}
    filtered = client.get("/api/v1/search", query_string={"q": "茶叶 OR tea", "language": "eng"}).get_json()
    assert [h["id"] for h in filtered["hits"]] == [shelf["ids"]["en"]]
    by_decade = client.get("/api/v1/search", query_string={"q": "农业", "decade": "1990"}).get_json()
    assert by_decade["total"] == 10
    page = client.get("/opac/search", query_string={"q": "农业", "page": 2}).get_data(as_text=True)
    assert "第 2 / 2 页" in page


def test_availability_comes_from_the_database(app: Flask, client: Any, shelf: dict[str, Any]) -> None:
    """Even before the index hears of it, a checkout shows on the result page."""
    with get_database(app).transaction() as s:
        item = s.scalars(select(Item).where(Item.record_id == shelf["ids"]["en"])).one()
        item.status = "on_loan"  # no outbox row: the index is stale on purpose
    hit = client.get("/api/v1/search", query_string={"q": "hunan"}).get_json()["hits"][0]
    assert hit["available"] == 0


def test_advanced_search_and_year_range(client: Any, shelf: dict[str, Any]) -> None:
    api = client.get("/api/v1/search", query_string={
        "f1": "title", "t1": "农业", "op2": "not", "f2": "title", "t2": "第1卷", "year_from": 1990, "year_to": 1994,
    }).get_json()
    assert api["total"] == 4
    form = client.get("/opac/advanced").get_data(as_text=True)
    assert 'name="year_from"' in form and 'name="t1"' in form
    fielded = client.get("/api/v1/search", query_string={"author": "李强"}).get_json()
    assert [h["id"] for h in fielded["hits"]] == [shelf["ids"]["tea"]]
    phrase = client.get("/api/v1/search", query_string={"q": '"rice in hunan"'}).get_json()
    assert [h["id"] for h in phrase["hits"]] == [shelf["ids"]["en"]]
    none = client.get("/api/v1/search", query_string={"q": '"hunan in rice"'}).get_json()
    assert none["total"] == 0


def test_record_page_shows_copies_by_branch(client: Any, shelf: dict[str, Any]) -> None:
    html = client.get(f"/opac/record/{shelf['ids']['tea']}").get_data(as_text=True)
    assert "茶叶栽培" in html
    assert "茈湖口镇分馆" in html and "资阳区图书馆" in html
    assert "1 册可借 / 共 2 册" in html
    assert "已借出" in html
    assert client.get("/opac/record/999999").status_code == 404


def test_did_you_mean_on_the_results_page(client: Any, shelf: dict[str, Any]) -> None:
    html = client.get("/opac/search", query_string={"q": "hunam"}).get_data(as_text=True)
    assert "您是不是要找" in html and "hunan" in html


def test_empty_and_bad_parameters(client: Any, shelf: dict[str, Any]) -> None:
    assert client.get("/opac/search").status_code == 200  # the search form
    api = client.get("/api/v1/search", query_string={"q": "农业", "page": "x", "per_page": "1000"}).get_json()
    assert api["page"] == 1 and api["per_page"] == 100
    assert client.get("/api/v1/search").get_json()["total"] == 0
    assert client.get("/opac/search", query_string={"q": '"unclosed ((( OR NOT'}).status_code == 200


def test_openapi_describes_search(client: Any) -> None:
    doc = client.get("/api/v1/openapi.json").get_json()
    assert "/search" in doc["paths"]
