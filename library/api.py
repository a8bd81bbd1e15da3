"""The JSON API under /api/v1 (staff authenticate with bearer tokens or their session), and
its OpenAPI document. Other packages add routes to ``bp`` from their own ``api.py`` and
describe them with ``library.registry.register_openapi_paths``."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, Flask, abort, current_app, jsonify, request, url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from library import services
from library.auth import current_staff, staff_required
from library.db import db_session
from library.errors import NotFound, ValidationFailed
from library.models import BRANCH_KINDS, Branch, Reader
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
        "floating": b.floating,
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
        "national_id_last4": r.national_id_last4,
    }


@bp.get("/branches")
def list_branches() -> Any:
    """The active branches of the network (public), optionally of one ``kind``."""
    stmt = select(Branch).where(Branch.active.is_(True)).order_by(Branch.code)
    kind = request.args.get("kind", "").strip()
    if kind:
        if kind not in BRANCH_KINDS:
            raise ValidationFailed(detail="kind")
        stmt = stmt.where(Branch.kind == kind)
    return jsonify({"branches": [branch_json(b) for b in db_session().scalars(stmt)]})


@bp.get("/branches/<code>")
def get_branch(code: str) -> Any:
    branch = services.get_branch_by_code(db_session(), code)
    if not branch.active:
        raise NotFound(what=code)
    return jsonify(branch_json(branch))


@bp.get("/readers/<card_number>")
@staff_required("circulation", "organiser")
def get_reader(card_number: str) -> Any:
    return jsonify(reader_json(get_reader_by_card(db_session(), card_number)))


@bp.get("/readers")
@staff_required("circulation", "organiser")
def search_readers() -> Any:
    """Readers by card number, phone, name (contains) or full national ID number (``q``)."""
    q = request.args.get("q", "").strip()
    if not q:
        raise ValidationFailed(detail="q")
    limit = min(max(request.args.get("limit", 50, type=int) or 50, 1), 200)
    found = services.search_readers(db_session(), q, secret_key=current_app.config["SECRET_KEY"], limit=limit)
    return jsonify({"readers": [reader_json(r) for r in found]})


READER_FIELDS = {"card_number", "name", "category", "home_branch", "pin", "card_expires_on", "phone", "email",
                 "national_id"}


@bp.post("/readers")
@staff_required("circulation")
def create_reader() -> Any:
    """Register a reader (JSON body). 201 with the reader; 409 ``duplicate`` for a taken card
    number, 422 ``validation_failed`` for a missing or bad field."""
    from library import audit, clock

    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ValidationFailed(detail=_l("请求体须为 JSON 对象"))
    unknown = set(body) - READER_FIELDS
    if unknown:
        raise ValidationFailed(detail=", ".join(sorted(unknown)))
    for key in ("card_number", "name", "home_branch", "pin"):
        if not isinstance(body.get(key), str) or not body[key].strip():
            raise ValidationFailed(detail=key)
    for key in ("category", "card_expires_on", "phone", "email", "national_id"):
        if body.get(key) is not None and not isinstance(body[key], str):
            raise ValidationFailed(detail=key)
    from library.reader_views import DEFAULT_CARD_YEARS, years_later

    try:
        expires = (dt.date.fromisoformat(body["card_expires_on"]) if body.get("card_expires_on")
                   else years_later(clock.now().date(), DEFAULT_CARD_YEARS))
    except ValueError as exc:
        raise ValidationFailed(detail="card_expires_on") from exc
    session = db_session()
    try:
        branch = services.get_branch_by_code(session, body["home_branch"].strip())
    except NotFound as exc:
        raise ValidationFailed(detail="home_branch") from exc
    staff = current_staff()
    reader = services.create_reader(
        session, card_number=body["card_number"], name=body["name"], category_code=body.get("category") or "adult",
        home_branch=branch, pin=body["pin"], card_expires_on=expires, phone=body.get("phone") or "",
        email=body.get("email") or "", national_id=body.get("national_id") or None,
        secret_key=current_app.config["SECRET_KEY"],
    )
    audit.record(session, action="reader.register", staff=staff, target_type="reader", target_id=reader.id,
                 details={"card": reader.card_number, "via": "api"})
    session.commit()
    response = jsonify(reader_json(reader))
    response.status_code = 201
    response.headers["Location"] = url_for("api.get_reader", card_number=reader.card_number)
    return response


CORE_PATHS: dict[str, Any] = {
    "/branches": {
        "get": {
            "summary": "List the active branches of the network (public)",
            "operationId": "listBranches",
            "parameters": [{"name": "kind", "in": "query", "required": False,
                            "schema": {"type": "string", "enum": list(BRANCH_KINDS)}}],
            "responses": {
                "200": {"description": "Branches", "content": {"application/json": {
                    "schema": {"type": "object", "required": ["branches"], "properties": {
                        "branches": {"type": "array", "items": {"$ref": "#/components/schemas/Branch"}}}}}}},
                "422": {"$ref": "#/components/responses/Error"},
            },
        }
    },
    "/branches/{code}": {
        "get": {
            "summary": "One active branch by its code (public)",
            "operationId": "getBranch",
            "parameters": [{"name": "code", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {
                "200": {"description": "The branch", "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Branch"}}}},
                "404": {"$ref": "#/components/responses/Error"},
            },
        }
    },
    "/readers": {
        "get": {
            "summary": "Find readers by card number, phone, name or full national ID number (staff)",
            "operationId": "searchReaders",
            "security": [{"bearerAuth": []}],
            "parameters": [
                {"name": "q", "in": "query", "required": True, "schema": {"type": "string", "minLength": 1}},
                {"name": "limit", "in": "query", "required": False,
                 "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}},
            ],
            "responses": {
                "200": {"description": "Matching readers", "content": {"application/json": {
                    "schema": {"type": "object", "required": ["readers"], "properties": {
                        "readers": {"type": "array", "items": {"$ref": "#/components/schemas/Reader"}}}}}}},
                "401": {"$ref": "#/components/responses/Error"},
                "403": {"$ref": "#/components/responses/Error"},
                "422": {"$ref": "#/components/responses/Error"},
            },
        },
        "post": {
            "summary": "Register a reader (circulation staff)",
            "operationId": "createReader",
            "security": [{"bearerAuth": []}],
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/ReaderCreate"}}}},
            "responses": {
                "201": {"description": "The new reader", "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Reader"}}}},
                "401": {"$ref": "#/components/responses/Error"},
                "403": {"$ref": "#/components/responses/Error"},
                "409": {"$ref": "#/components/responses/Error"},
                "415": {"$ref": "#/components/responses/Error"},
                "422": {"$ref": "#/components/responses/Error"},
            },
        },
    },
    "/readers/{card_number}": {
        "get": {
            "summary": "A reader by card number (staff)",
            "operationId": "getReader",
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
        "floating": {"type": "boolean"},
        "opening_hours": {"type": "array", "items": {"type": "object", "required": ["weekday", "opens", "closes"],
                                                     "properties": {
                                                         "weekday": {"type": "integer", "minimum": 0, "maximum": 6,
                                                                     "description": "0 = Monday"},
                                                         "opens": {"type": "string", "pattern": "^\\d{2}:\\d{2}$"},
                                                         "closes": {"type": "string", "pattern": "^\\d{2}:\\d{2}$"}}}}},
        "required": ["code", "name", "kind"]},
    "Reader": {"type": "object", "required": ["card_number", "name", "category", "home_branch", "status"], "properties": {
        "card_number": {"type": "string"}, "name": {"type": "string"}, "category": {"type": "string"},
        "home_branch": {"type": "string", "description": "branch code"}, "phone": {"type": "string"},
        "card_expires_on": {"type": "string", "format": "date"},
        "status": {"type": "string", "enum": ["active", "expired", "lost_card", "blocked"]},
        "national_id_last4": {"type": ["string", "null"]}}},
    "ReaderCreate": {"type": "object", "additionalProperties": False,
                     "required": ["card_number", "name", "home_branch", "pin"], "properties": {
        "card_number": {"type": "string", "maxLength": 32}, "name": {"type": "string", "maxLength": 100},
        "category": {"type": "string", "default": "adult", "description": "a reader category code"},
        "home_branch": {"type": "string", "description": "branch code"},
        "pin": {"type": "string", "pattern": "^\\d{4,8}$"},
        "card_expires_on": {"type": "string", "format": "date", "description": "default: three years from today"},
        "phone": {"type": "string"}, "email": {"type": "string"},
        "national_id": {"type": "string", "description": "stored only as a keyed hash and its last four characters"}}},
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
