"""SRU 1.2 and 2.0 at /sru, driven by the real yaz-client (and plain HTTP for the edge cases)."""

from __future__ import annotations

import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from flask import Flask

from library.db import get_database
from tests.conftest import shared_file
from tests.factories import make_branch
from tests.search.conftest import LiveServer
from tests.search.factories import cnmarc, load_marc_file, make_item, make_record, marc21

YAZ = shutil.which("yaz-client")
SRW = "{http://www.loc.gov/zing/srw/}"
SRU2 = "{http://docs.oasis-open.org/ns/search-ws/sruResponse}"
MARC = "{http://www.loc.gov/MARC21/slim}"


def yaz(url: str, *commands: str) -> str:
    """Run yaz-client non-interactively (commands on stdin) and return what it printed."""
    if YAZ is None:
        pytest.skip("yaz-client is not installed (Debian package yaz)")
    script = "\n".join(commands) + "\nquit\n"
    proc = subprocess.run([YAZ, url], input=script.encode(), capture_output=True, timeout=60)
    return proc.stdout.decode("utf-8", "replace") + proc.stderr.decode("utf-8", "replace")


def hits(output: str) -> list[int]:
    return [int(n) for n in re.findall(r"Number of hits: (\d+)", output)]


@pytest.fixture
def cn_records(app: Flask) -> list[tuple[str, str]]:
    path = shared_file("marc", "sru12_cnmarcxml_chinese.xml")
    with get_database(app).transaction() as s:
        branch = make_branch(s)
        records = load_marc_file(s, path)
        for r in records:
            make_item(s, r, branch)
        return [(r.title, r.control_number or "") for r in records]


def test_yaz_client_finds_each_cnmarc_record_by_a_title_word(live: LiveServer, cn_records: list[tuple[str, str]]) -> None:
    assert len(cn_records) == 10
    cmds = ["sru get 1.2", "querytype cql", "format xml", "elements marcxml"]
    words = {"发展": 10, "报告": 9, "状况": 1, "趋势": 1, "中国": 10}
    for word in words:
        cmds.append(f"find dc.title={word}")
    out = yaz(f"{live.url}/sru", *cmds)
    assert hits(out) == list(words.values()), out
    # every record: found by a word of its own title (and the year printed in it), shown as MARCXML
    for title, control_number in cn_records:
        word = "状况" if "状况" in title else "发展报告"
        year = re.search(r"\d\d+", title).group(0)  # type: ignore[union-attr]
        out = yaz(f"{live.url}/sru", "sru get 1.2", "querytype cql", "format xml", "elements marcxml",
                  f'find dc.title="{word}" and dc.title={year}', "show 1+5")
        assert hits(out) and hits(out)[0] >= 1, out
        assert control_number in out, out


def test_yaz_client_sru_2_booleans_isbn_and_creator(live: LiveServer, cn_records: list[tuple[str, str]]) -> None:
    out = yaz(
        f"{live.url}/sru", "sru get 2.0", "querytype cql",
        "find bath.isbn=7-5037-1744-0",            # ISBN-10 as catalogued
        "find bath.isbn=9787503717444",            # the same book by ISBN-13
        "find dc.creator=张塞",
        "find 发展 not dc.creator=张塞",
        "find dc.title any \"状况 趋势 电子资源\"",  # 电子资源 is 200$b, not the title
        "find dc.title all \"中国 发展\" or dc.creator=季野",
    )
    assert hits(out) == [1, 1, 2, 8, 1, 10], out


def test_yaz_client_gets_a_diagnostic_for_a_bad_query(live: LiveServer, cn_records: list[tuple[str, str]]) -> None:
    out = yaz(f"{live.url}/sru", "sru get 1.2", "querytype cql", "find foo.bar=1", "find (dc.title=x")
    assert "Unsupported index" in out or "16" in out, out
    assert "syntax" in out.lower() or "10" in out, out


