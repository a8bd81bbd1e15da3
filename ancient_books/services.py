"""Census use cases: numbering, registration, editing with history, the review workflow,
controlled lists, search and the statistics of the census report. Services flush, never commit."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ancient_books.errors import (
    CensusInvalid,
    CensusRecordNotFound,
    NumberingNotConfigured,
    SerialExhausted,
    WorkflowRefused,
)
from ancient_books.models import (
    GRADE_CLASSES,
    GRADE_CODES,
    CensusAuthor,
    CensusChange,
    CensusCounter,
    CensusRecord,
    CensusTerm,
)
from ancient_books.reign import ReignDateError, edition_date_part, fold, parse_reign_date, period_of_year
from library.models import StaffUser

STATUS_LABELS = {"draft": _l("草稿"), "submitted": _l("待审核"), "returned": _l("退回修改"), "approved": _l("已审核")}

# Editable scalar fields of a census record with their Chinese labels (history, export, forms).
FIELDS: dict[str, Any] = {
    "call_number": _l("索书号"),
    "bu_code": _l("部"),
    "lei_code": _l("类"),
    "title": _l("题名"),
    "juan": _l("卷数"),
    "edition_text": _l("版本"),
    "edition_type_code": _l("版本类型"),
    "annotations": _l("批校题跋"),
    "layout_hangkuan": _l("行款"),
    "layout_bianlan": _l("边栏"),
    "layout_banxin": _l("版心"),
    "layout_yuwei": _l("鱼尾"),
    "binding_code": _l("装帧"),
    "series_contents": _l("丛书子目"),
    "volumes": _l("册(件)数"),
    "volume_unit": _l("册/件"),
    "extant": _l("存卷"),
    "missing": _l("缺卷"),
    "seals": _l("钤印"),
    "grade_code": _l("定级"),
    "grade_class": _l("等次"),
    "damage_level_code": _l("破损等级"),
    "damage_types": _l("破损类型"),
    "damage_share": _l("破损叶数比例(%)"),
    "repair_needed": _l("需要修复"),
    "damage_notes": _l("破损说明"),
    "location": _l("存放位置"),
    "holding_unit": _l("收藏单位"),
    "bib_record_id": _l("关联书目记录"),
}
TEXT_LIMITS = {"call_number": 64, "title": 500, "juan": 100, "edition_text": 500, "layout_hangkuan": 200,
               "layout_bianlan": 40, "layout_banxin": 40, "layout_yuwei": 40, "extant": 200, "missing": 200,
               "location": 200, "holding_unit": 200}
BIANLAN = ("四周单边", "四周双边", "左右双边", "上下双边", "四周花边")
BANXIN = ("白口", "黑口", "细黑口", "粗黑口", "花口")
YUWEI = ("单黑鱼尾", "双黑鱼尾", "单白鱼尾", "双白鱼尾", "单花鱼尾", "双花鱼尾", "三鱼尾", "无鱼尾")
NUMBER_RE = re.compile(r"^\d{6}-\d{4}-\d{7}$")


# ---------------------------------------------------------------------------- numbering

def census_prefix(province_code: str, unit_code: str) -> str:
    """``PPPPPP-UUUU`` from the configured codes. Raises NumberingNotConfigured."""
    if not re.fullmatch(r"\d{6}", province_code or ""):
        raise NumberingNotConfigured(detail=f"province={province_code!r}")
    if not re.fullmatch(r"\d{4}", unit_code or ""):
        raise NumberingNotConfigured(detail=f"unit={unit_code!r}")
    return f"{province_code}-{unit_code}"


def _lock_counter(session: Session, prefix: str) -> CensusCounter:
    """The counter row of ``prefix``, created if missing, locked for this transaction
    (SELECT … FOR UPDATE on PostgreSQL; SQLite's write transaction is already exclusive)."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(postgresql.insert(CensusCounter).values(prefix=prefix, last_serial=0)
                        .on_conflict_do_nothing(index_elements=["prefix"]))
    elif dialect == "sqlite":
        session.execute(sqlite.insert(CensusCounter).values(prefix=prefix, last_serial=0)
                        .on_conflict_do_nothing(index_elements=["prefix"]))
    elif session.get(CensusCounter, prefix) is None:
        session.add(CensusCounter(prefix=prefix, last_serial=0))
        session.flush()
    return session.scalars(
        select(CensusCounter).where(CensusCounter.prefix == prefix).with_for_update()
        .execution_options(populate_existing=True)
    ).one()


