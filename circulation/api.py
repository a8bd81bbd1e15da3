"""The circulation JSON API for counters and apps: loans, returns, renewals and holds.
Errors come back as 4xx ``{"error": {"code", "message"}}`` (409 for refusals)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Flask, jsonify, request
from sqlalchemy.orm import Session

from circulation import services
from circulation.errors import BranchNotFound
from circulation.loans import CheckinResult
from circulation.models import Hold, Loan
from circulation.pull_list import PullList, pull_list
from circulation.views import after_commit
from library import clock
from library.auth import current_staff, staff_required
from library.db import db_session
from library.errors import LibraryError, PermissionDenied, ValidationFailed
from library.models import Branch
from library.services import find_branch_by_code

bp = Blueprint("circulation_api", __name__, url_prefix="/api/v1")


def loan_json(loan: Loan) -> dict[str, Any]:
    return {
        "id": loan.id,
        "item_barcode": loan.item.barcode,
        "title": loan.item.record.title if loan.item.record else "",
        "card_number": loan.reader.card_number if loan.reader is not None else None,  # None: anonymised
        "branch": loan.branch.code,
        "state": loan.state,
        "checked_out_at": loan.checked_out_at.isoformat(),
        "due_on": loan.due_on.isoformat(),
        "renewals": loan.renewals,
        "returned_at": loan.returned_at.isoformat() if loan.returned_at else None,
    }


def hold_json(hold: Hold) -> dict[str, Any]:
    return {
        "id": hold.id,
        "record_id": hold.record_id,
        "item_barcode": hold.item.barcode if hold.item else None,
        "card_number": hold.reader.card_number,
        "pickup_branch": hold.pickup_branch.code,
        "state": hold.state,
        "created_at": hold.created_at.isoformat(),
        "expires_on": hold.expires_on.isoformat() if hold.expires_on else None,
        "trapped_item_barcode": hold.trapped_item.barcode if hold.trapped_item else None,
    }


def checkin_json(r: CheckinResult) -> dict[str, Any]:
    return {
        "item_barcode": r.item.barcode,
        "action": r.action,
        "destination": r.destination.code if r.destination else None,
        "hold_id": r.hold.id if r.hold else None,
        "on_time": r.on_time,
        "loan": loan_json(r.loan) if r.loan else None,
        "item_status": r.item.status,
    }


def _body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ValidationFailed(detail="JSON object expected")
    return data


def _text(data: dict[str, Any], key: str, required: bool = True) -> str:
    value = data.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ValidationFailed(detail=f"{key} is required")
        return ""
    if not isinstance(value, str | int):
        raise ValidationFailed(detail=f"{key} must be a string")
    return str(value).strip()


def _branch(code: str) -> Branch:
    branch = find_branch_by_code(db_session(), code)
    if branch is None:
        raise BranchNotFound(code=code)
    if not current_staff().can_act_at("circulation", branch.id):
        raise PermissionDenied()
    return branch


def _error(exc: LibraryError) -> Any:
    db_session().rollback()
    return jsonify(exc.to_dict()), exc.status


def _write(work: Callable[[Session], dict[str, Any]], status: int) -> Any:
    """One write request: ``work`` runs in the request's transaction and returns the JSON body;
    then commit and let the search index follow. A LibraryError rolls back and answers with its
    code and message (409, 404, 403, 400…)."""
    s = db_session()
    try:
        body = work(s)
        s.commit()
    except LibraryError as exc:
        return _error(exc)
    after_commit()
    return jsonify(body), status


@bp.post("/loans")
@staff_required("circulation")
def create_loan() -> Any:
    def work(s: Session) -> dict[str, Any]:
        data = _body()
        return loan_json(services.checkout(
            s, item_barcode=_text(data, "item_barcode"), card_number=_text(data, "card_number"),
            branch=_branch(_text(data, "branch")), now=clock.now(), staff=current_staff(),
            override_reason=_text(data, "override_reason", required=False) or None))
    return _write(work, 201)


@bp.post("/returns")
@staff_required("circulation")
def create_return() -> Any:
    def work(s: Session) -> dict[str, Any]:
        data = _body()
        return checkin_json(services.checkin(s, item_barcode=_text(data, "item_barcode"),
                                             branch=_branch(_text(data, "branch")), now=clock.now(),
                                             staff=current_staff()))
    return _write(work, 200)


@bp.post("/renewals")
@staff_required("circulation")
def create_renewal() -> Any:
    def work(s: Session) -> dict[str, Any]:
        data = _body()
        return loan_json(services.renew(s, item_barcode=_text(data, "item_barcode"), now=clock.now(),
                                        card_number=_text(data, "card_number", required=False) or None,
                                        staff=current_staff()))
    return _write(work, 200)


@bp.post("/holds")
@staff_required("circulation")
def create_hold() -> Any:
    def work(s: Session) -> dict[str, Any]:
        data = _body()
        record_id = data.get("record_id")
        if record_id is not None and not isinstance(record_id, int):
            raise ValidationFailed(detail="record_id must be an integer")
        barcode = _text(data, "item_barcode", required=False) or None
        if record_id is None and barcode is None:
            raise ValidationFailed(detail="record_id or item_barcode is required")
        return hold_json(services.place_hold(s, card_number=_text(data, "card_number"),
                                             pickup_branch=_branch(_text(data, "pickup_branch")), now=clock.now(),
                                             record_id=record_id, item_barcode=barcode, staff=current_staff()))
    return _write(work, 201)


@bp.delete("/holds/<int:hold_id>")
@staff_required("circulation")
def delete_hold(hold_id: int) -> Any:
    return _write(lambda s: hold_json(services.cancel_hold(s, hold_id=hold_id, now=clock.now(),
                                                           staff=current_staff())), 200)


@bp.get("/readers/<card_number>/loans")
@staff_required("circulation")
def reader_loans(card_number: str) -> Any:
    from circulation.common import reader_by_card

    s = db_session()
    try:
        reader = reader_by_card(s, card_number)
    except LibraryError as exc:
        return jsonify(exc.to_dict()), exc.status
    summary = services.reader_summary(s, reader, clock.now())
    return jsonify({"card_number": reader.card_number, "loans": [loan_json(x) for x in summary.loans],
                    "holds": [hold_json(h) for h in summary.holds], "charges_total": str(summary.charges_total),
                    "blocks": [{"code": b.code, "message": b.message} for b in summary.blocks]})


def pull_list_json(pulls: PullList) -> dict[str, Any]:
    return {
        "branch": pulls.branch.code,
        "count": pulls.count,
        "lines": [{
            "hold_id": line.hold.id,
            "record_id": line.hold.record_id,
            "title": line.title,
            "call_number": line.call_number,
            "shelf_location": line.shelf_location,
            "item_barcodes": line.barcodes,
            "item_level": line.item_level,
            "pickup_branch": line.pickup_branch.code,
            "placed_at": line.placed_at.isoformat(),
        } for line in pulls.lines],
    }


@bp.get("/branches/<code>/pull-list")
@staff_required("circulation")
def branch_pull_list(code: str) -> Any:
    """The branch's holds pull list (取书单): waiting holds a copy on its shelf can fill."""
    s = db_session()
    try:
        branch = _branch(code)
    except LibraryError as exc:
        return _error(exc)
    return jsonify(pull_list_json(pull_list(s, branch))), 200


