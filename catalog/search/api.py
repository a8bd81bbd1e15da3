"""JSON search API: GET /api/v1/search with the OPAC's parameters, answering
{"total": N, "page", "per_page", "hits": [{"id", "title", ...}], "facets": {...}, "suggestions": [...]}.
Availability in the hits is read from the database."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify, request, url_for

from catalog.search import results as res
from catalog.search import service
from catalog.search.params import has_criteria, query_from_args
from library.db import db_session

bp = Blueprint("search_api", __name__, url_prefix="/api/v1")


@bp.get("/search")
def search() -> Any:
    q = query_from_args(request.args)
    if not has_criteria(request.args):
        return jsonify({"total": 0, "page": q.page, "per_page": q.per_page, "hits": [], "facets": {},
                        "suggestions": []})
    result = service.search(current_app, q)
    session = db_session()
    hits = res.hit_views(session, result, q.node)
    facets = res.facet_views(session, result.facets)
    return jsonify({
        "total": result.total,
        "page": q.page,
        "per_page": q.per_page,
        "hits": [_hit_json(h) for h in hits],
        "facets": {f["name"]: [{"value": v["value"], "label": str(v["label"]), "count": v["count"]}
                               for v in f["values"]] for f in facets},
        "suggestions": result.suggestions,
    })


def _hit_json(h: res.HitView) -> dict[str, Any]:
    r = h.record
    return {
        "id": r.id,
        "title": r.title,
        "title_html": str(h.title_html),
        "responsibility": r.responsibility,
        "authors": r.authors or [],
        "publisher": r.publisher,
        "year": r.year,
        "isbns": r.isbns or [],
        "language": r.language,
        "material_type": r.material_type,
        "classification_clc": r.classification_clc,
        "call_number": r.call_number,
        "available": h.available,
        "branches": [{"code": c.branch.code, "name": c.branch.name, "available": c.available, "total": c.total}
                     for c in h.branches],
        "url": url_for("opac.record", record_id=r.id, _external=True),
    }


_PARAMS = [
    {"name": n, "in": "query", "required": False, "schema": {"type": t}, "description": d}
    for n, t, d in [
        ("q", "string", "Search box: words (all must match), \"phrases\", field:word, OR, NOT/-word"),
        ("title", "string", "Title words"), ("author", "string", "Author words"), ("subject", "string", "Subject words"),
        ("isbn", "string", "ISBN-10 or ISBN-13"), ("callno", "string", "Call number (prefix)"),
        ("publisher", "string", "Publisher words"), ("year_from", "integer", "Earliest year"),
        ("year_to", "integer", "Latest year"), ("branch", "string", "Branch id holding an available copy (repeatable)"),
        ("material", "string", "Material type (repeatable)"), ("language", "string", "Language code (repeatable)"),
        ("decade", "string", "Publication decade, e.g. 1990 (repeatable)"),
        ("clc", "string", "CLC top-level class letter (repeatable)"),
        ("sort", "string", "relevance | year | year_asc | title"), ("page", "integer", "Page (from 1)"),
        ("per_page", "integer", "Hits per page (1-100)"),
    ]
]
PATHS: dict[str, Any] = {
    "/search": {
        "get": {
            "summary": "Search the catalogue (same parameters as the OPAC)",
            "parameters": _PARAMS,
            "responses": {"200": {"description": "Hits, total and facets", "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/SearchResult"}}}}},
        }
    }
}
SCHEMAS: dict[str, Any] = {
    "SearchResult": {
        "type": "object",
        "required": ["total", "hits", "facets"],
        "properties": {
            "total": {"type": "integer"},
            "page": {"type": "integer"},
            "per_page": {"type": "integer"},
            "hits": {"type": "array", "items": {"type": "object", "required": ["id", "title"], "properties": {
                "id": {"type": "integer"}, "title": {"type": "string"}, "title_html": {"type": "string"},
                "responsibility": {"type": "string"}, "authors": {"type": "array", "items": {"type": "string"}},
                "publisher": {"type": "string"}, "year": {"type": ["integer", "null"]},
                "isbns": {"type": "array", "items": {"type": "string"}}, "language": {"type": "string"},
                "material_type": {"type": "string"}, "classification_clc": {"type": "string"},
                "call_number": {"type": "string"}, "available": {"type": "integer"},
                "branches": {"type": "array", "items": {"type": "object", "properties": {
                    "code": {"type": "string"}, "name": {"type": "string"},
                    "available": {"type": "integer"}, "total": {"type": "integer"}}}},
                "url": {"type": "string"}}}},
            "facets": {"type": "object", "additionalProperties": {"type": "array", "items": {
                "type": "object", "properties": {"value": {"type": "string"}, "label": {"type": "string"},
                                                 "count": {"type": "integer"}}}}},
            "suggestions": {"type": "array", "items": {"type": "string"}},
        },
    }
}
