"""Catalogue services: saving records losslessly with their extracted fields, deleting them,
copies (add, edit, move, withdraw) and look-ups. Every change writes the search outbox in the
same transaction. Services flush, never commit."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import lazy_gettext as _l
from pymarc import Field, Record
from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session, selectinload

from catalog import outbox
from catalog.errors import (
    DuplicateBarcode,
    InvalidMarc,
    ItemNotFound,
    ItemNotMovable,
    RecordNotFound,
    UnknownItemType,
)
from catalog.extract import extract, normalize_isbn
from catalog.marc import detect_flavour, is_control_tag, mark_unicode, record_to_json
from catalog.models import BibRecord, Item, ItemType, RecordHistory, RecordIsbn
from library import audit
from library.models import Branch, StaffUser

BARCODE_RE = re.compile(r"^[\x21-\x7e]{1,32}$")
TAG_RE = re.compile(r"^[0-9A-Za-z]{3}$")
IND_RE = re.compile(r"^[0-9a-z ]$")
CODE_RE = re.compile(r"^[0-9a-zA-Z]$")


# --------------------------------------------------------------------------- MARC lines and diffs

def field_lines(marc: dict[str, Any]) -> list[str]:
    """The record as display lines (``=245  10$aTitle``; blanks in indicators shown as ``\\``)."""
    lines = []
    for entry in marc.get("fields", []):
        for tag, value in entry.items():
            if isinstance(value, dict):
                ind = (value.get("ind1") or " ") + (value.get("ind2") or " ")
                subs = "".join(f"${code}{val}" for sf in value.get("subfields", []) for code, val in sf.items())
                lines.append(f"={tag}  {ind.replace(' ', chr(92))}{subs}")
            else:
                lines.append(f"={tag}  {value}")
    return lines


def diff_marc(old: dict[str, Any] | None, new: dict[str, Any] | None) -> list[dict[str, str]]:
    """What changed between two stored records: lines removed ("-") and added ("+"), leader first."""
    changes: list[dict[str, str]] = []
    old_leader = (old or {}).get("leader", "")
    new_leader = (new or {}).get("leader", "")
    if old is not None and new is not None and old_leader[5:12] + old_leader[17:] != new_leader[5:12] + new_leader[17:]:
        changes.append({"op": "-", "line": f"=LDR  {old_leader}"})
        changes.append({"op": "+", "line": f"=LDR  {new_leader}"})
    old_lines = field_lines(old) if old else []
    new_lines = field_lines(new) if new else []
    remaining = list(new_lines)
    for line in old_lines:
        if line in remaining:
            remaining.remove(line)
        else:
            changes.append({"op": "-", "line": line})
    pool = list(old_lines)
    for line in new_lines:
        if line in pool:
            pool.remove(line)
        else:
            changes.append({"op": "+", "line": line})
    return changes


# --------------------------------------------------------------------------- validation

def validate_record(record: Record, flavour: str | None = None) -> list[Any]:
    """Problems that stop a cataloguer's save (translatable texts): leader length, tag and
    indicator form, subfield codes, the required title field (245 in MARC21, 200 in UNIMARC)."""
    problems: list[Any] = []
    leader = str(record.leader)
    if len(leader) != 24:
        problems.append(_l("头标必须是 24 个字符（现在是 %(n)s 个）", n=len(leader)))
    flavour = flavour or detect_flavour(record)
    for f in record.fields:
        if not TAG_RE.match(f.tag or ""):
            problems.append(_l("“%(tag)s”：字段号是三位数字或字母", tag=f.tag))
            continue
        if is_control_tag(f.tag):
            if not f.is_control_field():
                problems.append(_l("%(tag)s：控制字段 001–009 只有内容，没有子字段", tag=f.tag))
            continue
        if f.is_control_field():
            problems.append(_l("%(tag)s：数据字段需要指示符和子字段", tag=f.tag))
            continue
        for n, ind in ((1, f.indicator1), (2, f.indicator2)):
            if not IND_RE.match(ind or ""):
                problems.append(_l("%(tag)s：指示符 %(n)s 必须是数字、小写字母或空格", tag=f.tag, n=n))
        if not f.subfields:
            problems.append(_l("%(tag)s：数据字段至少要有一个子字段", tag=f.tag))
        for sf in f.subfields:
            if not CODE_RE.match(sf.code or ""):
                problems.append(_l("%(tag)s：子字段代码“%(code)s”必须是一个字母或数字", tag=f.tag, code=sf.code))
    title_tag = "200" if flavour == "unimarc" else "245"
    title_field = record.get(title_tag)
    if title_field is None or title_field.is_control_field() or not title_field.get("a"):
        problems.append(_l("必须有题名字段 %(tag)s 及其 $a", tag=title_tag))
    return problems


# --------------------------------------------------------------------------- records

def _apply(bib: BibRecord, values: dict[str, Any]) -> None:
    for key, value in values.items():
        setattr(bib, key, value)


def save_record(
    session: Session,
    record: Record,
    *,
    now: dt.datetime,
    staff: StaffUser | None = None,
    existing: BibRecord | None = None,
    actor: str = "",
    action: str | None = None,
    batch_id: int | None = None,
    control_prefix: str | None = None,
) -> BibRecord:
    """Store ``record`` losslessly (MARC-in-JSON), extract its fields and ISBNs, write the edit
    history and the search outbox. With ``existing`` the stored record is replaced. With
    ``control_prefix`` a new record without 001 gets one (prefix + its id), as the MARC editor does."""
    flavour = detect_flavour(record)
    mark_unicode(record, flavour)
    marc = record_to_json(record)
    values = extract(record, flavour)
    if existing is None:
        bib = BibRecord(flavour=flavour, leader=marc["leader"][:24], marc=marc, created_at=now, updated_at=now)
        _apply(bib, values)
        session.add(bib)
        session.flush()
        if control_prefix is not None and record.get("001") is None:
            record.fields.insert(0, Field("001", data=f"{control_prefix}{bib.id:09d}"))
            marc = record_to_json(record)
            bib.marc = marc
            bib.control_number = f"{control_prefix}{bib.id:09d}"
        changes = diff_marc(None, marc)
        act = action or "create"
    else:
        bib = existing
        changes = diff_marc(bib.marc, marc)
        bib.flavour, bib.leader, bib.marc, bib.updated_at = flavour, marc["leader"][:24], marc, now
        _apply(bib, values)
        if bib.deleted_at is not None:
            bib.deleted_at = None
        session.execute(delete(RecordIsbn).where(RecordIsbn.record_id == bib.id))
        act = action or "edit"
    for isbn in values["isbns"]:
        session.add(RecordIsbn(record_id=bib.id, isbn13=isbn))
    session.add(RecordHistory(record_id=bib.id, at=now, staff_id=staff.id if staff else None,
                              actor=actor or (staff.username if staff else ""), action=act,
                              changes=changes, batch_id=batch_id))
    outbox.enqueue(session, bib.id, "upsert", now=now)
    if staff is not None:
        audit.record(session, action=f"catalog.record.{act}", staff=staff, target_type="bib_record",
                     target_id=bib.id, details={"title": bib.title[:200]}, now=now)
    session.flush()
    return bib


def delete_record(session: Session, record: BibRecord, *, now: dt.datetime, staff: StaffUser | None = None) -> None:
    """Soft delete: the record stays for history (and loans that point at its copies). The
    staff page refuses it while copies are not withdrawn (``live_copies``)."""
    record.deleted_at = now
    record.updated_at = now
    session.add(RecordHistory(record_id=record.id, at=now, staff_id=staff.id if staff else None,
                              actor=staff.username if staff else "", action="delete", changes=[]))
    outbox.enqueue(session, record.id, "delete", now=now)
    if staff is not None:
        audit.record(session, action="catalog.record.delete", staff=staff, target_type="bib_record",
                     target_id=record.id, now=now)
    session.flush()


def live_copies(session: Session, record: BibRecord) -> int:
    """Copies of ``record`` that are not withdrawn."""
    return session.scalar(select(func.count()).select_from(Item)
                          .where(Item.record_id == record.id, Item.status != "withdrawn")) or 0


def get_record(session: Session, record_id: int, *, include_deleted: bool = False) -> BibRecord:
    bib = session.get(BibRecord, record_id)
    if bib is None or (bib.deleted_at is not None and not include_deleted):
        raise RecordNotFound(record_id=record_id)
    return bib


def find_by_isbn(session: Session, isbn: str) -> list[BibRecord]:
    norm = normalize_isbn(isbn)
    if norm is None:
        return []
    return list(session.scalars(
        select(BibRecord).join(RecordIsbn).where(RecordIsbn.isbn13 == norm, BibRecord.deleted_at.is_(None))
        .order_by(BibRecord.id)))


def search_records(session: Session, q: str, *, limit: int = 50, offset: int = 0) -> tuple[list[BibRecord], int]:
    """Simple staff look-up by title, ISBN, barcode, control number, author or call number."""
    base = select(BibRecord).where(BibRecord.deleted_at.is_(None))
    q = (q or "").strip()
    if q:
        conds: list[Any] = []
        norm = normalize_isbn(q)
        if norm:
            conds.append(BibRecord.id.in_(select(RecordIsbn.record_id).where(RecordIsbn.isbn13 == norm)))
        conds.append(BibRecord.id.in_(select(Item.record_id).where(Item.barcode == q)))
        conds.append(BibRecord.control_number == q)
        like = f"%{q.replace('%', '').replace('_', '')}%"
        conds.append(BibRecord.title.ilike(like))
        conds.append(BibRecord.title_pinyin.ilike(like))
        conds.append(BibRecord.call_number.ilike(like))
        conds.append(BibRecord.responsibility.ilike(like))
        base = base.where(or_(*conds))
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    rows = list(session.scalars(base.order_by(BibRecord.id.desc()).limit(limit).offset(offset)))
    return rows, total


# --------------------------------------------------------------------------- items

def _check_barcode(session: Session, barcode: str) -> str:
    barcode = (barcode or "").strip()
    if not BARCODE_RE.match(barcode):
        raise InvalidMarc(detail=f"barcode {barcode!r}")
    if session.scalar(select(Item.id).where(Item.barcode == barcode)) is not None:
        raise DuplicateBarcode(barcode=barcode)
    return barcode


def _price(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        price = Decimal(str(value).replace("CNY", "").replace("¥", "").strip())
    except InvalidOperation:
        return None
    return price if price >= 0 else None


def add_item(
    session: Session,
    *,
    record: BibRecord,
    barcode: str,
    branch: Branch,
    item_type_code: str = "book",
    call_number: str = "",
    shelf_location: str = "",
    price: Any = None,
    now: dt.datetime,
    staff: StaffUser | None = None,
    acquired_on: dt.date | None = None,
    notes: str = "",
) -> Item:
    """Add a copy of ``record`` at ``branch`` (home and current branch)."""
    barcode = _check_barcode(session, barcode)
    if session.get(ItemType, item_type_code) is None:
        raise UnknownItemType(code=item_type_code)
    item = Item(barcode=barcode, record_id=record.id, home_branch_id=branch.id, current_branch_id=branch.id,
                shelf_location=shelf_location[:100], call_number=(call_number or record.call_number)[:64],
                item_type_code=item_type_code, status="available", floating=False, price=_price(price),
                acquired_on=acquired_on or now.date(), notes=notes, created_at=now, updated_at=now)
    session.add(item)
    record.updated_at = now
    outbox.enqueue(session, record.id, "upsert", now=now)
    if staff is not None:
        audit.record(session, action="catalog.item.add", staff=staff, target_type="item", target_id=barcode,
                     branch_id=branch.id, details={"record_id": record.id}, now=now)
    session.flush()
    return item


def get_item_by_barcode(session: Session, barcode: str) -> Item:
    item = session.scalar(select(Item).where(Item.barcode == (barcode or "").strip())
                          .options(selectinload(Item.record)))
    if item is None:
        raise ItemNotFound(barcode=barcode)
    return item


def get_item(session: Session, item_id: int) -> Item:
    item = session.get(Item, item_id)
    if item is None:
        raise ItemNotFound(barcode=str(item_id))
    return item


def update_item(session: Session, item: Item, *, now: dt.datetime, staff: StaffUser | None = None,
                call_number: str | None = None, shelf_location: str | None = None,
                item_type_code: str | None = None, price: Any = None, notes: str | None = None,
                status: str | None = None) -> Item:
    """Edit a copy's shelf data. ``status`` may only switch between the shelf states a
    cataloguer manages (available, missing, in repair, lost); loans, transits and holds change
    status through circulation."""
    before = {"call_number": item.call_number, "shelf_location": item.shelf_location,
              "item_type_code": item.item_type_code, "status": item.status}
    if item_type_code is not None and item_type_code != item.item_type_code:
        if session.get(ItemType, item_type_code) is None:
            raise UnknownItemType(code=item_type_code)
        item.item_type_code = item_type_code
    if call_number is not None:
        item.call_number = call_number[:64]
    if shelf_location is not None:
        item.shelf_location = shelf_location[:100]
    if price is not None:
        item.price = _price(price)
    if notes is not None:
        item.notes = notes
    if status is not None and status != item.status:
        manageable = ("available", "missing", "in_repair", "lost")
        if status not in manageable or item.status not in manageable:
            raise ItemNotMovable(status=item.status)
        item.status = status
    item.updated_at = now
    outbox.enqueue(session, item.record_id, "upsert", now=now)
    if staff is not None:
        audit.record(session, action="catalog.item.edit", staff=staff, target_type="item", target_id=item.barcode,
                     details={"before": before}, now=now)
    session.flush()
    return item


_UNMOVABLE = ("on_loan", "in_transit", "on_hold_shelf", "withdrawn")


def move_item(session: Session, item: Item, *, branch: Branch, now: dt.datetime,
              staff: StaffUser | None = None) -> Item:
    """Transfer a copy's ownership to another branch (a collection move, not a transit): both
    home and current branch change. Refused while the copy is on loan, in transit, on the hold
    shelf or withdrawn."""
    if item.status in _UNMOVABLE:
        raise ItemNotMovable(status=item.status)
    old = item.home_branch_id
    item.home_branch_id = branch.id
    item.current_branch_id = branch.id
    item.updated_at = now
    outbox.enqueue(session, item.record_id, "upsert", now=now)
    if staff is not None:
        audit.record(session, action="catalog.item.move", staff=staff, target_type="item", target_id=item.barcode,
                     branch_id=branch.id, details={"from_branch_id": old}, now=now)
    session.flush()
    return item


def withdraw_item(session: Session, item: Item, *, now: dt.datetime, staff: StaffUser | None = None,
                  reason: str = "") -> Item:
    """Withdraw (注销) a copy; refused while it is on loan, in transit or on the hold shelf."""
    if item.status in _UNMOVABLE:
        raise ItemNotMovable(status=item.status)
    item.status = "withdrawn"
    if reason:
        item.notes = (item.notes + "\n" if item.notes else "") + f"{now.date().isoformat()} 注销：{reason}"
    item.updated_at = now
    outbox.enqueue(session, item.record_id, "upsert", now=now)
    if staff is not None:
        audit.record(session, action="catalog.item.withdraw", staff=staff, target_type="item",
                     target_id=item.barcode, details={"reason": reason}, now=now)
    session.flush()
    return item
