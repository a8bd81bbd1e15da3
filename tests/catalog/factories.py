"""Catalogue test factories: records built as real MARC and saved through the service."""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

from pymarc import Field, Indicators, Leader, Record, Subfield
from sqlalchemy.orm import Session

from catalog import services
from catalog.models import BibRecord, Item
from library import clock
from library.models import Branch
from tests import factories

_seq = itertools.count(1)


def cnmarc_record(title: str = "测试图书", *, isbn: str | None = None, author: str = "张三", pinyin: str = "",
                  publisher: str = "湖南人民出版社", year: int = 2020, clc: str = "I247.5",
                  subject: str = "长篇小说", control_number: str | None = None) -> Record:
    rec = Record(to_unicode=True, force_utf8=True)
    rec.leader = Leader("00000nam0 2200000   450 ")
    rec.add_field(Field("001", data=control_number or f"T{next(_seq):08d}"))
    if isbn:
        rec.add_field(Field("010", Indicators(" ", " "), [Subfield("a", isbn), Subfield("d", "CNY35.00")]))
    rec.add_field(Field("100", Indicators(" ", " "), [Subfield("a", f"{year}0101d{year}    em y0chiy50      ea")]))
    rec.add_field(Field("101", Indicators("0", " "), [Subfield("a", "chi")]))
    subs = [Subfield("a", title)]
    if pinyin:
        subs.append(Subfield("A", pinyin))
    subs.append(Subfield("f", f"{author}著"))
    rec.add_field(Field("200", Indicators("1", " "), subs))
    rec.add_field(Field("210", Indicators(" ", " "), [Subfield("a", "长沙"), Subfield("c", publisher),
                                                      Subfield("d", str(year))]))
    rec.add_field(Field("606", Indicators("0", " "), [Subfield("a", subject)]))
    rec.add_field(Field("690", Indicators(" ", " "), [Subfield("a", clc), Subfield("v", "5")]))
    rec.add_field(Field("701", Indicators(" ", "0"), [Subfield("a", author), Subfield("4", "著")]))
    return rec


def marc21_record(title: str = "A test book", *, isbn: str | None = None, author: str = "Smith, John",
                  year: int = 2019, control_number: str | None = None) -> Record:
    rec = Record(to_unicode=True, force_utf8=True)
    rec.leader = Leader("00000nam a2200000 i 4500")
    rec.add_field(Field("001", data=control_number or f"E{next(_seq):08d}"))
    rec.add_field(Field("008", data=f"190301s{year}    nyu           000 1 eng d"))
    if isbn:
        rec.add_field(Field("020", Indicators(" ", " "), [Subfield("a", isbn)]))
    rec.add_field(Field("100", Indicators("1", " "), [Subfield("a", author + ",")]))
    rec.add_field(Field("245", Indicators("1", "0"), [Subfield("a", title + " /"), Subfield("c", "John Smith.")]))
    rec.add_field(Field("264", Indicators(" ", "1"), [Subfield("a", "New York :"), Subfield("b", "Penguin,"),
                                                      Subfield("c", f"{year}.")]))
    rec.add_field(Field("650", Indicators(" ", "0"), [Subfield("a", "Fiction.")]))
    return rec


def make_record(session: Session, title: str = "测试图书", *, flavour: str = "unimarc", **kwargs: Any) -> BibRecord:
    """A record saved through ``catalog.services.save_record`` (so the outbox is written)."""
    rec = cnmarc_record(title, **kwargs) if flavour == "unimarc" else marc21_record(title, **kwargs)
    return services.save_record(session, rec, now=clock.now())


def make_item(session: Session, *, record: BibRecord | None = None, branch: Branch | None = None,
              barcode: str | None = None, item_type_code: str = "book", status: str = "available",
              price: Decimal | None = None) -> Item:
    """A copy (of a new record unless given) at ``branch`` (a new branch unless given)."""
    record = record or make_record(session)
    branch = branch or factories.make_branch(session)
    item = services.add_item(session, record=record, barcode=barcode or f"T{factories.seq():09d}", branch=branch,
                             item_type_code=item_type_code, price=price, now=clock.now())
    if status != "available":
        item.status = status
        session.flush()
    return item