def _xml(client: Any, **params: Any) -> ET.Element:
    resp = client.get("/sru", query_string=params)
    assert resp.status_code == 200
    return ET.fromstring(resp.data)


@pytest.fixture
def small(app: Flask) -> list[int]:
    with get_database(app).transaction() as s:
        out = [make_record(s, cnmarc(f"湖南乡土记忆第{i}卷", authors=("王伟",), year=2000 + i)).id for i in range(1, 8)]
        out.append(make_record(s, marc21("Rice planting in Hunan", author="Li, Wei", year=2001)).id)
        return out


def test_paging_and_maximum_records_zero(client: Any, small: list[int]) -> None:
    root = _xml(client, version="1.2", operation="searchRetrieve", query="dc.creator=王伟", maximumRecords="0")
    assert root.findtext(f"{SRW}numberOfRecords") == "7"
    assert root.find(f"{SRW}records") is None
    root = _xml(client, version="1.2", operation="searchRetrieve", query="dc.creator=王伟", maximumRecords="3",
                startRecord="3")
    positions = [int(p.text or 0) for p in root.iter(f"{SRW}recordPosition")]
    assert positions == [3, 4, 5]
    assert root.findtext(f"{SRW}nextRecordPosition") == "6"
    assert len(list(root.iter(f"{MARC}record"))) == 3
    seen = set()
    for start in (1, 4, 7):
        page = _xml(client, version="1.2", operation="searchRetrieve", query="dc.creator=王伟", maximumRecords="3",
                    startRecord=str(start))
        seen |= {c.text for c in page.iter(f"{MARC}controlfield") if c.get("tag") == "001"}
    assert len(seen) == 7
    root = _xml(client, version="1.2", operation="searchRetrieve", query="dc.creator=王伟", startRecord="50")
    assert root.find(".//{http://www.loc.gov/zing/srw/diagnostic/}uri").text == "info:srw/diagnostic/1/61"  # type: ignore[union-attr]


def test_dc_schema_and_sru_2(client: Any, small: list[int]) -> None:
    root = _xml(client, version="2.0", query="rice and dc.date=2001", recordSchema="dc")
    assert root.tag == f"{SRU2}searchRetrieveResponse"
    assert root.findtext(f"{SRU2}numberOfRecords") == "1"
    titles = [e.text for e in root.iter("{http://purl.org/dc/elements/1.1/}title")]
    assert titles == ["Rice planting in Hunan"]
    assert root.findtext(f".//{SRU2}recordSchema") == "info:srw/schema/1/dc-v1.1"


@pytest.mark.parametrize(("params", "code"), [
    ({"version": "1.2", "operation": "searchRetrieve"}, "7"),
    ({"version": "1.2", "operation": "searchRetrieve", "query": "x", "recordSchema": "mods"}, "66"),
    ({"version": "1.2", "operation": "searchRetrieve", "query": "x", "maximumRecords": "many"}, "6"),
    ({"version": "1.2", "operation": "searchRetrieve", "query": "dc.title <> x"}, "19"),
    ({"version": "1.2", "operation": "searchRetrieve", "query": '"unterminated'}, "10"),
    ({"version": "1.2", "operation": "scan", "scanClause": "x"}, "4"),
    ({"version": "3.0", "operation": "explain"}, "5"),
])
def test_diagnostics(client: Any, small: list[int], params: dict[str, str], code: str) -> None:
    resp = client.get("/sru", query_string=params)
    assert resp.status_code == 200
    uris = re.findall(r"info:srw/diagnostic/1/(\d+)", resp.get_data(as_text=True))
    assert uris == [code]


def test_explain(client: Any) -> None:
    for version, ns in (("1.2", SRW), ("2.0", SRU2)):
        root = _xml(client, version=version, operation="explain")
        assert root.tag == f"{ns}explainResponse"
        names = [n.text for n in root.iter("{http://explain.z3950.org/dtd/2.0/}name")]
        assert {"title", "creator", "subject", "isbn", "serverChoice"} <= set(names)

