"""Exporting stored records as ISO 2709 or MARCXML, exactly as they were stored."""

from __future__ import annotations

from collections.abc import Callable
from typing import BinaryIO

from sqlalchemy import select

from catalog.marc import MARCXML_NS, MarcDataError, json_to_record, to_iso2709, to_marcxml
from catalog.models import BibRecord
from library.db import Database

CHUNK = 1000


def export_records(db: Database, fh: BinaryIO, *, fmt: str = "iso2709", flavour: str | None = None,
                   record_ids: list[int] | None = None,
                   on_skip: Callable[[int, str], None] | None = None) -> int:
    """Write records (all not deleted, or ``record_ids``) to ``fh``; returns how many. A record
    too long for ISO 2709 (over 99,999 bytes) is skipped and passed to ``on_skip``."""
    if fmt not in ("iso2709", "marcxml"):
        raise ValueError(fmt)
    if fmt == "marcxml":
        fh.write(b'<?xml version="1.0" encoding="UTF-8"?>\n')
        fh.write(f'<collection xmlns="{MARCXML_NS}">\n'.encode())
    n = 0
    last_id = 0
    with db.Session() as session:
        while True:
            q = select(BibRecord.id, BibRecord.marc).where(BibRecord.id > last_id, BibRecord.deleted_at.is_(None))
            if flavour:
                q = q.where(BibRecord.flavour == flavour)
            if record_ids is not None:
                q = q.where(BibRecord.id.in_(record_ids))
            rows = session.execute(q.order_by(BibRecord.id).limit(CHUNK)).all()
            if not rows:
                break
            for rid, marc in rows:
                rec = json_to_record(marc)
                last_id = rid
                if fmt == "iso2709":
                    try:
                        data = to_iso2709(rec)
                    except MarcDataError as exc:
                        if on_skip is not None:
                            on_skip(rid, str(exc))
                        continue
                    fh.write(data)
                else:
                    fh.write(to_marcxml(rec).encode("utf-8") + b"\n")
                n += 1
    if fmt == "marcxml":
        fh.write(b"</collection>\n")
    return n
