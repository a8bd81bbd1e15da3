"""Census exchange with Excel (.xlsx, openpyxl): export in the census registration column
layout and in the four-line published catalogue layout (普查编号 索书号 / 题名卷数 著者 / 版本 /
册数 收藏单位); import of the registration layout with a row-by-row validation report, all or
nothing."""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from flask_babel import lazy_gettext as _l
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font
from sqlalchemy.orm import Session

from ancient_books.errors import CensusInvalid, ImportFailed
from ancient_books.models import CensusRecord
from ancient_books.services import (
    AuthorInput,
    create_record,
    term_labels,
    terms,
    validate_record_data,
)
from library.models import StaffUser

GRADE_NAMES = {"1": "一级", "2": "二级", "3": "三级", "4": "四级"}

# (column heading, record field or a special key, controlled-list kind for label <-> code)
COLUMNS: list[tuple[str, str, str | None]] = [
    ("普查编号", "census_no", None),
    ("索书号", "call_number", None),
    ("分类(部)", "bu_code", "bu"),
    ("分类(类)", "lei_code", "lei"),
    ("题名", "title", None),
    ("卷数", "juan", None),
    ("著者", "authors", None),
    ("版本", "edition_text", None),
    ("版本类型", "edition_type_code", "edition_type"),
    ("批校题跋", "annotations", None),
    ("行款", "layout_hangkuan", None),
    ("边栏", "layout_bianlan", None),
    ("版心", "layout_banxin", None),
    ("鱼尾", "layout_yuwei", None),
    ("装帧", "binding_code", "binding"),
    ("丛书子目", "series_contents", None),
    ("册(件)数", "volumes", None),
    ("单位(册/件)", "volume_unit", None),
    ("存卷", "extant", None),
    ("缺卷", "missing", None),
    ("钤印", "seals", None),
    ("定级", "grade_code", "grade"),
    ("等次", "grade_class", None),
    ("破损等级", "damage_level_code", "damage_level"),
    ("破损类型", "damage_types", "damage_type"),
    ("破损比例(%)", "damage_share", None),
    ("需要修复", "repair_needed", None),
    ("破损说明", "damage_notes", None),
    ("存放位置", "location", None),
    ("收藏单位", "holding_unit", None),
]
HEADINGS = [c[0] for c in COLUMNS]


def authors_cell(record: CensusRecord) -> str:
    return "；".join(a.display for a in record.authors)


def parse_authors(text: str, roles: Sequence[str]) -> list[AuthorInput]:
    """（清）戴震撰；（清）段玉裁注 → authors. The role is the longest known 著作方式 the entry
    ends with (the name must keep at least one character)."""
    out = []
    for part in re.split(r"[；;]", text or ""):
        part = part.strip()
        if not part:
            continue
        m = re.match(r"^[（(]([^）)]*)[）)]\s*(.*)$", part)
        dynasty, rest = (m.group(1).strip(), m.group(2).strip()) if m else ("", part)
        role = ""
        for r in sorted(roles, key=len, reverse=True):
            if rest.endswith(r) and len(rest) > len(r):
                role, rest = r, rest[: -len(r)]
                break
        out.append(AuthorInput(dynasty=dynasty, name=rest.strip(), role=role))
    return out


def _cell_value(record: CensusRecord, key: str, kind: str | None, labels: dict[tuple[str, str], str]) -> Any:
    if key == "authors":
        return authors_cell(record)
    value = getattr(record, key)
    if key == "damage_types":
        return "、".join(labels.get(("damage_type", c), c) for c in value)
    if key == "repair_needed":
        return "是" if value else "否"
    if kind == "grade":
        return GRADE_NAMES.get(value or "", "")
    if kind:
        return labels.get((kind, value), value) if value else ""
    return "" if value is None else value


def export_registration(session: Session, records: Sequence[CensusRecord]) -> bytes:
    """The census registration layout: one row per record, one column per census field."""
    labels = term_labels(session)
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "古籍普查登记"
    ws.append(HEADINGS)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for record in records:
        ws.append([_cell_value(record, key, kind, labels) for _h, key, kind in COLUMNS])
    ws.freeze_panes = "A2"
    for col, width in zip("ABCDEFGH", (22, 14, 8, 12, 30, 10, 30, 30), strict=True):
        ws.column_dimensions[col].width = width
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def catalogue_lines(record: CensusRecord, holder: str) -> list[str]:
    """The four lines of a published census catalogue entry."""
    volumes = f"{record.volumes}{record.volume_unit}"
    if record.extant:
        volumes += f"　{record.extant}"
    return [
        f"{record.census_no}　{record.call_number}".strip(),
        f"{record.title}{record.juan}　{authors_cell(record)}".strip(),
        record.edition_text,
        f"{volumes}　{record.holding_unit or holder}",
    ]