def issue_census_number(session: Session, prefix: str) -> tuple[int, str]:
    """The next 普查编号 of ``prefix``: the counter row is locked and incremented in the
    caller's transaction, so a rolled-back registration gives its serial back and concurrent
    registrations never repeat or skip one (the unique 普查编号 is the last line of defence)."""
    counter = _lock_counter(session, prefix)
    if counter.last_serial >= 9_999_999:
        raise SerialExhausted()
    counter.last_serial += 1
    session.flush()
    return counter.last_serial, f"{prefix}-{counter.last_serial:07d}"


def _advance_counter(session: Session, prefix: str, serial: int) -> None:
    """A record imported with one of our own numbers moves the counter past it, so that the
    next registration cannot collide with it."""
    counter = _lock_counter(session, prefix)
    counter.last_serial = max(counter.last_serial, serial)
    session.flush()


# ---------------------------------------------------------------------------- controlled lists

def terms(session: Session, kind: str, *, active_only: bool = True) -> list[CensusTerm]:
    stmt = select(CensusTerm).where(CensusTerm.kind == kind)
    if active_only:
        stmt = stmt.where(CensusTerm.active.is_(True))
    return list(session.scalars(stmt.order_by(CensusTerm.sort_order, CensusTerm.id)))


def term_labels(session: Session) -> dict[tuple[str, str], str]:
    """{(kind, code): label} for every term, retired ones included (old records show them)."""
    return {(t.kind, t.code): t.label for t in session.scalars(select(CensusTerm))}


def save_term(session: Session, *, kind: str, code: str, label: str, parent_code: str = "",
              description: str = "", sort_order: int = 0, active: bool = True) -> CensusTerm:
    """Add or edit a controlled-list entry. Raises CensusInvalid for an empty code or label."""
    errors = {}
    if not code.strip():
        errors["code"] = _l("代码不能为空")
    if not label.strip():
        errors["label"] = _l("名称不能为空")
    if kind == "lei" and parent_code and session.scalar(
        select(CensusTerm.id).where(CensusTerm.kind == "bu", CensusTerm.code == parent_code)
    ) is None:
        errors["parent_code"] = _l("上级“部”不存在")
    if errors:
        raise CensusInvalid(errors)
    term = session.scalar(select(CensusTerm).where(CensusTerm.kind == kind, CensusTerm.code == code.strip()))
    if term is None:
        term = CensusTerm(kind=kind, code=code.strip())
        session.add(term)
    term.label, term.parent_code, term.description = label.strip(), parent_code.strip(), description.strip()
    term.sort_order, term.active = sort_order, active
    session.flush()
    return term


# ---------------------------------------------------------------------------- validation

@dataclass
class AuthorInput:
    dynasty: str
    name: str
    role: str


def _active_terms(session: Session) -> dict[str, dict[str, CensusTerm]]:
    """{kind: {code: term}} of the active controlled-list entries, read once per validation."""
    out: dict[str, dict[str, CensusTerm]] = {}
    for t in session.scalars(select(CensusTerm).where(CensusTerm.active.is_(True))):
        out.setdefault(t.kind, {})[t.code] = t
    return out


