"""Catalogue models: bibliographic records (the full MARC record kept losslessly, plus the
fields the system needs extracted), copies (items) at branches, item types, the search outbox."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from library.db import Base, UTCDateTime
from library.models import Branch, StaffUser

ITEM_STATUSES = (
    "available",
    "on_loan",
    "in_transit",
    "on_hold_shelf",
    "lost",
    "missing",
    "in_repair",
    "withdrawn",
)
FLAVOURS = ("marc21", "unimarc")


class ItemType(Base):
    """A configurable item type (图书、少儿图书、期刊、音像、工具书、古籍). ``loanable`` false means
    never lent (reference, ancient books)."""

    __tablename__ = "item_types"

    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    name_en: Mapped[str] = mapped_column(String(50), default="")
    loanable: Mapped[bool] = mapped_column(Boolean, default=True)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)


class BibRecord(Base):
    """A bibliographic record. ``marc`` holds the whole record as MARC-in-JSON (leader, every
    field, indicators and subfields in order) so export gives back what was imported; the other
    columns are extracted from it on every save."""

    __tablename__ = "bib_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    flavour: Mapped[str] = mapped_column(String(10))
    leader: Mapped[str] = mapped_column(String(24))
    marc: Mapped[dict[str, Any]] = mapped_column(JSON)
    control_number: Mapped[str | None] = mapped_column(String(64), index=True)
    control_number_source: Mapped[str | None] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(Text, default="")
    responsibility: Mapped[str] = mapped_column(Text, default="")
    authors: Mapped[list[str]] = mapped_column(JSON, default=list)
    publisher: Mapped[str] = mapped_column(String(255), default="")
    pub_place: Mapped[str] = mapped_column(String(255), default="")
    year: Mapped[int | None] = mapped_column(Integer, index=True)
    isbns: Mapped[list[str]] = mapped_column(JSON, default=list)  # normalised ISBN-13
    language: Mapped[str] = mapped_column(String(3), default="")
    material_type: Mapped[str] = mapped_column(String(20), default="book")
    subjects: Mapped[list[str]] = mapped_column(JSON, default=list)
    series: Mapped[str] = mapped_column(Text, default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    classification_clc: Mapped[str] = mapped_column(String(64), default="", index=True)  # 中图法
    classification_lc: Mapped[str] = mapped_column(String(64), default="")
    classification_ddc: Mapped[str] = mapped_column(String(64), default="")
    call_number: Mapped[str] = mapped_column(String(64), default="")
    title_pinyin: Mapped[str] = mapped_column(Text, default="")  # cataloguer's 200$A when present
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    deleted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    items: Mapped[list[Item]] = relationship(back_populates="record", order_by="Item.barcode")
    isbn_rows: Mapped[list[RecordIsbn]] = relationship(back_populates="record", cascade="all, delete-orphan")

    __table_args__ = (CheckConstraint(f"flavour IN {FLAVOURS!r}", name="flavour_valid"),)


class RecordIsbn(Base):
    """One normalised ISBN-13 of a record, for exact matching on import and look-up."""

    __tablename__ = "record_isbns"

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("bib_records.id", ondelete="CASCADE"), index=True)
    isbn13: Mapped[str] = mapped_column(String(13), index=True)

    record: Mapped[BibRecord] = relationship(back_populates="isbn_rows")


class Item(Base):
    """A physical copy. ``home_branch`` owns it; ``current_branch`` is where it is (or is going
    to, while in transit)."""

    __tablename__ = "items"

    id: Mapped[int] = mapped_column(primary_key=True)
    barcode: Mapped[str] = mapped_column(String(32), unique=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("bib_records.id"), index=True)
    home_branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"), index=True)
    current_branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"), index=True)
    shelf_location: Mapped[str] = mapped_column(String(100), default="")
    call_number: Mapped[str] = mapped_column(String(64), default="")
    item_type_code: Mapped[str] = mapped_column(ForeignKey("item_types.code"))
    status: Mapped[str] = mapped_column(String(20), default="available")
    floating: Mapped[bool] = mapped_column(Boolean, default=False)
    price: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    acquired_on: Mapped[dt.date | None] = mapped_column(Date)
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    record: Mapped[BibRecord] = relationship(back_populates="items")
    home_branch: Mapped[Branch] = relationship(foreign_keys=[home_branch_id])
    current_branch: Mapped[Branch] = relationship(foreign_keys=[current_branch_id])
    item_type: Mapped[ItemType] = relationship()

    __table_args__ = (
        CheckConstraint(f"status IN {ITEM_STATUSES!r}", name="status_valid"),
        CheckConstraint("price IS NULL OR price >= 0", name="price_nonnegative"),
        Index("ix_items_record_status", "record_id", "status"),
    )

    def is_available(self) -> bool:
        return self.status == "available"


class SearchOutbox(Base):
    """A change the search index has to follow, written in the same transaction as the change
    (record edited or deleted, copy added, moved or its status changed) and applied after commit."""

    __tablename__ = "search_outbox"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    record_id: Mapped[int] = mapped_column(Integer, index=True)
    op: Mapped[str] = mapped_column(String(10))  # upsert / delete
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    __table_args__ = (CheckConstraint("op IN ('upsert', 'delete')", name="op_valid"),)


class RecordHistory(Base):
    """One change of a record: who (staff, or the import batch), when, what (the MARC lines
    removed and added, and the leader before/after)."""

    __tablename__ = "record_history"

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("bib_records.id", ondelete="CASCADE"), index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    actor: Mapped[str] = mapped_column(String(100), default="")
    action: Mapped[str] = mapped_column(String(20))  # create / edit / import / update / delete / restore
    changes: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)  # [{"op": "+"|"-", "line": ...}]
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batches.id", ondelete="SET NULL"))

    staff: Mapped[StaffUser | None] = relationship()

    __table_args__ = (
        CheckConstraint("action IN ('create', 'edit', 'import', 'update', 'delete', 'restore')",
                        name="action_valid"),
    )


IMPORT_STATUSES = ("pending", "running", "done", "failed", "interrupted")


class ImportBatch(Base):
    """One run of the importer (command line or upload page): its settings, progress and counts.

    The importing process renews ``heartbeat_at`` with every committed batch of records; a
    pending or running import not heard from within the stale threshold belongs to a process
    that died and is "interrupted" (``heartbeat_at`` says when it was last seen). Resuming it
    takes the next ``attempt``: the old process, should it still be alive, can then commit
    nothing more (every progress write checks the attempt)."""

    __tablename__ = "import_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    filename: Mapped[str] = mapped_column(String(255))
    path: Mapped[str] = mapped_column(Text, default="")  # the uploaded file while it is imported
    source: Mapped[str] = mapped_column(String(10), default="cli")  # cli / upload
    status: Mapped[str] = mapped_column(String(20), default="pending")
    match: Mapped[str] = mapped_column(String(20), default="isbn")
    branch_id: Mapped[int | None] = mapped_column(ForeignKey("branches.id"))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    total_bytes: Mapped[int] = mapped_column(Integer, default=0)
    bytes_done: Mapped[int] = mapped_column(Integer, default=0)
    read: Mapped[int] = mapped_column(Integer, default=0)
    imported: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    items_created: Mapped[int] = mapped_column(Integer, default=0)
    skipped_by_reason: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    attempt: Mapped[int] = mapped_column(Integer, default=1)

    branch: Mapped[Branch | None] = relationship()
    staff: Mapped[StaffUser | None] = relationship()
    lines: Mapped[list[ImportReportLine]] = relationship(
        back_populates="batch", order_by="ImportReportLine.id", cascade="all, delete-orphan")

    __table_args__ = (
        CheckConstraint(f"status IN {IMPORT_STATUSES!r}", name="status_valid"),
        CheckConstraint("match IN ('isbn', 'control-number', 'none')", name="match_valid"),
    )

    def shown_status(self, now: dt.datetime, stale_after: dt.timedelta) -> str:
        """The status to show: a pending or running import not heard from within
        ``stale_after`` is interrupted (its process died) even before the clean-up marks it so."""
        if self.status in ("pending", "running") and self.heartbeat_at < now - stale_after:
            return "interrupted"
        return self.status


class ImportReportLine(Base):
    """A record of an import that was not simply added: updated, skipped (with the reason),
    an authority record, a bad record, or one read with repairs (warning)."""

    __tablename__ = "import_report_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("import_batches.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)  # record number in the file, from 1
    byte_offset: Mapped[int] = mapped_column(Integer)  # byte offset in the file
    outcome: Mapped[str] = mapped_column(String(20))  # updated / skipped / warning / items
    reason: Mapped[str] = mapped_column(String(40), default="")  # bad_record / authority / holdings ...
    detail: Mapped[str] = mapped_column(Text, default="")
    record_id: Mapped[int | None] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text, default="")

    batch: Mapped[ImportBatch] = relationship(back_populates="lines")
