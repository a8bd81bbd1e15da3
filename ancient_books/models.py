"""Census models: controlled lists, census records with their authors, photographs and change
history, the 普查编号 counter, and the digitization workflow (steps, scan batches, master files,
published images)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from library.db import Base, UTCDateTime

TERM_KINDS = ("bu", "lei", "edition_type", "binding", "grade", "grade_class", "damage_level", "damage_type",
              "author_role")
RECORD_STATUSES = ("draft", "submitted", "returned", "approved")
GRADE_CODES = ("1", "2", "3", "4")
GRADE_CLASSES = ("甲", "乙", "丙")
STEP_NAMES = ("selection", "condition", "repair", "scanning", "qc", "metadata", "publishing", "archiving")
STEP_STATES = ("locked", "open", "in_progress", "done", "skipped")


class CensusTerm(Base):
    """One entry of a controlled list (部/类, 版本类型, 装帧, 定级, 破损等级, 破损类型, 著作方式).
    ``parent_code`` ties a 类 to its 部. Admins may edit labels, add entries and retire them."""

    __tablename__ = "census_terms"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    code: Mapped[str] = mapped_column(String(40))
    label: Mapped[str] = mapped_column(String(100))
    parent_code: Mapped[str] = mapped_column(String(40), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    __table_args__ = (
        UniqueConstraint("kind", "code"),
        CheckConstraint(f"kind IN {TERM_KINDS!r}", name="kind_valid"),
    )


class CensusCounter(Base):
    """The last serial issued for one ``PPPPPP-UUUU`` prefix. Locked FOR UPDATE while a number is
    issued so that concurrent registrations neither repeat nor skip a serial."""

    __tablename__ = "census_counters"

    prefix: Mapped[str] = mapped_column(String(11), primary_key=True)
    last_serial: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (CheckConstraint("last_serial >= 0 AND last_serial <= 9999999", name="serial_range"),)


class CensusRecord(Base):
    """A census registration (古籍普查登记) of one book with the national census fields."""

    __tablename__ = "census_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    census_no: Mapped[str] = mapped_column(String(19), unique=True)
    serial: Mapped[int] = mapped_column(Integer)
    call_number: Mapped[str] = mapped_column(String(64), default="", index=True)
    bu_code: Mapped[str] = mapped_column(String(40), default="")
    lei_code: Mapped[str] = mapped_column(String(40), default="")
    title: Mapped[str] = mapped_column(String(500))
    juan: Mapped[str] = mapped_column(String(100), default="")  # 卷数 as written: 十卷, 不分卷
    edition_text: Mapped[str] = mapped_column(String(500), default="")
    edition_year_from: Mapped[int | None] = mapped_column(Integer)
    edition_year_to: Mapped[int | None] = mapped_column(Integer)
    edition_ganzhi: Mapped[str] = mapped_column(String(4), default="")
    edition_circa: Mapped[bool] = mapped_column(Boolean, default=False)
    edition_period: Mapped[str] = mapped_column(String(20), default="")  # dynasty, for statistics
    edition_type_code: Mapped[str] = mapped_column(String(40), default="")
    annotations: Mapped[str] = mapped_column(Text, default="")  # 批校题跋
    layout_hangkuan: Mapped[str] = mapped_column(String(200), default="")  # 行款
    layout_bianlan: Mapped[str] = mapped_column(String(40), default="")  # 边栏
    layout_banxin: Mapped[str] = mapped_column(String(40), default="")  # 版心
    layout_yuwei: Mapped[str] = mapped_column(String(40), default="")  # 鱼尾
    binding_code: Mapped[str] = mapped_column(String(40), default="")
    series_contents: Mapped[str] = mapped_column(Text, default="")  # 丛书子目
    volumes: Mapped[int] = mapped_column(Integer, default=1)  # 册(件)数
    volume_unit: Mapped[str] = mapped_column(String(4), default="册")
    extant: Mapped[str] = mapped_column(String(200), default="")  # 存卷
    missing: Mapped[str] = mapped_column(String(200), default="")  # 缺卷
    seals: Mapped[str] = mapped_column(Text, default="")  # 钤印
    grade_code: Mapped[str | None] = mapped_column(String(2))
    grade_class: Mapped[str | None] = mapped_column(String(2))
    damage_level_code: Mapped[str] = mapped_column(String(40), default="")
    damage_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    damage_share: Mapped[int | None] = mapped_column(Integer)  # percent of leaves affected
    repair_needed: Mapped[bool] = mapped_column(Boolean, default=False)
    damage_notes: Mapped[str] = mapped_column(Text, default="")
    location: Mapped[str] = mapped_column(String(200), default="")
    holding_unit: Mapped[str] = mapped_column(String(200), default="")
    bib_record_id: Mapped[int | None] = mapped_column(ForeignKey("bib_records.id", ondelete="SET NULL"), index=True)
    status: Mapped[str] = mapped_column(String(12), default="draft", index=True)
    review_comment: Mapped[str] = mapped_column(Text, default="")
    search_text: Mapped[str] = mapped_column(Text, default="")  # folded (t2s) text for search
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    approved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    authors: Mapped[list[CensusAuthor]] = relationship(
        back_populates="record", cascade="all, delete-orphan", order_by="CensusAuthor.position", lazy="selectin"
    )
    photos: Mapped[list[CensusPhoto]] = relationship(
        back_populates="record", cascade="all, delete-orphan", order_by="CensusPhoto.id"
    )
    changes: Mapped[list[CensusChange]] = relationship(
        back_populates="record", cascade="all, delete-orphan", order_by="CensusChange.id"
    )

    __table_args__ = (
        CheckConstraint(f"status IN {RECORD_STATUSES!r}", name="status_valid"),
        CheckConstraint(f"grade_code IS NULL OR grade_code IN {GRADE_CODES!r}", name="grade_valid"),
        CheckConstraint(f"grade_class IS NULL OR grade_class IN {GRADE_CLASSES!r}", name="grade_class_valid"),
        # 普本 (四级) have no 等次; 善本 (一至三级) may have one.
        CheckConstraint("NOT (grade_code = '4' AND grade_class IS NOT NULL)", name="grade4_no_class"),
        CheckConstraint("grade_class IS NULL OR grade_code IS NOT NULL", name="class_needs_grade"),
        CheckConstraint("damage_share IS NULL OR (damage_share >= 0 AND damage_share <= 100)",
                        name="damage_share_range"),
        CheckConstraint("volumes >= 1", name="volumes_positive"),
        CheckConstraint("edition_year_from IS NULL OR edition_year_to >= edition_year_from", name="edition_years"),
    )

    @property
    def grade_text(self) -> str:
        if not self.grade_code:
            return ""
        names = {"1": "一级", "2": "二级", "3": "三级", "4": "四级"}
        return names[self.grade_code] + (f"{self.grade_class}等" if self.grade_class else "")

    @property
    def authors_text(self) -> str:
        return "；".join(a.display for a in self.authors)


class CensusAuthor(Base):
    """One 著者 of a census record: 朝代, name and 著作方式 (撰/编/注/辑 ...)."""

    __tablename__ = "census_authors"

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("census_records.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    dynasty: Mapped[str] = mapped_column(String(20), default="")
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(20), default="")

    record: Mapped[CensusRecord] = relationship(back_populates="authors")

    @property
    def display(self) -> str:
        dyn = f"（{self.dynasty}）" if self.dynasty else ""
        return f"{dyn}{self.name}{self.role}"


class CensusPhoto(Base):
    """A photograph of the book (书影) uploaded with the census record; stored under the data dir."""

    __tablename__ = "census_photos"

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("census_records.id", ondelete="CASCADE"), index=True)
    path: Mapped[str] = mapped_column(String(400))  # relative to the upload dir
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    caption: Mapped[str] = mapped_column(String(200), default="")
    uploaded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))

    record: Mapped[CensusRecord] = relationship(back_populates="photos")


class CensusChange(Base):
    """One entry of a record's history: who, when, what (create/update/submit/approve/return)
    and the field differences ``{field: [old, new]}``."""

    __tablename__ = "census_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("census_records.id", ondelete="CASCADE"), index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    actor: Mapped[str] = mapped_column(String(100), default="")
    action: Mapped[str] = mapped_column(String(20))
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    comment: Mapped[str] = mapped_column(Text, default="")

    record: Mapped[CensusRecord] = relationship(back_populates="changes")


class DigitizationStep(Base):
    """The state of one digitization step for one volume (册) of a book."""

    __tablename__ = "digitization_steps"

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("census_records.id", ondelete="CASCADE"), index=True)
    volume_no: Mapped[int] = mapped_column(Integer)
    step: Mapped[str] = mapped_column(String(20))
    position: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(12), default="locked")
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    rework_count: Mapped[int] = mapped_column(Integer, default=0)
    note: Mapped[str] = mapped_column(Text, default="")

    assignee: Mapped[Any] = relationship("StaffUser")

    __table_args__ = (
        UniqueConstraint("record_id", "volume_no", "step"),
        CheckConstraint(f"step IN {STEP_NAMES!r}", name="step_valid"),
        CheckConstraint(f"state IN {STEP_STATES!r}", name="state_valid"),
        CheckConstraint("volume_no >= 1", name="volume_positive"),
        Index("ix_digitization_steps_state", "step", "state"),
    )


class ScanBatch(Base):
    """One scanning session of a volume: how many images, at what resolution, colour and format."""

    __tablename__ = "scan_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("census_records.id", ondelete="CASCADE"), index=True)
    volume_no: Mapped[int] = mapped_column(Integer)
    batch_no: Mapped[str] = mapped_column(String(40), unique=True)
    scanned_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    operator: Mapped[str] = mapped_column(String(100), default="")
    image_count: Mapped[int] = mapped_column(Integer)
    resolution_ppi: Mapped[int] = mapped_column(Integer)
    colour: Mapped[str] = mapped_column(String(12))
    file_format: Mapped[str] = mapped_column(String(20))
    device: Mapped[str] = mapped_column(String(100), default="")
    note: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (
        CheckConstraint("image_count >= 0", name="image_count_nonnegative"),
        CheckConstraint("resolution_ppi > 0", name="resolution_positive"),
        CheckConstraint("colour IN ('colour', 'grey', 'bitonal')", name="colour_valid"),
    )


class MasterFile(Base):
    """A master image file registered by path with its size and SHA-256, re-checked by
    ``library ancient-books verify-files``."""

    __tablename__ = "master_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("scan_batches.id", ondelete="CASCADE"), index=True)
    path: Mapped[str] = mapped_column(String(500), unique=True)
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    registered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    verified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    verify_status: Mapped[str] = mapped_column(String(10), default="ok")

    batch: Mapped[ScanBatch] = relationship()

    __table_args__ = (CheckConstraint("verify_status IN ('ok', 'missing', 'changed')", name="verify_status_valid"),)


class PublishedImage(Base):
    """A derivative image shown to readers: one IIIF canvas of a published book."""

    __tablename__ = "published_images"

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("census_records.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    volume_no: Mapped[int] = mapped_column(Integer, default=1)
    label: Mapped[str] = mapped_column(String(100))
    path: Mapped[str] = mapped_column(String(400))  # relative to <data dir>/iiif
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    media_type: Mapped[str] = mapped_column(String(40), default="image/png")

    __table_args__ = (
        UniqueConstraint("record_id", "seq"),
        CheckConstraint("width > 0 AND height > 0", name="size_positive"),
        CheckConstraint("seq >= 1", name="seq_positive"),
    )