def validate_record_data(session: Session, data: dict[str, Any], authors: Sequence[AuthorInput]
                         ) -> tuple[dict[str, Any], list[AuthorInput]]:
    """Normalise and check the fields of a census record. Returns (fields, authors) ready to
    store, or raises CensusInvalid with one message per wrong field."""
    errors: dict[str, Any] = {}
    out: dict[str, Any] = {}
    active = _active_terms(session)
    for name in FIELDS:
        value = data.get(name)
        if name in ("volumes", "damage_share", "bib_record_id"):
            if value in (None, ""):
                out[name] = None
                continue
            try:
                out[name] = int(str(value).strip())
            except ValueError:
                errors[name] = _l("%(v0)s必须是整数", v0=FIELDS[name])
            continue
        if name == "repair_needed":
            out[name] = value in (True, "1", "y", "yes", "true", "on", "是")
            continue
        if name == "damage_types":
            if isinstance(value, str):
                value = [v for v in re.split(r"[,，;；、\s]+", value) if v]
            out[name] = sorted(set(value or []))
            continue
        out[name] = str(value or "").strip()
        limit = TEXT_LIMITS.get(name)
        if limit and len(out[name]) > limit:
            errors[name] = _l("%(v0)s不能超过 %(v1)s 个字", v0=FIELDS[name], v1=limit)
    if not out["title"]:
        errors["title"] = _l("题名不能为空")
    if out.get("volumes") is None:
        out["volumes"] = 1
    elif out["volumes"] < 1:
        errors["volumes"] = _l("册(件)数至少为 1")
    if out["volume_unit"] not in ("册", "件"):
        out["volume_unit"] = "册"
    if out.get("damage_share") is not None and not 0 <= out["damage_share"] <= 100:
        errors["damage_share"] = _l("破损比例应在 0 到 100 之间")
    for name, kind in (("bu_code", "bu"), ("edition_type_code", "edition_type"), ("binding_code", "binding"),
                       ("damage_level_code", "damage_level")):
        if out[name] and out[name] not in active.get(kind, {}):
            errors[name] = _l("%(v0)s不在规范表中：%(v1)s", v0=FIELDS[name], v1=out[name])
    if out["lei_code"]:
        lei = active.get("lei", {}).get(out["lei_code"])
        if lei is None:
            errors["lei_code"] = _l("类不在规范表中：%(v0)s", v0=out['lei_code'])
        elif out["bu_code"] and lei.parent_code != out["bu_code"]:
            errors["lei_code"] = _l("“%(v0)s”不属于所选的部", v0=lei.label)
        elif not out["bu_code"]:
            out["bu_code"] = lei.parent_code
    bad_types = [t for t in out["damage_types"] if t not in active.get("damage_type", {})]
    if bad_types:
        errors["damage_types"] = _l("破损类型不在规范表中：%(v0)s", v0="、".join(bad_types))
    out["grade_code"] = out["grade_code"] or None
    out["grade_class"] = out["grade_class"] or None
    if out["grade_code"] is not None and out["grade_code"] not in GRADE_CODES:
        errors["grade_code"] = _l("定级应为一级、二级、三级或四级")
    if out["grade_class"] is not None:
        if out["grade_class"] not in GRADE_CLASSES:
            errors["grade_class"] = _l("等次应为甲、乙或丙")
        elif out["grade_code"] is None:
            errors["grade_class"] = _l("请先定级再定等次")
        elif out["grade_code"] == "4":
            errors["grade_class"] = _l("四级古籍（普本）不分等次")
    if out["bib_record_id"] is not None:
        from catalog.models import BibRecord

        if session.get(BibRecord, out["bib_record_id"]) is None:
            errors["bib_record_id"] = _l("关联的书目记录不存在")
    out.update(edition_year_from=None, edition_year_to=None, edition_ganzhi="", edition_circa=False,
               edition_period="")
    if out["edition_text"]:
        part = edition_date_part(out["edition_text"])
        if part:
            try:
                parsed = parse_reign_date(part)
            except ReignDateError as exc:
                if exc.recognised:
                    errors["edition_text"] = _l("版本年代有误：%(v0)s", v0=exc.message)
            else:
                out.update(edition_year_from=parsed.year_from, edition_year_to=parsed.year_to,
                           edition_ganzhi=parsed.ganzhi or "", edition_circa=parsed.circa,
                           edition_period=parsed.dynasty or period_of_year(parsed.year_from))
                if parsed.dynasty in ("北宋", "南宋"):
                    out["edition_period"] = "宋"
                if parsed.dynasty == "南明":
                    out["edition_period"] = "明"
    clean_authors = []
    roles = {t.label for t in active.get("author_role", {}).values()}
    for i, a in enumerate(authors):
        name = (a.name or "").strip()
        if not name:
            continue
        role = (a.role or "").strip()
        if role and role not in roles:
            errors[f"authors-{i}-role"] = _l("著作方式不在规范表中：%(v0)s", v0=role)
        if len(name) > 100:
            errors[f"authors-{i}-name"] = _l("著者姓名过长")
        clean_authors.append(AuthorInput(dynasty=(a.dynasty or "").strip()[:20], name=name, role=role))
    if errors:
        raise CensusInvalid(errors)
    return out, clean_authors


# ---------------------------------------------------------------------------- records

def _snapshot(record: CensusRecord) -> dict[str, Any]:
    snap = {name: getattr(record, name) for name in FIELDS}
    snap["authors"] = record.authors_text
    return snap


def _diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    return {k: [before.get(k), after.get(k)] for k in after if before.get(k) != after.get(k)}


def search_text_of(record: CensusRecord) -> str:
    parts = [record.census_no, record.call_number, record.title, record.juan, record.edition_text,
             record.series_contents, *(f"{a.dynasty} {a.name}" for a in record.authors)]
    return fold("|".join(p for p in parts if p)).lower()