def export_catalogue(records: Sequence[CensusRecord], holder: str) -> bytes:
    """The published catalogue layout (《全国古籍普查登记目录》): four lines per entry in one cell
    column, entries separated by an empty row."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "古籍普查登记目录"
    ws.column_dimensions["A"].width = 70
    for record in records:
        for line in catalogue_lines(record, holder):
            ws.append([line])
            ws.cell(row=ws.max_row, column=1).alignment = Alignment(wrap_text=True)
        ws.append([])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


@dataclass
class RowReport:
    row: int
    census_no: str
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass
class ImportReport:
    rows: list[RowReport]
    created: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.rows)

    @property
    def error_rows(self) -> list[RowReport]:
        return [r for r in self.rows if not r.ok]


def _reverse(session: Session) -> dict[str, dict[str, str]]:
    """{kind: {label or code: code}} to read labels back."""
    out: dict[str, dict[str, str]] = {}
    for kind in ("bu", "lei", "edition_type", "binding", "damage_level", "damage_type"):
        m: dict[str, str] = {}
        for t in terms(session, kind, active_only=False):
            m[t.code] = t.code
            m[t.label] = t.code
        out[kind] = m
    out["grade"] = {**{v: k for k, v in GRADE_NAMES.items()}, **{k: k for k in GRADE_NAMES}}
    return out


def _row_data(values: dict[str, Any], reverse: dict[str, dict[str, str]], bu: str,
              errors: dict[str, str]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for heading, key, kind in COLUMNS:
        raw = values.get(heading)
        text = "" if raw is None else str(raw).strip()
        if key in ("census_no", "authors"):
            continue
        if key == "damage_types":
            codes = []
            for label in [p for p in re.split(r"[、,，;；]", text) if p.strip()]:
                code = reverse["damage_type"].get(label.strip())
                if code is None:
                    errors[heading] = _l("未知的破损类型：%(v0)s", v0=label)
                else:
                    codes.append(code)
            data[key] = codes
        elif key == "lei_code" and text:
            # 类 labels repeat across 部 (小说类): prefer the one under the row's 部
            candidates = [t for t in reverse["_lei_terms"] if text in (t[0], t[1])]  # type: ignore[index]
            pick = [c for c in candidates if c[2] == bu] or candidates
            if not pick:
                errors[heading] = _l("未知的类：%(v0)s", v0=text)
            else:
                data[key] = pick[0][0]
        elif kind and text:
            code = reverse[kind].get(text)
            if code is None:
                errors[heading] = _l("%(v0)s不在规范表中：%(v1)s", v0=heading, v1=text)
            else:
                data[key] = code
        elif key == "repair_needed":
            data[key] = text in ("是", "1", "true", "True", "Y", "y")
        else:
            data[key] = text
    return data


def import_registration(session: Session, content: bytes, *, prefix: str, staff: StaffUser | None,
                        now: dt.datetime, holding_unit: str = "") -> ImportReport:
    """Read a registration-layout workbook. Every row is validated first; when any row is wrong
    ImportFailed is raised with the report and nothing is written. Rows with a 普查编号 keep it
    (it must not exist yet); rows without get the next number. Imported records are drafts."""
    try:
        wb = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises several unrelated types for a bad file
        raise CensusInvalid({"file": _l("不是有效的 Excel 文件（.xlsx）：%(v0)s", v0=exc.__class__.__name__)}) from exc
    ws = wb.worksheets[0]
    rows = list(ws.iter_rows(values_only=True))
    if not rows or [str(h or "").strip() for h in rows[0][: len(HEADINGS)]] != HEADINGS:
        raise CensusInvalid({"file": _l("表头与普查登记格式不符，请使用本系统导出的模板")})
    reverse = _reverse(session)
    reverse["_lei_terms"] = [(t.code, t.label, t.parent_code) for t in terms(session, "lei", active_only=False)]  # type: ignore[assignment]
    roles = [t.label for t in terms(session, "author_role")]
    report = ImportReport(rows=[])
    prepared: list[tuple[RowReport, dict[str, Any], list[AuthorInput]]] = []
    seen: set[str] = set()
    from sqlalchemy import select

    for index, row in enumerate(rows[1:], start=2):
        if all(v in (None, "") for v in row):
            continue
        values = {h: row[i] if i < len(row) else None for i, h in enumerate(HEADINGS)}
        number = str(values["普查编号"] or "").strip()
        rr = RowReport(row=index, census_no=number)
        errors: dict[str, str] = {}
        bu = reverse["bu"].get(str(values["分类(部)"] or "").strip(), "")
        data = _row_data(values, reverse, bu, errors)
        authors = parse_authors(str(values["著者"] or ""), roles)
        try:
            validate_record_data(session, data, authors)
        except CensusInvalid as exc:
            errors.update(exc.errors)
        if number:
            if not re.fullmatch(r"\d{6}-\d{4}-\d{7}", number):
                errors["普查编号"] = _l("格式应为 PPPPPP-UUUU-NNNNNNN")
            elif number in seen:
                errors["普查编号"] = _l("文件中重复")
            elif session.scalar(select(CensusRecord.id).where(CensusRecord.census_no == number)) is not None:
                errors["普查编号"] = _l("系统中已存在")
            seen.add(number)
        rr.errors = errors
        report.rows.append(rr)
        prepared.append((rr, data, authors))
    if not report.ok:
        raise ImportFailed(count=len(report.error_rows)).with_report(report)
    for rr, data, authors in prepared:
        record = create_record(session, data=data, authors=authors, prefix=prefix, staff=staff, now=now,
                               holding_unit=holding_unit, census_no=rr.census_no or None)
        rr.census_no = record.census_no
        report.created.append(record.census_no)
    return report
