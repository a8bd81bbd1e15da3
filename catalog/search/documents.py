"""What the index holds for a record: the searchable text, the pinyin, the sort keys and the
facet values. Built from the database (a ``BibRecord`` and the branches holding an available
copy) and nothing else, so the index can always be rebuilt."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.models import BibRecord, Item
from catalog.search.analysis import SECTION_SEP, pinyin_sort_key

_ISBN_CHARS = re.compile(r"[^0-9Xx]")
_LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z'\-]{2,}")


class RecordLike(Protocol):
    id: int
    title: str
    responsibility: str
    authors: list[str]
    publisher: str
    pub_place: str
    year: int | None
    isbns: list[str]
    language: str
    material_type: str
    subjects: list[str]
    series: str
    notes: str
    classification_clc: str
    classification_lc: str
    classification_ddc: str
    call_number: str
    title_pinyin: str


def isbn13(text: str) -> str | None:
    """The ISBN-13 form of an ISBN-10 or ISBN-13 (hyphens and spaces ignored), or None when the
    text is not a valid ISBN (wrong length or check digit)."""
    raw = _ISBN_CHARS.sub("", text.strip()).upper()
    if len(raw) == 10 and raw[:9].isdigit():
        total = sum(int(d) * (10 - i) for i, d in enumerate(raw[:9]))
        check = (11 - total % 11) % 11
        if raw[9] != ("X" if check == 10 else str(check)):
            return None
        body = "978" + raw[:9]
    elif len(raw) == 13 and raw.isdigit():
        body = raw[:12]
    else:
        return None
    total = sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(body))
    full = body + str((10 - total % 10) % 10)
    if len(raw) == 13 and full != raw:
        return None
    return full


def looks_like_isbn(text: str) -> bool:
    stripped = text.strip()
    return bool(stripped) and bool(re.fullmatch(r"[0-9][0-9\- ]{8,16}[0-9Xx]", stripped)) and isbn13(stripped) is not None


def clc_top(code: str) -> str:
    """The top-level class of the Chinese Library Classification (one of its 22 letters)."""
    code = code.strip().upper()
    return code[0] if code and "A" <= code[0] <= "Z" else ""


def document(rec: RecordLike, branch_ids: Iterable[int] = (), call_numbers: Iterable[str] = ()) -> dict[str, Any]:
    """The index document of a record; ``branch_ids`` are branches holding an available copy."""
    authors = [a for a in (rec.authors or []) if a]
    subjects = [s for s in (rec.subjects or []) if s]
    isbns = sorted({i for i in (isbn13(x) for x in (rec.isbns or [])) if i})
    callnos = sorted({c.strip().lower() for c in [rec.call_number, *call_numbers] if c and c.strip()})
    classes = [c.strip().lower() for c in (rec.classification_clc, rec.classification_lc, rec.classification_ddc)
               if c and c.strip()]
    names = " ".join([rec.responsibility or "", *authors])
    # The all-fields text in sections (title, names, subjects, publisher, series, notes): the
    # section of a word is its position range, so fielded searches need no fields of their own.
    sections = [rec.title or "", names, "\n".join(subjects), rec.publisher or "", rec.series or "", rec.notes or ""]
    pinyin_lines = [f"{rec.title or ''}\x1f{rec.title_pinyin}" if rec.title_pinyin else (rec.title or "")]
    pinyin_lines.extend(authors)
    branches = sorted({str(b) for b in branch_ids})
    year = rec.year if rec.year and 0 < rec.year < 10000 else None
    spell = " ".join(_LATIN_WORD.findall(f"{rec.title} {' '.join(authors)}")).lower()
    doc: dict[str, Any] = {
        "id": str(rec.id),
        "rid": rec.id,
        "title": rec.title or "",
        "all": SECTION_SEP.join(sections).rstrip(SECTION_SEP),
        "pinyin": "\n".join(line for line in pinyin_lines if line),
        "isbn": " ".join(isbns),
        "callno": ",".join(callnos),
        "clc": ",".join(classes),
        "language": (rec.language or "").lower().encode(),
        "material": (rec.material_type or "book").encode(),
        "decade": (str(year // 10 * 10) if year else "").encode(),
        "clc_top": clc_top(rec.classification_clc or "").encode(),
        "branches_col": " ".join(branches).encode(),
        "title_sort": pinyin_sort_key(rec.title or "").encode("utf-8"),
    }
    if year:
        doc["year"] = year
    if spell:
        doc["spell"] = spell
    return {k: v for k, v in doc.items() if v not in ("", b"", None) or k in ("id", "title")}


def availability(session: Session, record_ids: Sequence[int]) -> dict[int, set[int]]:
    """Branches holding an available copy, per record (from the database)."""
    out: dict[int, set[int]] = defaultdict(set)
    for chunk_start in range(0, len(record_ids), 500):
        chunk = record_ids[chunk_start : chunk_start + 500]
        rows = session.execute(
            select(Item.record_id, Item.current_branch_id)
            .where(Item.record_id.in_(chunk), Item.status == "available")
            .distinct()
        )
        for rid, bid in rows:
            out[rid].add(bid)
    return out


def item_call_numbers(session: Session, record_ids: Sequence[int]) -> dict[int, set[str]]:
    out: dict[int, set[str]] = defaultdict(set)
    for chunk_start in range(0, len(record_ids), 500):
        chunk = record_ids[chunk_start : chunk_start + 500]
        rows = session.execute(
            select(Item.record_id, Item.call_number).where(Item.record_id.in_(chunk), Item.call_number != "").distinct()
        )
        for rid, cn in rows:
            out[rid].add(cn)
    return out


def documents_for(session: Session, records: Sequence[BibRecord]) -> list[dict[str, Any]]:
    """Index documents for live (not deleted) records, with their availability from the database."""
    ids = [r.id for r in records]
    avail = availability(session, ids)
    callnos = item_call_numbers(session, ids)
    return [document(r, avail.get(r.id, ()), callnos.get(r.id, ())) for r in records]