def _log(session: Session, record: CensusRecord, *, action: str, staff: StaffUser | None, now: dt.datetime,
         changes: dict[str, Any] | None = None, comment: str = "", actor: str = "") -> CensusChange:
    change = CensusChange(record=record, at=now, staff_id=staff.id if staff else None,
                          actor=actor or (staff.username if staff else ""), action=action,
                          changes=changes or {}, comment=comment)
    session.add(change)
    return change


def _apply(record: CensusRecord, fields: dict[str, Any], authors: list[AuthorInput]) -> None:
    for name, value in fields.items():
        setattr(record, name, value)
    old = {(a.dynasty, a.name, a.role) for a in record.authors}
    new = [(a.dynasty, a.name, a.role) for a in authors]
    if [(a.dynasty, a.name, a.role) for a in record.authors] != new or old != set(new):
        record.authors.clear()
        for pos, (dyn, name, role) in enumerate(new):
            record.authors.append(CensusAuthor(position=pos, dynasty=dyn, name=name, role=role))


def create_record(session: Session, *, data: dict[str, Any], authors: Sequence[AuthorInput], prefix: str,
                  staff: StaffUser | None, now: dt.datetime, holding_unit: str = "", actor: str = "",
                  census_no: str | None = None) -> CensusRecord:
    """Register a book (status draft) with the next 普查编号 of ``prefix``. ``census_no`` keeps
    the number of a record imported from another system (it must be new and well formed).
    Raises CensusInvalid."""
    fields, clean_authors = validate_record_data(session, data, authors)
    if not fields["holding_unit"]:
        fields["holding_unit"] = holding_unit
    if census_no:
        if not NUMBER_RE.match(census_no):
            raise CensusInvalid({"census_no": _l("普查编号格式应为 PPPPPP-UUUU-NNNNNNN：%(v0)s", v0=census_no)})
        if session.scalar(select(CensusRecord.id).where(CensusRecord.census_no == census_no)) is not None:
            raise CensusInvalid({"census_no": _l("普查编号已存在：%(v0)s", v0=census_no)})
        serial = int(census_no[-7:])
        if census_no.startswith(prefix + "-"):
            _advance_counter(session, prefix, serial)
    else:
        serial, census_no = issue_census_number(session, prefix)
    record = CensusRecord(census_no=census_no, serial=serial, status="draft", created_by_id=staff.id if staff else None,
                          created_at=now, updated_at=now, damage_types=[])
    session.add(record)
    _apply(record, fields, clean_authors)
    record.search_text = search_text_of(record)
    session.flush()
    _log(session, record, action="create", staff=staff, now=now, actor=actor,
         changes={k: [None, v] for k, v in _snapshot(record).items() if v not in (None, "", [], False)})
    session.flush()
    return record


EDITABLE = ("draft", "returned")


def update_record(session: Session, record: CensusRecord, *, data: dict[str, Any], authors: Sequence[AuthorInput],
                  staff: StaffUser | None, now: dt.datetime, actor: str = "") -> dict[str, list[Any]]:
    """Change a draft or returned record; records the field differences. Raises
    WorkflowRefused (submitted or approved records are frozen) or CensusInvalid."""
    if record.status not in EDITABLE:
        raise WorkflowRefused(status=STATUS_LABELS[record.status])
    fields, clean_authors = validate_record_data(session, data, authors)
    before = _snapshot(record)
    _apply(record, fields, clean_authors)
    after = _snapshot(record)
    diff = _diff(before, after)
    if diff:
        record.updated_at = now
        record.search_text = search_text_of(record)
        _log(session, record, action="update", staff=staff, now=now, changes=diff, actor=actor)
    session.flush()
    return diff


def submit_record(session: Session, record: CensusRecord, *, staff: StaffUser, now: dt.datetime) -> None:
    """Registrar sends a draft (or a returned record) to review. Raises WorkflowRefused."""
    if record.status not in EDITABLE:
        raise WorkflowRefused(status=STATUS_LABELS[record.status])
    old = record.status
    record.status, record.submitted_at, record.updated_at = "submitted", now, now
    _log(session, record, action="submit", staff=staff, now=now, changes={"status": [old, "submitted"]})
    session.flush()


