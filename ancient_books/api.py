"""JSON API of the census under /api/v1/ancient-books: reading a reign-year date, searching
census records and reading one (staff of the census roles)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request

from ancient_books import ROLES
from ancient_books.models import CensusRecord
from ancient_books.reign import ReignDateError, edition_date_part, parse_reign_date
from ancient_books.services import get_record, search_records, term_labels
from library.auth import staff_required
from library.db import db_session
from library.errors import ValidationFailed

bp = Blueprint("ancient_books_api", __name__, url_prefix="/api/v1/ancient-books")


def record_json(record: CensusRecord, labels: dict[tuple[str, str], str]) -> dict[str, Any]:
    return {
        "census_no": record.census_no,
        "call_number": record.call_number,
        "bu": labels.get(("bu", record.bu_code), ""),
        "lei": labels.get(("lei", record.lei_code), ""),
        "title": record.title,
        "juan": record.juan,
        "authors": [{"dynasty": a.dynasty, "name": a.name, "role": a.role} for a in record.authors],
        "edition": {"text": record.edition_text, "year_from": record.edition_year_from,
                    "year_to": record.edition_year_to, "ganzhi": record.edition_ganzhi or None,
                    "circa": record.edition_circa,
                    "type": labels.get(("edition_type", record.edition_type_code), "")},
        "volumes": record.volumes,
        "volume_unit": record.volume_unit,
        "grade": record.grade_text,
        "damage_level": labels.get(("damage_level", record.damage_level_code), ""),
        "status": record.status,
        "published": record.published_at is not None,
    }


@bp.get("/parse-date")
@staff_required(*ROLES)
def parse_date() -> Any:
    """The Gregorian reading of ``text`` (422 with the parser's message when it is no date).
    With ``edition=1`` the text is an edition statement (明萬曆間刻本): the date before the
    edition words is read."""
    text = request.args.get("text", "").strip()
    if not text:
        raise ValidationFailed(detail="text")
    part = edition_date_part(text) if request.args.get("edition") == "1" else text
    try:
        parsed = parse_reign_date(part or text)
        parsed.original = text
        return jsonify(parsed.to_json())
    except ReignDateError as exc:
        raise ValidationFailed(detail=exc.message) from exc


@bp.get("/records")
@staff_required(*ROLES)
def list_records() -> Any:
    session = db_session()
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    records, total = search_records(session, query=request.args.get("q", ""),
                                    status=request.args.get("status") or None, page=page, per_page=50)
    labels = term_labels(session)
    return jsonify({"total": total, "page": page, "records": [record_json(r, labels) for r in records]})


@bp.get("/records/<census_no>")
@staff_required(*ROLES)
def get_census_record(census_no: str) -> Any:
    session = db_session()
    return jsonify(record_json(get_record(session, census_no), term_labels(session)))


_ERR = {"$ref": "#/components/responses/Error"}
PATHS: dict[str, Any] = {
    "/ancient-books/parse-date": {"get": {
        "summary": "Read a reign-year date (清乾隆三十年 → 1765 乙酉)", "operationId": "parseReignDate",
        "parameters": [{"name": "text", "in": "query", "required": True, "schema": {"type": "string"}},
                       {"name": "edition", "in": "query", "required": False,
                        "schema": {"type": "string", "enum": ["1"]}}],
        "responses": {"200": {"description": "The reading", "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/ReignDate"}}}}, "422": _ERR},
    }},
    "/ancient-books/records": {"get": {
        "summary": "Search census records (title, author, edition, number, call number; 繁简通检)",
        "operationId": "searchCensusRecords",
        "parameters": [{"name": "q", "in": "query", "required": False, "schema": {"type": "string"}},
                       {"name": "status", "in": "query", "required": False,
                        "schema": {"type": "string", "enum": ["draft", "submitted", "returned", "approved"]}},
                       {"name": "page", "in": "query", "required": False, "schema": {"type": "integer"}}],
        "responses": {"200": {"description": "Records", "content": {"application/json": {"schema": {
            "type": "object", "properties": {"total": {"type": "integer"}, "page": {"type": "integer"},
                                             "records": {"type": "array",
                                                         "items": {"$ref": "#/components/schemas/CensusRecord"}}}}}}}},
    }},
    "/ancient-books/records/{census_no}": {"get": {
        "summary": "One census record by its 普查编号", "operationId": "getCensusRecord",
        "parameters": [{"name": "census_no", "in": "path", "required": True, "schema": {"type": "string"}}],
        "responses": {"200": {"description": "The record", "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/CensusRecord"}}}}, "404": _ERR},
    }},
}
SCHEMAS: dict[str, Any] = {
    "ReignDate": {"type": "object", "required": ["original", "year_from", "year_to", "ganzhi", "circa"],
                  "properties": {"original": {"type": "string"}, "year_from": {"type": "integer"},
                                 "year_to": {"type": "integer"}, "ganzhi": {"type": ["string", "null"]},
                                 "circa": {"type": "boolean"}, "dynasty": {"type": ["string", "null"]},
                                 "era": {"type": ["string", "null"]}, "era_year": {"type": ["integer", "null"]},
                                 "note": {"type": "string"}, "alternatives": {"type": "array",
                                                                              "items": {"type": "integer"}}}},
    "CensusRecord": {"type": "object", "required": ["census_no", "title", "status"],
                     "properties": {"census_no": {"type": "string"}, "title": {"type": "string"},
                                    "status": {"type": "string"}, "authors": {"type": "array"},
                                    "edition": {"type": "object"}, "volumes": {"type": "integer"}}},
}
