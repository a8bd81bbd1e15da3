"""``library demo``: a realistic demo network for 资阳区 (Ziyang District, Yiyang, Hunan).

Each package adds its own data through ``DemoStep``s; what a person needs to try the system
(logins, card numbers, PINs, barcodes ...) goes to ``demo.json`` in the data directory."""

from __future__ import annotations

import datetime as dt
import json
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from library import clock
from library.db import get_database
from library.models import Branch, ClosedDay, OpeningHours, Township, Village
from library.registry import DemoStep, demo_steps, register_demo_step
from library.services import create_branch, create_reader, create_staff

DISTRICT = "资阳区"

# code, name, kind, population, villages (name, population)
TOWNSHIPS: list[tuple[str, str, str, int, list[tuple[str, int]]]] = [
    ("430902001", "汽车路街道", "street", 68000, [("马良社区", 9100), ("金山社区", 8700), ("贺家桥社区", 7600)]),
    ("430902002", "大码头街道", "street", 52000, [("五一社区", 8200), ("向阳社区", 7400), ("资江社区", 6900)]),
    ("430902100", "长春镇", "township", 61000, [("兴隆村", 3100), ("三益村", 2800), ("长春村", 3500), ("团山村", 2600)]),
    ("430902101", "新桥河镇", "township", 45000, [("新桥河村", 3300), ("梅家田村", 2700), ("天泉村", 2400), ("钩鱼洲村", 2100)]),
    ("430902102", "张家塞乡", "township", 28000, [("张家塞村", 2900), ("沙湾村", 2300), ("宁家铺村", 2000)]),
    ("430902103", "茈湖口镇", "township", 33000, [("茈湖口村", 3000), ("白马村", 2200), ("沙港村", 2500)]),
    ("430902104", "迎风桥镇", "township", 39000, [("迎风桥村", 3200), ("莲花村", 2600), ("金盆村", 2400)]),
    ("430902105", "沙头镇", "township", 47000, [("沙头村", 3400), ("清溪村", 2500), ("平安村", 2300), ("杨林村", 2200)]),
    ("430902400", "长春经济开发区", "park", 21000, [("开发区社区", 5600)]),
]

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏辉建林晨宇轩浩然欣怡子涵梓萱一诺思远雨彤佳琪俊熙文博志强海燕晓东春梅国庆建华德胜淑珍"


@dataclass
class DemoContext:
    """What demo steps share: the random generator, the time, ``data`` (ids of what earlier
    steps created: ``central_id``, ``branch_ids``, ``reader_ids`` ...; each step runs in its own
    transaction, so steps pass ids, not objects) and ``out`` (written to demo.json)."""

    rng: random.Random
    now: dt.datetime
    data: dict[str, Any] = field(default_factory=dict)
    out: dict[str, Any] = field(default_factory=dict)


