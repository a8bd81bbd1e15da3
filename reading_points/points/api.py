"""JSON API of the points scheme: a reader's points and placing a redemption. Staff (bearer
token or session, circulation role) may act for any reader; a logged-in reader for themselves."""

from __future__ import annotations

from typing import Any, cast

from flask import Blueprint, abort, jsonify, request
from flask_login import current_user
from sqlalchemy import select

from library import clock
from library.db import db_session
from library.errors import ValidationFailed
from library.models import Reader
from library.services import get_branch_by_code, get_reader_by_card
from reading_points.points import queries, services
from reading_points.points.ledger import account_for

bp = Blueprint("points_api", __name__, url_prefix="/api/v1")


def _reader_allowed(card_number: str) -> Reader:
    user = cast(Any, current_user)
    if not user.is_authenticated:
        abort(401)
    reader = get_reader_by_card(db_session(), card_number)
    if getattr(user, "is_staff", False):
        if not user.has_role("circulation"):
            abort(403)
    elif not (getattr(user, "is_reader", False) and user.id == reader.id):
        abort(403)
    return reader


def entry_json(e: Any) -> dict[str, Any]:
    return {"id": e.id, "kind": e.kind, "rule": e.rule or None, "points": e.amount, "held_change": e.held_change,
            "balance_after": e.balance_after, "reason": e.reason, "created_at": e.created_at.isoformat(),
            "reverses": e.reverses_id}


@bp.get("/readers/<card_number>/points")
def reader_points(card_number: str) -> Any:
    reader = _reader_allowed(card_number)
    session = db_session()
    account = account_for(session, reader.id)
    if account is None:
        return jsonify({"card_number": reader.card_number, "balance": 0, "held": 0, "expiring_soon": [],
                        "recent_entries": []})
    page = queries.history(session, account.id, per_page=20)
    return jsonify({
        "card_number": reader.card_number,
        "balance": account.balance,
        "held": account.held,
        "expiring_soon": [{"expires_on": d.isoformat(), "points": n}
                          for d, n in queries.expiring_soon(session, account, clock.now())],
        "recent_entries": [entry_json(e) for e in page.entries],
    })


@bp.post("/redemptions")
def create_redemption() -> Any:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ValidationFailed(detail="JSON object expected")
    card, reward_id, branch_code = data.get("card_number"), data.get("reward_id"), data.get("branch_code")
    key = data.get("idempotency_key")
    if not isinstance(card, str) or not isinstance(reward_id, int) or not isinstance(branch_code, str):
        raise ValidationFailed(detail="card_number (string), reward_id (integer), branch_code (string) are required")
    if key is not None and (not isinstance(key, str) or not 1 <= len(key) <= 100):
        raise ValidationFailed(detail="idempotency_key must be a string of 1-100 characters")
    reader = _reader_allowed(card)
    session = db_session()
    branch = get_branch_by_code(session, branch_code)
    existing = None
    if key:
        from reading_points.points.models import Redemption

        existing = session.scalar(select(Redemption.id).where(Redemption.idempotency_key == f"api:{key}"))
    redemption = services.redeem(session, reader_id=reader.id, reward_id=reward_id, branch_id=branch.id,
                                 now=clock.now(), idempotency_key=f"api:{key}" if key else None)
    session.commit()
    body = {"id": redemption.id, "status": redemption.status, "points": redemption.points,
            "reward_id": redemption.reward_id, "branch_code": branch.code,
            "expires_at": redemption.expires_at.isoformat()}
    return jsonify(body), 200 if existing else 201


_error = {"$ref": "#/components/responses/Error"}
PATHS: dict[str, Any] = {
    "/readers/{card_number}/points": {"get": {
        "summary": "A reader's points: balance, held, expiring soon, recent entries (staff or the reader)",
        "security": [{"bearerAuth": []}],
        "parameters": [{"name": "card_number", "in": "path", "required": True, "schema": {"type": "string"}}],
        "responses": {"200": {"description": "Points", "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/ReaderPoints"}}}},
            "401": _error, "403": _error, "404": _error},
    }},
    "/redemptions": {"post": {
        "summary": "Redeem a reward: holds the points and one unit of the branch's stock",
        "security": [{"bearerAuth": []}],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "$ref": "#/components/schemas/RedemptionRequest"}}}},
        "responses": {"201": {"description": "Created", "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/Redemption"}}}},
            "200": {"description": "Already created with this idempotency key", "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/Redemption"}}}},
            "401": _error, "403": _error, "404": _error, "409": _error, "422": _error},
    }},
}

SCHEMAS: dict[str, Any] = {
    "PointsEntry": {"type": "object", "properties": {
        "id": {"type": "integer"}, "kind": {"type": "string", "enum": list(
            ("earn", "redeem", "hold", "release", "expire", "penalty", "reverse", "adjust"))},
        "rule": {"type": ["string", "null"]}, "points": {"type": "integer"}, "held_change": {"type": "integer"},
        "balance_after": {"type": "integer"}, "reason": {"type": "string"},
        "created_at": {"type": "string", "format": "date-time"}, "reverses": {"type": ["integer", "null"]}}},
    "ReaderPoints": {"type": "object", "required": ["card_number", "balance", "held", "expiring_soon", "recent_entries"],
                     "properties": {
        "card_number": {"type": "string"}, "balance": {"type": "integer"}, "held": {"type": "integer"},
        "expiring_soon": {"type": "array", "items": {"type": "object", "properties": {
            "expires_on": {"type": "string", "format": "date"}, "points": {"type": "integer"}}}},
        "recent_entries": {"type": "array", "items": {"$ref": "#/components/schemas/PointsEntry"}}}},
    "RedemptionRequest": {"type": "object", "required": ["card_number", "reward_id", "branch_code"], "properties": {
        "card_number": {"type": "string"}, "reward_id": {"type": "integer"}, "branch_code": {"type": "string"},
        "idempotency_key": {"type": "string", "maxLength": 100}}},
    "Redemption": {"type": "object", "properties": {
        "id": {"type": "integer"}, "status": {"type": "string", "enum": ["held", "settled", "released"]},
        "points": {"type": "integer"}, "reward_id": {"type": "integer"}, "branch_code": {"type": "string"},
        "expires_at": {"type": "string", "format": "date-time"}}},
}
