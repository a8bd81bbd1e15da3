"""Factories for census records and published books."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy.orm import Session

from ancient_books import census_prefix_of
from ancient_books.digitization import finish_step, start_digitization, start_step, volume_steps
from ancient_books.images import write_page_image
from ancient_books.models import STEP_NAMES, CensusRecord, PublishedImage
from ancient_books.services import AuthorInput, approve_record, create_record, submit_record
from library import clock
from library.models import StaffUser
from tests import factories as core

_seq = itertools.count(1)


def census_data(**overrides: Any) -> dict[str, Any]:
    n = next(_seq)
    data: dict[str, Any] = {
        "call_number": f"GJ{n:04d}", "bu_code": "shi", "lei_code": "shi-10", "title": "益陽縣志",
        "juan": "二十五卷", "edition_text": "清同治十三年刻本", "edition_type_code": "keben",
        "layout_hangkuan": "半叶十行行二十二字", "layout_bianlan": "四周双边", "layout_banxin": "白口",
        "layout_yuwei": "单黑鱼尾", "binding_code": "xianzhuang", "volumes": 2, "volume_unit": "册",
        "grade_code": "3", "grade_class": "乙", "damage_level_code": "level3", "damage_types": ["stain"],
        "damage_share": 5, "repair_needed": False, "location": "古籍书库甲架", "holding_unit": "资阳区图书馆",
    }
    data.update(overrides)
    return data


def staff(session: Session, role: str = "ancient_books") -> StaffUser:
    return core.make_staff(session, role=role)


def make_census(session: Session, app: Flask, *, authors: list[AuthorInput] | None = None,
                registrar: StaffUser | None = None, **overrides: Any) -> CensusRecord:
    registrar = registrar or staff(session)
    return create_record(session, data=census_data(**overrides),
                         authors=authors if authors is not None else [AuthorInput("清", "姚念楊", "修"),
                                                                        AuthorInput("清", "趙裴哲", "纂")],
                         prefix=census_prefix_of(app), staff=registrar, now=clock.now())


def make_approved(session: Session, app: Flask, **overrides: Any) -> CensusRecord:
    registrar = staff(session)
    reviewer = staff(session, "ancient_books_reviewer")
    record = make_census(session, app, registrar=registrar, **overrides)
    submit_record(session, record, staff=registrar, now=clock.now())
    approve_record(session, record, reviewer=reviewer, now=clock.now())
    return record


def make_published(session: Session, app: Flask, pages: int = 3, **overrides: Any) -> CensusRecord:
    """An approved book walked through every digitization step with drawn page images."""
    from ancient_books.digitization import register_scan_batch

    overrides.setdefault("volumes", 1)
    record = make_approved(session, app, **overrides)
    worker = staff(session)
    now = clock.now()
    start_digitization(session, record, staff=worker, now=now)
    data_dir = Path(app.config["LIBRARY_DATA_DIR"])
    for p in range(1, pages + 1):
        rel = f"{record.census_no}/{p}.png"
        w, h = write_page_image(data_dir / "iiif" / rel, 120, 170, seed=p)
        session.add(PublishedImage(record_id=record.id, seq=p, volume_no=1, label=f"第{p}叶", path=rel,
                                   width=w, height=h, media_type="image/png"))
    session.flush()
    for vol in range(1, record.volumes + 1):
        steps = volume_steps(session, record.id, vol)
        for name in STEP_NAMES[1:]:
            step = steps[name]
            if name == "scanning":
                master = data_dir / "masters" / record.census_no / f"v{vol}.png"
                write_page_image(master, 60, 80, seed=vol)
                register_scan_batch(session, record, volume_no=vol, image_count=pages, resolution_ppi=400,
                                    colour="colour", file_format="PNG", scanned_at=now, files=[master], now=now)
            if step.state == "skipped":
                continue
            start_step(session, step, staff=worker, now=now)
            finish_step(session, step, staff=worker, now=now,
                        outcome={"condition": "no_repair", "qc": "pass"}.get(name, ""))
    return record
