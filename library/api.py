"""The JSON API under /api/v1 (staff authenticate with bearer tokens or their session), and
its OpenAPI document. Other packages add routes to ``bp`` from their own ``api.py`` and
describe them with ``library.registry.register_openapi_paths``."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, abort, current_app, jsonify, request
from sqlalchemy import select

from library.auth import staff_required
from library.db import db_session
from library.models import Branch, Reader
from library.services import get_reader_by_card

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def register_api_blueprint(app: Flask, blueprint: Blueprint, paths: dict[str, Any] | None = None,
                           schemas: dict[str, Any] | None = None) -> None:
    """Register a package's API blueprint (its url_prefix starts with /api/v1) and describe its
    paths in the OpenAPI document. API requests are exempt from form CSRF tokens; a write
    without a bearer token must then be JSON, which a cross-site form cannot send."""
    from library.extensions import csrf
    from library.registry import register_openapi_paths

    names: set[str] = app.extensions.setdefault("library.api_blueprints", set())
    if not names:

        @app.before_request
        def _json_writes_only() -> None:
            if request.blueprint in names and request.method in ("POST", "PUT", "PATCH", "DELETE") and not (
                request.headers.get("Authorization", "").startswith("Bearer ") or request.is_json
            ):
                abort(415)

    names.add(blueprint.name)
    csrf.exempt(blueprint)
    app.register_blueprint(blueprint)
    register_openapi_paths(app, paths or {}, schemas)


def branch_json(b: Branch) -> dict[str, Any]:
    return {
        "code": b.code,
        "name": b.name,
        "name_en": b.name_en,
        "kind": b.kind,
        "parent": b.parent.code if b.parent else None,
        "address": b.address,
        "phone": b.phone,
        "township": b.township.name if b.township else None,
        "village": b.village.name if b.village else None,
        "opening_hours": [
            {"weekday": h.weekday, "opens": h.opens.strftime("%H:%M"), "closes": h.closes.strftime("%H:%M")}
            for h in b.opening_hours
        ],
    }


def reader_json(r: Reader) -> dict[str, Any]:
    return {
        "card_number": r.card_number,
        "name": r.name,
        "category": r.category_code,
        "home_branch": r.home_branch.code,
        "phone": r.phone,
        "card_expires_on": r.card_expires_on.isoformat(),
        "status": r.status,
    }


@bp.get("/branches")
def list_branches() -> Any:
    branches = db_session().scalars(select(Branch).where(Branch.active.is_(True)).order_by(Branch.code))
    return jsonify({"branches": [branch_json(b) for b in branches]})


@bp.get("/readers/<card_number>")
@staff_required("circulation", "organiser")
def get_reader(card_number: str) -> Any:
    return jsonify(reader_json(get_reader_by_card(db_session(), card_number)))


CORE_PATHS: dict[str, Any] = {
    "/branches": {
        "get": {
            "summary": "List the branches of the network",
            "responses": {"200": {"description": "Branches", "content": {"application/json": {
                "schema": {"type": "object", "properties": {
                    "branches": {"type": "array", "items": {"$ref": "#/components/schemas/Branch"}}}}}}}},
        }
    },
    "/readers/{card_number}": {
        "get": {
            "summary": "A reader by card number (staff)",
            "security": [{"bearerAuth": []}],
            "parameters": [{"name": "card_number", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {
                "200": {"description": "The reader", "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Reader"}}}},
                "401": {"$ref": "#/components/responses/Error"},
                "403": {"$ref": "#/components/responses/Error"},
                "404": {"$ref": "#/components/responses/Error"},
            },
        }
    },
}

CORE_SCHEMAS: dict[str, Any] = {
    "Error": {"type": "object", "required": ["error"], "properties": {"error": {
        "type": "object", "required": ["code", "message"],
        "properties": {"code": {"type": "string"}, "message": {"type": "string"}}}}},
    "Branch": {"type": "object", "properties": {
        "code": {"type": "string"}, "name": {"type": "string"}, "name_en": {"type": ["string", "null"]},
        "kind": {"type": "string", "enum": ["central", "branch", "service_point", "mobile"]},
        "parent": {"type": ["string", "null"]}, "address": {"type": "string"}, "phone": {"type": "string"},
        "township": {"type": ["string", "null"]}, "village": {"type": ["string", "null"]},
        "opening_hours": {"type": "array", "items": {"type": "object"}}}},
    "Reader": {"type": "object", "properties": {
        "card_number": {"type": "string"}, "name": {"type": "string"}, "category": {"type": "string"},
        "home_branch": {"type": "string"}, "phone": {"type": "string"},
        "card_expires_on": {"type": "string", "format": "date"}, "status": {"type": "string"}}},
}


@bp.get("/openapi.json")
def openapi() -> Any:
    doc = current_app.extensions.get("library.openapi", {"paths": {}, "schemas": {}})
    return jsonify({
        "openapi": "3.1.0",
        "info": {"title": "District library API", "version": "1"},
        "servers": [{"url": "/api/v1"}],
        "paths": dict(sorted(doc["paths"].items())),
        "components": {
            "schemas": doc["schemas"],
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
            "responses": {"Error": {"description": "An error", "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/Error"}}}}},
        },
    })
