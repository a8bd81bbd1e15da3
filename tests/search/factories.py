"""Catalogue records for the search tests, stored through the catalogue's own services
(``catalog.services.save_record`` / ``add_item``), so the outbox is written as in production."""

from __future__ import annotations

import itertools
from pathlib import Path

from pymarc import Field, Indicators, Leader, Record, Subfield
from sqlalchemy.orm import Session

from catalog.models import BibRecord, Item
from catalog.services import add_item, save_record
from library import clock
from library.models import Branch

_seq = itertools.count(1)


def _sf(*pairs: tuple[str, str]) -> list[Subfield]:
    return [Subfield(c, v) for c, v in pairs if v]


def cnmarc(title: str, *, pinyin: str = "", authors: tuple[str, ...] = (), isbn: str = "", year: int | None = 2020,
           publisher: str = "", subjects: tuple[str, ...] = (), clc: str = "", series: str = "", notes: str = "",
           language: str = "chi") -> Record:
    rec = Record(force_utf8=True, to_unicode=True)
    rec.leader = Leader("00000nam0 2200000   450 ")
    rec.add_field(Field("001", data=f"T{next(_seq):08d}"))
    if isbn:
        rec.add_field(Field("010", Indicators(" ", " "), _sf(("a", isbn))))
    y = year or 2000
    rec.add_field(Field("100", Indicators(" ", " "), _sf(("a", f"{y}0101d{y}    em y0chiy50      ea"))))
    rec.add_field(Field("101", Indicators("0", " "), _sf(("a", language))))
    rec.add_field(Field("200", Indicators("1", " "), _sf(("a", title), ("A", pinyin))))
    rec.add_field(Field("210", Indicators(" ", " "), _sf(("a", "北京"), ("c", publisher), ("d", str(year or "")))))
    if series:
        rec.add_field(Field("225", Indicators("2", " "), _sf(("a", series))))
    if notes:
        rec.add_field(Field("330", Indicators(" ", " "), _sf(("a", notes))))
    for s in subjects:
        rec.add_field(Field("606", Indicators("0", " "), _sf(("a", s))))
    if clc:
        rec.add_field(Field("690", Indicators(" ", " "), _sf(("a", clc), ("v", "5"))))
    for a in authors:
        rec.add_field(Field("701", Indicators(" ", "0"), _sf(("a", a), ("4", "著"))))
    return rec


def marc21(title: str, *, author: str = "", isbn: str = "", year: int | None = 2015, publisher: str = "",
           subjects: tuple[str, ...] = (), clc: str = "") -> Record:
    rec = Record(force_utf8=True, to_unicode=True)
    rec.leader = Leader("00000nam a2200000 i 4500")
    rec.add_field(Field("001", data=f"E{next(_seq):08d}"))
    y = year or 2000
    rec.add_field(Field("008", data=f"150301s{y}    nyu           000 1 eng d"))
    if isbn:
        rec.add_field(Field("020", Indicators(" ", " "), _sf(("a", isbn))))
    if clc:
        rec.add_field(Field("084", Indicators(" ", " "), _sf(("a", clc), ("2", "clc"))))
    if author:
        rec.add_field(Field("100", Indicators("1", " "), _sf(("a", author))))
    rec.add_field(Field("245", Indicators("1", "0"), _sf(("a", title))))
    rec.add_field(Field("264", Indicators(" ", "1"), _sf(("a", "New York :"), ("b", publisher), ("c", f"{year}."))))
    for s in subjects:
        rec.add_field(Field("650", Indicators(" ", "0"), _sf(("a", s))))
    return rec


def make_record(session: Session, record: Record) -> BibRecord:
    return save_record(session, record, now=clock.now())


def make_item(session: Session, record: BibRecord, branch: Branch, *, status: str = "available",
              call_number: str = "") -> Item:
    item = add_item(session, record=record, barcode=f"S{next(_seq):09d}", branch=branch,
                    call_number=call_number, now=clock.now())
    if status != "available":
        item.status = status
        session.flush()
    return item


def load_marc_file(session: Session, path: Path) -> list[BibRecord]:
    """Every readable record of a MARC file, stored with the catalogue's importer functions."""
    from catalog.marc import read_file

    out = []
    for result in read_file(path):
        if result.record is not None:
            out.append(save_record(session, result.record, now=clock.now()))
    return out