def _hours(branch: Branch, weekdays: range | list[int], opens: dt.time, closes: dt.time) -> None:
    for wd in weekdays:
        branch.opening_hours.append(OpeningHours(weekday=wd, opens=opens, closes=closes))


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def build_network(session: Session, ctx: DemoContext) -> None:
    """Townships, villages, the central library, a branch per township/street, village service
    points, the mobile van, reader categories, staff (one per role) and 240 readers."""
    rng = ctx.rng
    today = ctx.now.date()
    townships: list[Township] = []
    for code, name, kind, population, villages in TOWNSHIPS:
        t = Township(code=code, name=name, kind=kind, population=population)
        t.villages = [Village(name=v, population=p) for v, p in villages]
        session.add(t)
        townships.append(t)
    session.flush()

    central = create_branch(session, code="ZY", name="资阳区图书馆", name_en="Ziyang District Library",
                            kind="central", township=townships[0], address="益阳市资阳区马良路 88 号",
                            phone="0737-4222001")
    _hours(central, range(0, 7), dt.time(9, 0), dt.time(20, 30))
    branches = [central]
    for i, t in enumerate(townships, start=1):
        b = create_branch(session, code=f"ZY{i:02d}", name=f"{t.name}分馆", kind="branch", parent=central,
                          township=t, address=f"{DISTRICT}{t.name}文化站", phone=f"0737-42{i:02d}300")
        _hours(b, [1, 2, 3, 4, 5, 6], dt.time(9, 0), dt.time(17, 30))  # closed on Mondays
        branches.append(b)
    points = []
    n = 0
    for bi, t in enumerate(townships, start=1):
        parent = branches[bi]
        for v in t.villages[:2]:
            n += 1
            sp = create_branch(session, code=f"ZY{bi:02d}-{n:02d}", name=f"{v.name}服务点", kind="service_point",
                               parent=parent, township=t, village=v, address=f"{t.name}{v.name}村民服务中心")
            _hours(sp, [1, 3, 5], dt.time(14, 0), dt.time(18, 0))
            points.append(sp)
    van = create_branch(session, code="ZY-VAN", name="流动图书车", name_en="Mobile library van", kind="mobile",
                        parent=central, address="按线路停靠各村", phone="0737-4222099", floating=True)
    _hours(van, [1, 3, 5], dt.time(9, 0), dt.time(16, 0))
    # Spring Festival: every branch closed for the first days of the lunar new year (2027-02-06 is 初一).
    for b in [central, *branches[1:], *points, van]:
        for d in range(4):
            b.closed_days.append(ClosedDay(day=dt.date(2027, 2, 6) + dt.timedelta(days=d), reason="春节闭馆"))
    session.flush()

    staff_specs = [
        ("admin", "admin", None, "系统管理员"),
        ("counter", "circulation", central, "总馆流通馆员"),
        ("counter2", "circulation", branches[1], f"{branches[1].name}流通馆员"),
        ("cataloguer", "cataloguer", None, "编目馆员"),
        ("organiser", "organiser", None, "活动策划"),
        ("guji", "ancient_books", None, "古籍编目员"),
        ("guji_review", "ancient_books_reviewer", None, "古籍审校员"),
    ]
    ctx.out["staff"] = []
    for username, role, branch, display in staff_specs:
        password = f"{username}-demo-2026"
        create_staff(session, username=username, password=password, display_name=display,
                     roles=[(role, branch)], fast_hash=True, now=ctx.now)
        ctx.out["staff"].append({"username": username, "password": password, "role": role,
                                 "branch": branch.code if branch else None})

    weights = [("adult", 60), ("child", 20), ("senior", 12), ("visually_impaired", 3), ("staff", 5)]
    cats = [c for c, w in weights for _ in range(w)]
    home_choices = [central] * 4 + branches[1:] + points
    ctx.out["readers"] = []
    readers = []
    for i in range(240):
        category = cats[i % len(cats)] if i < len(cats) else rng.choice(cats)
        pin = f"{rng.randrange(0, 10**6):06d}"
        expires = today + dt.timedelta(days=rng.randint(30, 3 * 365))
        if i % 40 == 39:
            expires = today - dt.timedelta(days=rng.randint(1, 200))  # a few expired cards
        reader = create_reader(
            session,
            card_number=f"ZY{2026000001 + i}",
            name=_name(rng),
            category_code=category,
            home_branch=rng.choice(home_choices),
            pin=pin,
            card_expires_on=expires,
            phone=f"13{rng.randrange(0, 10**9):09d}",
            keep_history=rng.random() < 0.3,
            show_on_leaderboards=rng.random() < 0.4,
            fast_hash=True,
            now=ctx.now,
        )
        if reader.card_expires_on < today:
            reader.status = "expired"
        readers.append(reader)
        ctx.out["readers"].append({"card_number": reader.card_number, "pin": pin, "category": category,
                                   "name": reader.name, "home_branch": reader.home_branch.code})
    session.flush()
    every_branch = branches + points + [van]
    ctx.data["central_id"] = central.id
    ctx.data["branch_ids"] = [b.id for b in every_branch]
    ctx.data["reader_ids"] = [r.id for r in readers]
    ctx.out["branches"] = [{"code": b.code, "name": b.name, "kind": b.kind} for b in every_branch]


def run_demo(app: Flask, *, seed: int = 2026) -> dict[str, Any]:
    """Run every registered demo step (each in its own transaction) and write demo.json."""
    db = get_database(app)
    with db.transaction() as session:
        if (session.scalar(select(func.count()).select_from(Branch)) or 0) > 0:
            raise click.ClickException("the database already has data; use a fresh data directory for the demo")
    ctx = DemoContext(rng=random.Random(seed), now=clock.now())
    for step in demo_steps(app):
        click.echo(f"demo: {step.name} …", nl=False)
        started = time.perf_counter()
        with db.transaction() as session:
            step.run(session, ctx)
        click.echo(f" {time.perf_counter() - started:.1f} s")
    path = Path(app.config["LIBRARY_DATA_DIR"]) / "demo.json"
    path.write_text(json.dumps(ctx.out, ensure_ascii=False, indent=2))
    return ctx.out


@click.command("demo")
@click.option("--seed", default=2026, show_default=True)
@with_appcontext
def demo_command(seed: int) -> None:
    """Fill an empty database with the 资阳区 demo network and print the logins."""
    out = run_demo(current_app._get_current_object(), seed=seed)  # type: ignore[attr-defined]
    click.echo("")
    click.echo("Demo ready. Staff logins (http://127.0.0.1:5000/staff/login):")
    for s in out.get("staff", []):
        click.echo(f"  {s['role']:<24} {s['username']:<13} {s['password']}")
    click.echo(f"Reader logins (http://127.0.0.1:5000/login), first three of {len(out.get('readers', []))}:")
    for r in out.get("readers", [])[:3]:
        click.echo(f"  {r['card_number']}  PIN {r['pin']}  ({r['category']})")
    click.echo(f"Everything the demo created is listed in {Path(current_app.config['LIBRARY_DATA_DIR']) / 'demo.json'}")


def init_app(app: Flask) -> None:
    app.cli.add_command(demo_command)
    register_demo_step(app, DemoStep("network", 10, build_network))
