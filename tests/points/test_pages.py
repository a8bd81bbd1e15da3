"""Reader and staff pages."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, select

from library import clock
from library.db import get_database
from library.models import AuditEntry
from reading_points.points import ledger, services
from reading_points.points.models import PointsEntry, PointsRule, Redemption, Reward
from reading_points.points.verify import verify_ledger
from tests import factories
from tests.points.factories import NOW, bulk_history, make_reward

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
       b"\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82")


def _fund(app: Flask, reader_id: int, points: int) -> None:
    with get_database(app).transaction() as s:
        services.adjust(s, reader_id=reader_id, points=points, reason="初始积分", now=clock.now(),
                        idempotency_key=f"fund:{reader_id}:{points}")


def test_my_points_needs_a_reader(client: FlaskClient) -> None:
    assert client.get("/points/").status_code == 302


def test_my_points_shows_balance_history_chart_expiring_and_affordable(
        app: Flask, client: FlaskClient, reader_login: Callable[..., Any]) -> None:
    clock.set_now(NOW)
    reader = reader_login()
    _fund(app, reader.id, 70)
    with get_database(app).transaction() as s:
        make_reward(s, name="帆布袋", cost=60, stock={reader.home_branch_id: 3})
        make_reward(s, name="绘本", cost=150, stock={reader.home_branch_id: 3})
    html = client.get("/points/").get_data(as_text=True)
    assert 'id="balance">70<' in html
    assert "<svg" in html and "初始积分" in html
    assert "2027-12-31" in html or "即将过期" not in html
    assert "帆布袋" in html and "还差 80 分" in html


def test_redeem_from_the_page_then_cancel(app: Flask, client: FlaskClient, reader_login: Callable[..., Any]) -> None:
    clock.set_now(NOW)
    reader = reader_login()
    _fund(app, reader.id, 100)
    with get_database(app).transaction() as s:
        reward = make_reward(s, name="帆布袋", cost=60, stock={reader.home_branch_id: 3})
        reward_id = reward.id
    page = client.get("/points/").get_data(as_text=True)
    token = re.search(r'name="token" type="hidden" value="([0-9a-f]+)"', page)
    assert token
    data = {"branch_id": reader.home_branch_id, "token": token.group(1)}
    assert client.post(f"/points/redeem/{reward_id}", data=data).status_code == 302
    assert client.post(f"/points/redeem/{reward_id}", data=data).status_code == 302  # double click: one redemption
    with get_database(app).transaction() as s:
        redemptions = list(s.scalars(select(Redemption)))
        assert len(redemptions) == 1
        account = ledger.account_for(s, reader.id)
        assert account is not None and (account.balance, account.held) == (40, 60)
        rid = redemptions[0].id
    refused = client.post(f"/points/redeem/{reward_id}", data={"branch_id": reader.home_branch_id, "token": "x2"})
    assert refused.status_code == 409 and "可用积分不足" in refused.get_data(as_text=True)
    assert client.post(f"/points/redemptions/{rid}/cancel").status_code == 302
    with get_database(app).transaction() as s:
        account = ledger.account_for(s, reader.id)
        assert account is not None and (account.balance, account.held) == (100, 0)


def test_my_points_with_10000_entries_does_not_sum_the_ledger(
        app: Flask, client: FlaskClient, reader_login: Callable[..., Any]) -> None:
    clock.set_now(NOW)
    reader = reader_login()
    with get_database(app).transaction() as s:
        bulk_history(s, reader.id, 10_000)
    with get_database(app).transaction() as s:
        assert verify_ledger(s) == []
    statements: list[str] = []

    def capture(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    engine = get_database(app).engine
    event.listen(engine, "before_cursor_execute", capture)
    try:
        response = client.get("/points/")
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="balance">10000<' in html
    assert html.count('<tr id="entry-') == 20
    over_entries = [s for s in statements if "points_entries" in s and re.search(r"(?i)\b(sum|count|avg)\s*\(", s)]
    assert over_entries == []
    assert len(statements) < 40, statements
    older = re.search(r'href="(/points/\?before=\d+)#history"', html)
    assert older and client.get(older.group(1)).get_data(as_text=True).count('<tr id="entry-') == 20


def test_staff_adjustment_needs_a_reason_keeps_input_and_is_audited(
        app: Flask, client: FlaskClient, staff_login: Callable[..., Any]) -> None:
    staff_login("circulation", branch_code="ZY")
    with get_database(app).transaction() as s:
        reader = factories.make_reader(s)
        card, rid = reader.card_number, reader.id
    bad = client.post(f"/staff/points/reader/{card}/adjust", data={"points": "15", "reason": "", "token": "t1"})
    assert bad.status_code == 422
    assert 'value="15"' in bad.get_data(as_text=True)
    with get_database(app).transaction() as s:
        assert s.scalar(select(PointsEntry)) is None
    ok = client.post(f"/staff/points/reader/{card}/adjust", data={"points": "15", "reason": "活动补录", "token": "t2"})
    assert ok.status_code == 302
    client.post(f"/staff/points/reader/{card}/adjust", data={"points": "15", "reason": "活动补录", "token": "t2"})
    too_much = client.post(f"/staff/points/reader/{card}/adjust", data={"points": "-99", "reason": "x", "token": "t3"})
    assert too_much.status_code == 409
    with get_database(app).transaction() as s:
        account = ledger.account_for(s, rid)
        assert account is not None and account.balance == 15
        audit = s.scalars(select(AuditEntry).where(AuditEntry.action == "points.adjust")).all()
        assert len(audit) == 1
    page = client.get(f"/staff/points/reader/{card}").get_data(as_text=True)
    assert "活动补录" in page


def test_staff_settles_only_at_their_branch(app: Flask, client: FlaskClient, staff_login: Callable[..., Any]) -> None:
    staff_login("circulation", branch_code="ZY")
    with get_database(app).transaction() as s:
        here = factories.make_branch(s, code="ZY")
        there = factories.make_branch(s, code="ZY09")
        reader = factories.make_reader(s, home_branch=here)
        services.adjust(s, reader_id=reader.id, points=100, reason="x", now=clock.now(), idempotency_key="f")
        reward = make_reward(s, cost=10, stock={here.id: 5, there.id: 5})
        mine = services.redeem(s, reader_id=reader.id, reward_id=reward.id, branch_id=here.id, now=clock.now())
        theirs = services.redeem(s, reader_id=reader.id, reward_id=reward.id, branch_id=there.id, now=clock.now())
        mine_id, theirs_id = mine.id, theirs.id
    index = client.get("/staff/points/").get_data(as_text=True)
    assert f"/redemptions/{mine_id}/settle" in index and f"/redemptions/{theirs_id}/settle" not in index
    assert client.post(f"/staff/points/redemptions/{theirs_id}/settle").status_code == 403
    assert client.post(f"/staff/points/redemptions/{mine_id}/settle").status_code == 302
    with get_database(app).transaction() as s:
        assert s.get(Redemption, mine_id).status == "settled"  # type: ignore[union-attr]
        assert s.get(Redemption, theirs_id).status == "held"  # type: ignore[union-attr]


def test_reports_chart_and_csv(app: Flask, client: FlaskClient, staff_login: Callable[..., Any]) -> None:
    clock.set_now(NOW)
    staff_login("admin")
    with get_database(app).transaction() as s:
        reader = factories.make_reader(s)
        for i in range(3):
            services.earn(s, reader_id=reader.id, kind="event_attended", idempotency_key=f"e{i}", reason="活动",
                          now=NOW)
        branch_name = reader.home_branch.name
    html = client.get("/staff/points/reports?month=2026-06").get_data(as_text=True)
    assert "<svg" in html and branch_name in html
    csv_text = client.get("/staff/points/reports.csv?month=2026-06").get_data(as_text=True)
    assert "earned" in csv_text and f"{branch_name},20," in csv_text  # daily cap 20


def test_leaderboard_shows_only_opted_in_readers(app: Flask, client: FlaskClient) -> None:
    clock.set_now(NOW)
    with get_database(app).transaction() as s:
        branch = factories.make_branch(s)
        shown = factories.make_reader(s, home_branch=branch, name="张三丰", show_on_leaderboards=True)
        hidden = factories.make_reader(s, home_branch=branch, name="李四光", show_on_leaderboards=False)
        for r in (shown, hidden):
            services.earn(s, reader_id=r.id, kind="donation", idempotency_key=f"d{r.id}", reason="捐书", now=NOW)
        bid = branch.id
    html = client.get(f"/points/leaderboard?branch={bid}&month=2026-06").get_data(as_text=True)
    assert "张*丰" in html and "李" not in html.split("<tbody>")[1]


def test_admin_edits_rules_and_rejects_bad_numbers(app: Flask, client: FlaskClient,
                                                   staff_login: Callable[..., Any]) -> None:
    staff_login("admin")
    page = client.get("/staff/points/rules").get_data(as_text=True)
    form = dict(re.findall(r'name="([a-z_]+)" inputmode="numeric"[^>]*value="([^"]*)"', page))
    form.update({k: "on" for k in re.findall(r'name="([a-z_]+_active)" checked', page)})
    form["checkout_points"] = "-3"
    assert client.post("/staff/points/rules", data=form).status_code == 422
    form["checkout_points"] = "4"
    assert client.post("/staff/points/rules", data=form).status_code == 302
    with get_database(app).transaction() as s:
        rule = s.get(PointsRule, "checkout")
        assert rule is not None and rule.points == 4 and rule.active


def test_admin_creates_reward_with_picture_and_stock(app: Flask, client: FlaskClient,
                                                     staff_login: Callable[..., Any]) -> None:
    staff_login("admin")
    with get_database(app).transaction() as s:
        branch = factories.make_branch(s)
        bid = branch.id
    data = {"name": "藏书票", "description": "", "kind": "goods", "cost": "30", "benefit_days": "30",
            "extra_loans": "0", "active": "y", f"stock_{bid}": "7", "picture": (io.BytesIO(PNG), "p.png")}
    response = client.post("/staff/points/rewards/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)
    with get_database(app).transaction() as s:
        reward = s.scalar(select(Reward).where(Reward.name == "藏书票"))
        assert reward is not None and reward.picture and [x.quantity for x in reward.stock] == [7]
        reward_id = reward.id
    picture = client.get(f"/points/rewards/{reward_id}/picture")
    try:
        assert picture.data == PNG and picture.mimetype == "image/png"
    finally:
        picture.close()
    bad = dict(data, picture=(io.BytesIO(b"not an image"), "x.png"), name="假图片")
    assert client.post("/staff/points/rewards/new", data=bad, content_type="multipart/form-data").status_code == 422
