"""The 资阳区 demo network: what ``library demo`` builds and writes to demo.json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from library import services
from library.db import get_database
from library.models import STAFF_ROLES, Branch, Reader, StaffUser
from library.registry import demo_steps


def test_demo_network(app: Flask, runner: object, monkeypatch: pytest.MonkeyPatch) -> None:
    # Only the foundation's step: the other packages test their own demo data.
    network = [s for s in demo_steps(app) if s.name == "network"]
    monkeypatch.setitem(app.extensions, "library.demo_steps", network)
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    assert "admin" in result.output and "PIN" in result.output
    out = json.loads((Path(app.config["LIBRARY_DATA_DIR"]) / "demo.json").read_text())
    assert {"branches", "staff", "readers"} <= set(out)
    kinds = [b["kind"] for b in out["branches"]]
    assert kinds.count("central") == 1 and kinds.count("mobile") >= 1 and kinds.count("service_point") >= 10
    assert {s["role"] for s in out["staff"]} == set(STAFF_ROLES)
    assert all({"username", "password", "role"} <= set(s) for s in out["staff"])
    assert len(out["readers"]) >= 200
    assert {r["category"] for r in out["readers"]} >= {"adult", "child", "senior", "visually_impaired", "staff"}
    with get_database(app).Session() as session:
        assert session.scalar(select(func.count()).select_from(Reader)) == len(out["readers"])
        assert session.scalar(select(func.count()).select_from(Branch)) == len(out["branches"])
        cov = services.network_coverage(session)
        assert cov.meets_plan  # every township has a branch, >= 30% of villages a service point
        assert session.scalar(select(func.count()).select_from(StaffUser)) == len(out["staff"])
    # The logins printed work.
    client = app.test_client()
    admin = next(s for s in out["staff"] if s["role"] == "admin")
    assert client.post("/staff/login", data={"username": admin["username"],
                                             "password": admin["password"]}).status_code == 302
    reader = next(r for r in out["readers"] if r["card_number"])
    assert app.test_client().post("/login", data={"card_number": reader["card_number"],
                                                  "pin": reader["pin"]}).status_code == 302
    # A second run refuses to mix demo data into a database that has data.
    again = app.test_cli_runner().invoke(args=["demo"])
    assert again.exit_code != 0 and "already has data" in again.output