def _op(summary: str, body_schema: dict[str, Any], ok: str, ok_schema: str) -> dict[str, Any]:
    return {
        "summary": summary,
        "security": [{"bearerAuth": []}],
        "requestBody": {"required": True, "content": {"application/json": {"schema": body_schema}}},
        "responses": {
            ok: {"description": "Done", "content": {"application/json": {
                "schema": {"$ref": f"#/components/schemas/{ok_schema}"}}}},
            "401": {"$ref": "#/components/responses/Error"},
            "403": {"$ref": "#/components/responses/Error"},
            "404": {"$ref": "#/components/responses/Error"},
            "409": {"$ref": "#/components/responses/Error"},
            "422": {"$ref": "#/components/responses/Error"},
        },
    }


def _obj(required: list[str], **props: Any) -> dict[str, Any]:
    return {"type": "object", "required": required, "properties": props}


S = {"type": "string"}
PATHS: dict[str, Any] = {
    "/loans": {"post": _op("Check a copy out to a reader at a branch",
                           _obj(["item_barcode", "card_number", "branch"], item_barcode=S, card_number=S, branch=S,
                                override_reason=S), "201", "Loan")},
    "/returns": {"post": _op("Return a copy at a branch (return anywhere); says what to do with it",
                             _obj(["item_barcode", "branch"], item_barcode=S, branch=S), "200", "CheckinResult")},
    "/renewals": {"post": _op("Renew a loan", _obj(["item_barcode"], item_barcode=S, card_number=S), "200", "Loan")},
    "/holds": {"post": _op("Place a title-level (record_id) or item-level (item_barcode) hold",
                           _obj(["card_number", "pickup_branch"], card_number=S, pickup_branch=S,
                                record_id={"type": "integer"}, item_barcode=S), "201", "Hold")},
    "/holds/{hold_id}": {"delete": {
        "summary": "Cancel a hold", "security": [{"bearerAuth": []}],
        "parameters": [{"name": "hold_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
        "responses": {"200": {"description": "Cancelled", "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/Hold"}}}},
            "404": {"$ref": "#/components/responses/Error"}, "409": {"$ref": "#/components/responses/Error"}}}},
    "/readers/{card_number}/loans": {"get": {
        "summary": "A reader's open loans, active holds, charges and blocks", "security": [{"bearerAuth": []}],
        "parameters": [{"name": "card_number", "in": "path", "required": True, "schema": S}],
        "responses": {"200": {"description": "The account"}, "404": {"$ref": "#/components/responses/Error"}}}},
    "/branches/{code}/pull-list": {"get": {
        "summary": "The branch's holds pull list: waiting holds (oldest first) that a copy on its shelf can fill",
        "security": [{"bearerAuth": []}],
        "parameters": [{"name": "code", "in": "path", "required": True, "schema": S}],
        "responses": {"200": {"description": "The pull list", "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/PullList"}}}},
            "403": {"$ref": "#/components/responses/Error"}, "404": {"$ref": "#/components/responses/Error"}}}},
}
SCHEMAS: dict[str, Any] = {
    "Loan": {"type": "object", "properties": {
        "id": {"type": "integer"}, "item_barcode": S, "title": S, "card_number": {"type": ["string", "null"]},
        "branch": S, "state": {"type": "string", "enum": ["on_loan", "returned", "lost"]},
        "checked_out_at": {"type": "string", "format": "date-time"}, "due_on": {"type": "string", "format": "date"},
        "renewals": {"type": "integer"}, "returned_at": {"type": ["string", "null"], "format": "date-time"}}},
    "Hold": {"type": "object", "properties": {
        "id": {"type": "integer"}, "record_id": {"type": "integer"}, "item_barcode": {"type": ["string", "null"]},
        "card_number": S, "pickup_branch": S,
        "state": {"type": "string", "enum": ["waiting", "in_transit", "ready", "collected", "expired", "cancelled"]},
        "created_at": {"type": "string", "format": "date-time"},
        "expires_on": {"type": ["string", "null"], "format": "date"},
        "trapped_item_barcode": {"type": ["string", "null"]}}},
    "CheckinResult": {"type": "object", "properties": {
        "item_barcode": S, "action": {"type": "string", "enum": ["reshelve", "transit", "hold_shelf"]},
        "destination": {"type": ["string", "null"]}, "hold_id": {"type": ["integer", "null"]},
        "on_time": {"type": ["boolean", "null"]}, "item_status": S,
        "loan": {"oneOf": [{"$ref": "#/components/schemas/Loan"}, {"type": "null"}]}}},
    "PullList": {"type": "object", "properties": {
        "branch": S, "count": {"type": "integer"},
        "lines": {"type": "array", "items": {"type": "object", "properties": {
            "hold_id": {"type": "integer"}, "record_id": {"type": "integer"}, "title": S, "call_number": S,
            "shelf_location": S, "item_barcodes": {"type": "array", "items": S}, "item_level": {"type": "boolean"},
            "pickup_branch": S, "placed_at": {"type": "string", "format": "date-time"}}}}}},
}


def init_app(app: Flask) -> None:
    from library.api import register_api_blueprint

    register_api_blueprint(app, bp, PATHS, SCHEMAS)
