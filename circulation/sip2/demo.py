"""Demo kiosk accounts: self-check machines at the central library and a few branches, and the
mobile van's handheld (GBK, as older Chinese handhelds are)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from circulation.sip2.services import create_kiosk
from library.models import Branch


def add_kiosks(session: Session, ctx: Any) -> None:
    branches = {b.code: b for b in session.scalars(select(Branch)).all()}
    specs = [
        ("ZY-SC01", "ZY", "utf-8", "总馆一楼大厅自助借还机"),
        ("ZY-SC02", "ZY", "utf-8", "总馆二楼少儿区自助借还机"),
        ("ZY01-SC01", "ZY01", "utf-8", "汽车路街道分馆自助借还机"),
        ("ZY03-SC01", "ZY03", "gbk", "长春镇分馆自助借还机（旧款，GBK）"),
        ("ZY-VAN-H1", "ZY-VAN", "gbk", "流动图书车手持终端"),
    ]
    ctx.out["kiosks"] = []
    for login, code, charset, description in specs:
        branch = branches.get(code)
        if branch is None:
            continue
        password = f"{login.lower()}-sip-2026"
        create_kiosk(session, sip_login=login, password=password, branch=branch, charset=charset,
                     description=description, now=ctx.now, actor="demo", fast_hash=True)
        ctx.out["kiosks"].append({"sip_login": login, "sip_password": password, "branch": code,
                                  "charset": charset, "description": description})
