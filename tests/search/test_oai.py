"""OAI-PMH 2.0 at /oai, harvested with the Sickle client against a live server."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from flask import Flask
from sickle import Sickle
from sickle.oaiexceptions import (
    BadArgument,
    BadResumptionToken,
    CannotDisseminateFormat,
    IdDoesNotExist,
    NoRecordsMatch,
)

from catalog.models import BibRecord
from catalog.services import delete_record
from library import clock
from library.db import get_database
from tests.search.conftest import LiveServer
from tests.search.factories import cnmarc, make_record, marc21

T0 = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)


@pytest.fixture
def repo(app: Flask) -> dict[str, Any]:
    app.config["LIBRARY_OAI_PAGE_SIZE"] = 4
    ids = []
    with get_database(app).transaction() as s:
        for i in range(9):
            clock.set_now(T0 + dt.timedelta(days=i))
            rec = make_record(s, cnmarc(f"益阳乡土志第{i + 1}卷", authors=("周立波",), clc="K296.4", year=1990 + i))
            ids.append(rec.id)
        clock.set_now(T0 + dt.timedelta(days=10))
        ids.append(make_record(s, marc21("Rice farming in Hunan", author="Li, Wei", clc="S511")).id)
        clock.set_now(T0 + dt.timedelta(days=11))
        gone = s.get(BibRecord, ids[2])
        assert gone is not None
        delete_record(s, gone, now=clock.now())
    clock.set_now(None)
    return {"ids": ids, "deleted": ids[2]}


def test_sickle_harvests_every_record_across_resumption_pages(live: LiveServer, repo: dict[str, Any]) -> None:
    sickle = Sickle(f"{live.url}/oai", max_retries=0)
    records = list(sickle.ListRecords(metadataPrefix="oai_dc", ignore_deleted=False))
    assert len(records) == 10  # 3 pages of 4
    numbers = sorted(int(r.header.identifier.rsplit(":", 1)[1]) for r in records)
    assert numbers == sorted(repo["ids"])
    deleted = [r for r in records if r.header.deleted]
    assert [int(r.header.identifier.rsplit(":", 1)[1]) for r in deleted] == [repo["deleted"]]
    live_ones = [r for r in records if not r.header.deleted]
    titles = {r.metadata["title"][0] for r in live_ones}
    assert "益阳乡土志第1卷" in titles and "Rice farming in Hunan" in titles
    # MARC21 format (the deleted record skipped by the harvester), headers only
    marc = list(sickle.ListRecords(metadataPrefix="marc21", ignore_deleted=True))
    assert len(marc) == 9
    assert "<controlfield" in marc[0].raw
    idents = list(sickle.ListIdentifiers(metadataPrefix="oai_dc", ignore_deleted=False))
    assert len(idents) == 10


def test_from_until_and_sets(live: LiveServer, repo: dict[str, Any]) -> None:
    sickle = Sickle(f"{live.url}/oai", max_retries=0)
    got = list(sickle.ListIdentifiers(metadataPrefix="oai_dc", ignore_deleted=False,
                                      **{"from": "2026-03-02", "until": "2026-03-04"}))
    # days 1, 2 and 3; the record of day 2 was deleted on day 11, which is its datestamp now
    assert [int(h.identifier.rsplit(":", 1)[1]) for h in got] == [repo["ids"][1], repo["ids"][3]]
    got = list(sickle.ListIdentifiers(metadataPrefix="oai_dc", **{"from": "2026-03-11T00:00:00Z"}))
    assert [int(h.identifier.rsplit(":", 1)[1]) for h in got] == [repo["deleted"], repo["ids"][9]]
    assert got[0].deleted
    got = list(sickle.ListIdentifiers(metadataPrefix="oai_dc", set="clc:S"))
    assert [int(h.identifier.rsplit(":", 1)[1]) for h in got] == [repo["ids"][9]]
    sets = {s.setSpec for s in sickle.ListSets()}
    assert {"clc:K", "clc:S", "material:book"} <= sets
    with pytest.raises(NoRecordsMatch):
        list(sickle.ListIdentifiers(metadataPrefix="oai_dc", **{"from": "2030-01-01"}))
    with pytest.raises(BadArgument):
        list(sickle.ListIdentifiers(metadataPrefix="oai_dc", **{"from": "2026-03-01", "until": "2026-03-02T00:00:00Z"}))
    with pytest.raises(BadArgument):
        list(sickle.ListIdentifiers(metadataPrefix="oai_dc", **{"from": "yesterday"}))


def test_identify_get_record_and_errors(live: LiveServer, repo: dict[str, Any]) -> None:
    sickle = Sickle(f"{live.url}/oai", max_retries=0)
    ident = sickle.Identify()
    assert ident.protocolVersion == "2.0"
    assert ident.deletedRecord == "persistent"
    assert ident.granularity == "YYYY-MM-DDThh:mm:ssZ"
    formats = {f.metadataPrefix for f in sickle.ListMetadataFormats()}
    assert formats == {"oai_dc", "marc21"}
    first = f"oai:library.local:{repo['ids'][0]}"
    rec = sickle.GetRecord(identifier=first, metadataPrefix="oai_dc")
    assert rec.metadata["title"] == ["益阳乡土志第1卷"]
    assert rec.metadata["creator"] == ["周立波"]
    gone = sickle.GetRecord(identifier=f"oai:library.local:{repo['deleted']}", metadataPrefix="marc21")
    assert gone.header.deleted
    with pytest.raises(IdDoesNotExist):
        sickle.GetRecord(identifier="oai:library.local:999999", metadataPrefix="oai_dc")
    with pytest.raises(CannotDisseminateFormat):
        sickle.GetRecord(identifier=first, metadataPrefix="mods")
    with pytest.raises(BadResumptionToken):
        list(sickle.ListRecords(resumptionToken="not-a-token"))


@pytest.mark.parametrize(("query", "code"), [
    ("", "badVerb"),
    ("verb=Frobnicate", "badVerb"),
    ("verb=ListRecords", "badArgument"),
    ("verb=ListRecords&metadataPrefix=oai_dc&colour=red", "badArgument"),
    ("verb=GetRecord&metadataPrefix=oai_dc", "badArgument"),
    ("verb=ListRecords&metadataPrefix=oai_dc&set=nope", "badArgument"),
    ("verb=ListRecords&resumptionToken=abc&metadataPrefix=oai_dc", "badArgument"),
    ("verb=Identify&verb=Identify", "badVerb"),
])
def test_error_codes(client: Any, repo: dict[str, Any], query: str, code: str) -> None:
    body = client.get(f"/oai?{query}").get_data(as_text=True)
    assert re.findall(r'<error code="(\w+)"', body) == [code]
