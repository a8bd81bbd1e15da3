"""JSON API: a reader's points and redemptions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from library import clock
from library.db import get_database
from reading_points.points import services
from tests import factories
from tests.points.factories import NOW, make_reward


def _token(app: Flask, role: str = "circulation") -> str:
    from library.models import ApiToken
    from library.security import new_api_token

    with get_database(app).transaction() as s:
        staff = factories.make_staff(s, role=role)
        token, digest = new_api_token()
        s.add(ApiToken(user_id=staff.id, name="t", token_hash=digest, created_at=clock.now()))
    return token


def test_reader_points_for_staff_and_for_the_reader_only(app: Flask, client: FlaskClient,
                                                         reader_login: Callable[..., Any]) -> None:
    clock.set_now(NOW)
    with get_database(app).transaction() as s:
        other = factories.make_reader(s)
        services.earn(s, reader_id=other.id, kind="donation", idempotency_key="d", reason="捐书", now=NOW)
        other_card = other.card_number
    headers = {"Authorization": f"Bearer {_token(app)}"}
    body = client.get(f"/api/v1/readers/{other_card}/points", headers=headers).get_json()
    assert body["balance"] == 5 and body["recent_entries"][0]["reason"] == "捐书"
    assert body["expiring_soon"] == []
    assert client.get("/api/v1/readers/NOPE/points", headers=headers).status_code == 404
    assert client.get(f"/api/v1/readers/{other_card}/points").status_code == 401
    me = reader_login()
    assert client.get(f"/api/v1/readers/{me.card_number}/points").get_json()["balance"] == 0
    assert client.get(f"/api/v1/readers/{other_card}/points").status_code == 403


def test_post_redemption_is_idempotent_and_errors_are_json(app: Flask, client: FlaskClient) -> None:
    clock.set_now(NOW)
    with get_database(app).transaction() as s:
        reader = factories.make_reader(s)
        services.adjust(s, reader_id=reader.id, points=50, reason="初始", now=NOW, idempotency_key="f")
        reward = make_reward(s, cost=30, stock={reader.home_branch_id: 2})
        card, reward_id, code = reader.card_number, reward.id, reader.home_branch.code
    headers = {"Authorization": f"Bearer {_token(app)}"}
    payload = {"card_number": card, "reward_id": reward_id, "branch_code": code, "idempotency_key": "kiosk-1"}
    first = client.post("/api/v1/redemptions", json=payload, headers=headers)
    assert first.status_code == 201 and first.get_json()["status"] == "held"
    again = client.post("/api/v1/redemptions", json=payload, headers=headers)
    assert again.status_code == 200 and again.get_json()["id"] == first.get_json()["id"]
    short = client.post("/api/v1/redemptions", json=dict(payload, idempotency_key="kiosk-2"), headers=headers)
    assert short.status_code == 409 and short.get_json()["error"]["code"] == "insufficient_points"
    bad = client.post("/api/v1/redemptions", json={"card_number": card}, headers=headers)
    assert bad.status_code == 422 and bad.get_json()["error"]["code"] == "validation_failed"


def test_openapi_describes_the_points_api(client: FlaskClient) -> None:
    doc = client.get("/api/v1/openapi.json").get_json()
    assert "get" in doc["paths"]["/readers/{card_number}/points"]
    assert "post" in doc["paths"]["/redemptions"]
    assert "ReaderPoints" in doc["components"]["schemas"]
