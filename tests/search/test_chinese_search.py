"""The must-show searches: traditional/simplified folding, segmentation, pinyin, ISBN-10/13,
"did you mean", and the ten CNMARC records of the shared SRU sample found by a word of their title."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from catalog import search
from catalog.search.params import query_from_args
from library.db import get_database
from tests.conftest import shared_file
from tests.factories import make_branch
from tests.search.factories import cnmarc, load_marc_file, make_item, make_record, marc21


def ids(app: Flask, **args: Any) -> list[int]:
    result = search.search(app, query_from_args(args))
    return [h.record_id for h in result.hits]


@pytest.fixture
def catalogue(app: Flask) -> dict[str, int]:
    with get_database(app).transaction() as s:
        branch = make_branch(s)
        recs = {
            "lunyu_trad": make_record(s, cnmarc("論語譯注", pinyin="lun yu yi zhu", authors=("楊伯峻",), clc="B222.2")),
            "library": make_record(s, cnmarc("图书馆学概论", authors=("吴慰慈",), clc="G250",
                                             isbn="9787301123458")),
            "simplified": make_record(s, cnmarc("红楼梦研究", authors=("俞平伯",), clc="I207.411")),
            "english": make_record(s, marc21("The Silent Garden of Libraries", author="Smith, John",
                                             isbn="0-306-40615-2", clc="G250")),
            "isbn13": make_record(s, cnmarc("洞庭湖的故事", isbn="978-7-5037-1744-4", clc="K296.4")),
        }
        for r in recs.values():
            make_item(s, r, branch)
        return {k: v.id for k, v in recs.items()}


def test_simplified_query_finds_traditional_record_and_back(app: Flask, catalogue: dict[str, int]) -> None:
    assert ids(app, q="论语") == [catalogue["lunyu_trad"]]
    assert ids(app, q="論語") == [catalogue["lunyu_trad"]]
    assert ids(app, q="杨伯峻") == [catalogue["lunyu_trad"]]
    assert ids(app, q="紅樓夢") == [catalogue["simplified"]]


def test_word_finds_longer_compound(app: Flask, catalogue: dict[str, int]) -> None:
    assert ids(app, q="图书馆") == [catalogue["library"]]
    assert ids(app, q="圖書館學") == [catalogue["library"]]


def test_pinyin_full_and_initials(app: Flask, catalogue: dict[str, int]) -> None:
    for q in ("lunyu", "ly", "lun yu", "LunYu"):
        assert catalogue["lunyu_trad"] in ids(app, q=q), q
    assert ids(app, q="hongloumeng") == [catalogue["simplified"]]  # generated pinyin (no 200$A)
    assert catalogue["library"] in ids(app, q="tushuguan")


def test_isbn10_finds_record_catalogued_with_isbn13(app: Flask, catalogue: dict[str, int]) -> None:
    # 7-5037-1744-0 is the ISBN-10 of 978-7-5037-1744-4
    assert ids(app, q="7-5037-1744-0") == [catalogue["isbn13"]]
    assert ids(app, isbn="7503717440") == [catalogue["isbn13"]]
    assert ids(app, q="9787503717444") == [catalogue["isbn13"]]
    # and the other way: catalogued as ISBN-10 in MARC21, found by its ISBN-13
    assert ids(app, q="978-0-306-40615-7") == [catalogue["english"]]
    assert ids(app, q="7-5037-1744-9") == []  # wrong check digit


def test_typo_gets_a_suggestion(app: Flask, catalogue: dict[str, int]) -> None:
    result = search.search(app, query_from_args({"q": "gardne"}))
    assert result.total == 0
    assert result.suggestions == ["garden"]
    assert ids(app, q=result.suggestions[0]) == [catalogue["english"]]
    # a Chinese homophone typo is corrected by pinyin
    result = search.search(app, query_from_args({"q": "论雨"}))
    assert result.total == 0
    assert result.suggestions == ["论语"]


def test_english_stemming_and_title_first(app: Flask, catalogue: dict[str, int]) -> None:
    assert ids(app, q="library") == [catalogue["english"]]
    assert ids(app, q="gardens") == [catalogue["english"]]
    assert ids(app, author="smith") == [catalogue["english"]]


def test_ten_cnmarc_records_each_found_by_a_word_of_their_title(app: Flask, client: Any) -> None:
    path = shared_file("marc", "sru12_cnmarcxml_chinese.xml")
    with get_database(app).transaction() as s:
        records = load_marc_file(s, path)
        found = [(r.id, r.title) for r in records]
    assert len(found) == 10
    words = {rid: title_word(title) for rid, title in found}
    for rid, word in words.items():
        assert rid in ids(app, q=word, per_page=100), word
        page = client.get("/opac/search", query_string={"q": word, "per_page": 50})
        assert page.status_code == 200
        assert f'/opac/record/{rid}"' in page.get_data(as_text=True), word
        api = client.get("/api/v1/search", query_string={"q": word, "per_page": 100}).get_json()
        assert rid in [h["id"] for h in api["hits"]], word


def title_word(title: str) -> str:
    """A word of the title as a reader would type it (the rarest one, so the test is not trivial)."""
    for word in ("状况", "趋势", "电子资源", "报告"):
        if word in title:
            return word
    return title[-4:]