def approve_record(session: Session, record: CensusRecord, *, reviewer: StaffUser, now: dt.datetime,
                   comment: str = "") -> None:
    """Reviewer accepts a submitted record. Raises WorkflowRefused."""
    if record.status != "submitted":
        raise WorkflowRefused(status=STATUS_LABELS[record.status])
    record.status, record.approved_at, record.updated_at = "approved", now, now
    record.reviewed_by_id, record.review_comment = reviewer.id, comment.strip()
    _log(session, record, action="approve", staff=reviewer, now=now, changes={"status": ["submitted", "approved"]},
         comment=comment.strip())
    session.flush()


def return_record(session: Session, record: CensusRecord, *, reviewer: StaffUser, now: dt.datetime,
                  comment: str) -> None:
    """Reviewer sends a submitted record back with comments (required). Raises WorkflowRefused
    or CensusInvalid."""
    if record.status != "submitted":
        raise WorkflowRefused(status=STATUS_LABELS[record.status])
    if not comment.strip():
        raise CensusInvalid({"comment": _l("退回时必须填写审核意见")})
    record.status, record.updated_at = "returned", now
    record.reviewed_by_id, record.review_comment = reviewer.id, comment.strip()
    _log(session, record, action="return", staff=reviewer, now=now, changes={"status": ["submitted", "returned"]},
         comment=comment.strip())
    session.flush()


def get_record(session: Session, census_no: str) -> CensusRecord:
    record = session.scalar(select(CensusRecord).where(CensusRecord.census_no == census_no.strip()))
    if record is None:
        raise CensusRecordNotFound(no=census_no)
    return record


def search_records(session: Session, *, query: str = "", status: str | None = None, page: int = 1,
                   per_page: int = 30) -> tuple[list[CensusRecord], int]:
    """Records whose title, authors, edition, 普查编号 or call number contain every word of
    ``query``; traditional and simplified characters match each other (both sides folded t2s)."""
    stmt = select(CensusRecord)
    for word in fold_words(query):
        stmt = stmt.where(CensusRecord.search_text.contains(word, autoescape=True))
    if status:
        stmt = stmt.where(CensusRecord.status == status)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.order_by(CensusRecord.census_no).offset((page - 1) * per_page).limit(per_page))
    return list(rows), total


def fold_words(query: str) -> list[str]:
    return [fold(w).lower() for w in re.split(r"\s+", query or "") if w.strip()]


def review_queue(session: Session) -> list[CensusRecord]:
    return list(session.scalars(select(CensusRecord).where(CensusRecord.status == "submitted")
                                .order_by(CensusRecord.submitted_at, CensusRecord.id)))


def status_counts(session: Session) -> dict[str, int]:
    rows = session.execute(select(CensusRecord.status, func.count()).group_by(CensusRecord.status))
    counts = {s: 0 for s in STATUS_LABELS}
    counts.update({s: n for s, n in rows})
    return counts


# ---------------------------------------------------------------------------- statistics

STAT_DIMENSIONS = {
    "bu": (_l("部"), CensusRecord.bu_code, "bu"),
    "grade": (_l("定级"), CensusRecord.grade_code, "grade"),
    "damage": (_l("破损等级"), CensusRecord.damage_level_code, "damage_level"),
    "edition_type": (_l("版本类型"), CensusRecord.edition_type_code, "edition_type"),
    "period": (_l("时代"), CensusRecord.edition_period, None),
}


@dataclass
class StatRow:
    key: str
    label: str
    books: int
    volumes: int


def statistics(session: Session, *, statuses: Iterable[str] = ("approved",)) -> dict[str, list[StatRow]]:
    """Books (部) and volumes (册) by 部, grade, damage level, edition type and period, for the
    census report; by default only approved records count."""
    labels = term_labels(session)
    out: dict[str, list[StatRow]] = {}
    statuses = tuple(statuses)
    for dim, (_title, column, kind) in STAT_DIMENSIONS.items():
        rows = session.execute(
            select(column, func.count(), func.coalesce(func.sum(CensusRecord.volumes), 0))
            .where(CensusRecord.status.in_(statuses)).group_by(column)
        ).all()
        result = []
        for key, books, volumes in rows:
            key = key or ""
            label = labels.get((kind, key), key) if kind else key
            result.append(StatRow(key=key, label=label or "未详", books=int(books), volumes=int(volumes)))
        order = {t.code: t.sort_order for t in terms(session, kind, active_only=False)} if kind else {}
        result.sort(key=lambda r: (r.key == "", order.get(r.key, 10_000), r.label))
        out[dim] = result
    return out
