"""The branch network: admin pages for branches, opening hours, closed days, the holiday
closing, townships and villages, and the coverage of the district plan."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from library import services
from library.db import get_database
from library.errors import InUse, ValidationFailed
from library.models import AuditEntry, Branch, ClosedDay, Township, Village
from tests import factories


def _township(session: Any, code: str, name: str, villages: list[str], population: int = 1000) -> Township:
    t = services.create_township(session, code=code, name=name, population=population)
    for v in villages:
        services.create_village(session, t, name=v, population=100)
    return t


def test_admin_creates_and_edits_a_branch(app: Flask, client: FlaskClient, staff_login: Any) -> None:
    with get_database(app).transaction() as session:
        central = factories.make_branch(session, code="ZY", kind="central")
        t = _township(session, "430902100", "长春镇", ["兴隆村", "三益村"])
        village_id = t.villages[0].id
        central_id, township_id = central.id, t.id
    staff_login("admin")
    response = client.post("/admin/branches/new", data={
        "code": "ZY05-01", "name": "兴隆村服务点", "kind": "service_point", "parent_id": central_id,
        "township_id": township_id, "village_id": village_id, "address": "兴隆村村部", "phone": "",
        "active": "y"})
    assert response.status_code == 302, response.get_data(as_text=True)
    with get_database(app).Session() as session:
        b = session.scalars(select(Branch).where(Branch.code == "ZY05-01")).one()
        assert (b.kind, b.parent_id, b.village_id, b.active, b.floating) == (
            "service_point", central_id, village_id, True, False)
        branch_id = b.id
    # Edit: rename, make floating, deactivate.
    response = client.post(f"/admin/branches/{branch_id}", data={
        "code": "ZY05-01", "name": "兴隆村图书服务点", "kind": "service_point", "parent_id": central_id,
        "township_id": township_id, "village_id": village_id, "address": "兴隆村村部", "floating": "y"})
    assert response.status_code == 302
    with get_database(app).Session() as session:
        b = session.get(Branch, branch_id)
        assert b is not None and (b.name, b.floating, b.active) == ("兴隆村图书服务点", True, False)
        assert session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "branch.update", AuditEntry.target_id == "ZY05-01")) == 2
    assert "兴隆村图书服务点" in client.get("/admin/branches").get_data(as_text=True)


def test_duplicate_branch_code_is_refused_on_the_form(app: Flask, client: FlaskClient, staff_login: Any) -> None:
    with get_database(app).transaction() as session:
        factories.make_branch(session, code="ZY", kind="central")
    staff_login("admin")
    response = client.post("/admin/branches/new", data={"code": "ZY", "name": "另一个总馆", "kind": "central",
                                                         "parent_id": 0, "township_id": 0, "village_id": 0})
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "馆代码 ZY 已存在" in html and 'value="另一个总馆"' in html
    with get_database(app).Session() as session:
        assert session.scalar(select(func.count()).select_from(Branch)) == 1


def test_branch_parent_cycle_and_foreign_village_are_refused(app: Flask) -> None:
    with get_database(app).transaction() as session:
        a = factories.make_branch(session, code="A")
        b = factories.make_branch(session, code="B", parent=a)
        with pytest.raises(ValidationFailed):
            services.update_branch(session, a, parent=b)
        t1 = _township(session, "1", "甲镇", ["甲村"])
        t2 = _township(session, "2", "乙镇", ["乙村"])
        with pytest.raises(ValidationFailed):
            services.update_branch(session, b, township=t1, village=t2.villages[0])
        central = factories.make_branch(session, code="C", kind="central")
        with pytest.raises(ValidationFailed):
            services.update_branch(session, central, parent=a)


def test_opening_hours_form(app: Flask, client: FlaskClient, staff_login: Any) -> None:
    with get_database(app).transaction() as session:
        branch = factories.make_branch(session, code="ZY01")
        branch_id = branch.id
    staff_login("admin")
    data = {f"opens_{wd}": "09:00" for wd in range(6)} | {f"closes_{wd}": "17:30" for wd in range(6)}
    data |= {"opens_6": "", "closes_6": ""}  # closed on Sundays
    assert client.post(f"/admin/branches/{branch_id}/hours", data=data).status_code == 302
    with get_database(app).Session() as session:
        b = session.get(Branch, branch_id)
        assert b is not None
        assert [(h.weekday, h.opens, h.closes) for h in b.opening_hours] == [
            (wd, dt.time(9), dt.time(17, 30)) for wd in range(6)]
        assert not b.is_open_on(dt.date(2026, 11, 29))  # a Sunday
        assert b.is_open_on(dt.date(2026, 11, 30))
    bad = dict(data, opens_0="18:00", closes_0="09:00")
    response = client.post(f"/admin/branches/{branch_id}/hours", data=bad)
    assert response.status_code == 422
    assert 'value="18:00"' in response.get_data(as_text=True)  # what was typed is kept
    nonsense = dict(data, opens_2="nine")
    response = client.post(f"/admin/branches/{branch_id}/hours", data=nonsense)
    assert response.status_code == 422 and "星期三" in response.get_data(as_text=True)
    with get_database(app).Session() as session:
        b = session.get(Branch, branch_id)
        assert b is not None and b.opening_hours[0].opens == dt.time(9)  # nothing saved


def test_closed_days_add_and_remove(app: Flask, client: FlaskClient, staff_login: Any) -> None:
    with get_database(app).transaction() as session:
        branch_id = factories.make_branch(session, code="ZY01").id
    staff_login("admin")
    response = client.post(f"/admin/branches/{branch_id}/closed-days",
                           data={"closed-days": "2027-01-04\n2027-04-03..2027-04-05", "closed-reason": "盘点"})
    assert response.status_code == 302
    with get_database(app).Session() as session:
        days = session.scalars(select(ClosedDay).where(ClosedDay.branch_id == branch_id).order_by(ClosedDay.day)).all()
        assert [d.day.isoformat() for d in days] == ["2027-01-04", "2027-04-03", "2027-04-04", "2027-04-05"]
        first = days[0].id
    response = client.post(f"/admin/branches/{branch_id}/closed-days", data={"closed-days": "2027-13-01"})
    assert response.status_code == 422 and "2027-13-01" in response.get_data(as_text=True)
    assert client.post(f"/admin/branches/{branch_id}/closed-days/{first}/delete").status_code == 302
    with get_database(app).Session() as session:
        assert session.scalar(select(func.count()).select_from(ClosedDay)) == 3


def test_close_all_branches_for_a_holiday(app: Flask, client: FlaskClient, staff_login: Any) -> None:
    with get_database(app).transaction() as session:
        a = factories.make_branch(session, code="A")
        factories.make_branch(session, code="B")
        off = factories.make_branch(session, code="OFF")
        off.active = False
        services.add_closed_days(session, a, [dt.date(2027, 10, 1)], "已设")
    staff_login("admin")
    response = client.post("/admin/holidays", data={"days": "2027-10-01..2027-10-07", "reason": "国庆节"})
    assert response.status_code == 302
    with get_database(app).Session() as session:
        counts = dict(session.execute(select(Branch.code, func.count(ClosedDay.id)).outerjoin(ClosedDay)
                                      .group_by(Branch.code)).all())
        assert counts == {"A": 7, "B": 7, "OFF": 0}
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "branch.close_all")).one()
        assert entry.details["added"] == 13
    assert client.post("/admin/holidays", data={"days": "十月一日"}).status_code == 422


def test_townships_and_villages_crud(app: Flask, client: FlaskClient, staff_login: Any) -> None:
    staff_login("admin")
    response = client.post("/admin/townships", data={"code": "430902101", "name": "新桥河镇", "kind": "township",
                                                       "population": "45000"})
    assert response.status_code == 302
    with get_database(app).Session() as session:
        t = session.scalars(select(Township)).one()
        township_id = t.id
    dup = client.post("/admin/townships", data={"code": "430902101", "name": "重复", "kind": "township",
                                                 "population": "1"})
    assert dup.status_code == 409 and 'value="重复"' in dup.get_data(as_text=True)
    assert client.post("/admin/townships", data={"code": "x", "name": "负数", "kind": "township",
                                                  "population": "-5"}).status_code == 422
    assert client.post(f"/admin/townships/{township_id}/villages",
                       data={"village-name": "梅家田村", "village-population": "2700"}).status_code == 302
    assert client.post(f"/admin/townships/{township_id}/villages",
                       data={"village-name": "梅家田村", "village-population": "1"}).status_code == 409
    with get_database(app).Session() as session:
        v = session.scalars(select(Village)).one()
        village_id = v.id
    assert client.post(f"/admin/villages/{village_id}", data={"name": "梅家田村", "population": "2750"}).status_code == 302
    assert client.post(f"/admin/townships/{township_id}", data={"code": "430902101", "name": "新桥河镇",
                                                                "kind": "township", "population": "46000"}).status_code == 302
    with get_database(app).Session() as session:
        t2 = session.get(Township, township_id)
        assert t2 is not None and t2.population == 46000 and t2.villages[0].population == 2750
    assert "梅家田村" in client.get(f"/admin/townships/{township_id}").get_data(as_text=True)
    assert client.post(f"/admin/villages/{village_id}/delete").status_code == 302
    assert client.post(f"/admin/townships/{township_id}/delete").status_code == 302
    with get_database(app).Session() as session:
        assert session.scalar(select(func.count()).select_from(Township)) == 0


def test_a_served_township_or_village_cannot_be_deleted(app: Flask) -> None:
    with get_database(app).transaction() as session:
        t = _township(session, "1", "甲镇", ["甲村"])
        factories.make_branch(session, code="P", kind="service_point", township=t, village=t.villages[0])
        with pytest.raises(InUse):
            services.delete_village(session, t.villages[0])
        with pytest.raises(InUse):
            services.delete_township(session, t)


def test_coverage_against_the_district_plan(app: Flask, client: FlaskClient, staff_login: Any) -> None:
    with get_database(app).transaction() as session:
        a = _township(session, "1", "甲镇", [f"甲{i}村" for i in range(4)], population=3000)
        b = _township(session, "2", "乙镇", [f"乙{i}村" for i in range(6)], population=2000)
        factories.make_branch(session, code="ZY", kind="central", township=a)
        factories.make_branch(session, code="P1", kind="service_point", township=a, village=a.villages[0])
        factories.make_branch(session, code="P2", kind="service_point", township=b, village=b.villages[1])
        closed = factories.make_branch(session, code="P3", kind="service_point", township=b, village=b.villages[2])
        closed.active = False  # an inactive point does not count
        session.flush()
        cov = services.network_coverage(session)
        assert (cov.townships, cov.townships_with_branch, cov.villages, cov.villages_served) == (2, 1, 10, 2)
        assert not cov.townships_ok and not cov.villages_ok and not cov.meets_plan
        assert cov.villages_needed == 1  # 30% of 10 = 3
        assert cov.population_with_branch == 3000
        row_b = cov.rows[1]
        assert not row_b.has_branch and [v.name for v in row_b.villages_served] == ["乙1村"]
        factories.make_branch(session, code="ZY02", kind="branch", township=b)
        factories.make_branch(session, code="P4", kind="service_point", township=b, village=b.villages[3])
        session.flush()
        cov = services.network_coverage(session)
        assert cov.meets_plan and cov.villages_needed == 0 and cov.village_share == pytest.approx(0.3)
    staff_login("admin")
    html = client.get("/admin/coverage").get_data(as_text=True)
    assert "全区达到规划目标" in html and "3 / 10" in html


def test_coverage_page_highlights_gaps(app: Flask, client: FlaskClient, staff_login: Any) -> None:
    with get_database(app).transaction() as session:
        _township(session, "1", "甲镇", ["甲村"])
    staff_login("admin")
    html = client.get("/admin/coverage").get_data(as_text=True)
    assert "无分馆" in html and "全区尚未达到规划目标" in html and 'class="gap"' in html


def test_branches_api_lists_active_branches(app: Flask, client: FlaskClient) -> None:
    with get_database(app).transaction() as session:
        central = factories.make_branch(session, code="ZY", kind="central", name="资阳区图书馆")
        factories.make_branch(session, code="ZY-VAN", kind="mobile", parent=central, floating=True)
        off = factories.make_branch(session, code="OLD")
        off.active = False
    data = client.get("/api/v1/branches").get_json()
    assert [b["code"] for b in data["branches"]] == ["ZY", "ZY-VAN"]
    assert data["branches"][1]["parent"] == "ZY" and data["branches"][1]["floating"] is True
    assert data["branches"][0]["opening_hours"][0] == {"weekday": 0, "opens": "09:00", "closes": "17:00"}
    assert [b["code"] for b in client.get("/api/v1/branches?kind=mobile").get_json()["branches"]] == ["ZY-VAN"]
    assert client.get("/api/v1/branches?kind=castle").status_code == 422
    assert client.get("/api/v1/branches/ZY").get_json()["name"] == "资阳区图书馆"
    assert client.get("/api/v1/branches/OLD").get_json()["error"]["code"] == "not_found"


def test_parse_dates() -> None:
    assert services.parse_dates("2027-02-06, 2027-02-06，2027-02-08..2027-02-09") == [
        dt.date(2027, 2, 6), dt.date(2027, 2, 8), dt.date(2027, 2, 9)]
    with pytest.raises(ValidationFailed):
        services.parse_dates("2027-02-09..2027-02-01")
